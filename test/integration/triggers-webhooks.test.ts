// The webhook receivers end to end: the API as `npm start` builds it, the real Temporal dev server, a
// worker with the real activities, and Redfish BMCs that count every power operation that lands.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from '@temporalio/worker';
import { testDatabases } from '../support/databases.js';
import { alertmanagerPayload, startTriggersLab, type FleetMachine, type TriggersLab } from '../support/triggers-lab.js';
import { signBody } from '../../triggers/signature.js';
import { createRescueClient } from '../../rescue/rescue-client.js';
import { createTriggers } from '../../workers/triggers.js';
import type { ReceivedAlert } from '../../triggers/alert-payloads.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { runRescuectl } from '../support/cli.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rescueOutcome } from '../support/rescue-outcome.js';
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';

const require = createRequire(import.meta.url);

for (const database of testDatabases()) {
  describe(`webhook receivers (${database.label})`, { timeout: 240_000 }, () => {
    let lab: TriggersLab;
    let fleet: FleetMachine[];
    const hook = (body: unknown, token: string | null = lab.webhookToken) => lab.api.request('POST', '/hooks/alertmanager', { body, token });
    const alertsOf = async (system: string) => (await lab.api.request('GET', `/api/v1/alerts?system=${system}`)).body.alerts as Array<{ decision: string; reason: string; workflowId: string | null }>;
    async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const outcomeOf = (system: string) => rescueOutcome(lab.env.client, lab.rescues, system);

    before(async () => {
      lab = await startTriggersLab(database);
      fleet = await lab.addMachines(19, { prefix: 'wh' });
      // Nineteen machines: a few alerts are a large share of this fleet, so the brake is off here (its own test is below).
      await lab.setGuard({ maxInFlight: 10, cooldownMs: 0, brakeShare: 1, maxCyclesPerHour: 100 });
    });
    after(async () => {
      await lab?.stop();
    });

    test('without a valid webhook token: 401; a webhook token may do nothing else', async () => {
      const payload = alertmanagerPayload([{ labels: { instance: `${fleet[0]!.name}:9100` } }]);
      assert.equal((await hook(payload, null)).status, 401);
      const bad = await hook(payload, `rsd_${'x'.repeat(43)}`);
      assert.equal(bad.status, 401);
      assert.match(bad.body.message, /not valid/);
      const elsewhere = await lab.api.request('GET', '/api/v1/systems', { token: lab.webhookToken });
      assert.equal(elsewhere.status, 403);
      assert.match(elsewhere.body.message, /role webhook/);
      const viewer = await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'a-viewer', role: 'viewer' } });
      assert.equal((await hook(payload, viewer.body.token)).status, 403, 'a viewer may not deliver alerts');
      assert.equal((await lab.api.request('GET', '/api/v1/alerts')).body.alerts.length, 0, 'nothing recorded');
    });

    test('truncated and garbage JSON, a wrong payload: 400 naming what is wrong, nothing recorded', async () => {
      const whole = JSON.stringify(alertmanagerPayload([{ labels: { instance: fleet[0]!.name } }]));
      const truncated = await lab.api.request('POST', '/hooks/alertmanager', { rawBody: whole.slice(0, whole.length / 2), token: lab.webhookToken });
      assert.equal(truncated.status, 400);
      assert.match(truncated.body.message, /not valid JSON/);
      const garbage = await lab.api.request('POST', '/hooks/alertmanager', { rawBody: '\u0000\u00ff not json at all', token: lab.webhookToken });
      assert.equal(garbage.status, 400);
      const empty = await lab.api.request('POST', '/hooks/alertmanager', { rawBody: '', token: lab.webhookToken });
      assert.equal(empty.status, 400);
      const noAlerts = await hook({ ...alertmanagerPayload([]), alerts: 'none' });
      assert.equal(noAlerts.status, 400);
      assert.equal(noAlerts.body.field, 'alerts');
      // A time of kilobytes (found by the fuzzer: the record's index refused it, and the sender got a 503 to retry for ever).
      const longTime = alertmanagerPayload([{ labels: { instance: fleet[0]!.name } }]);
      longTime.alerts[0]!.startsAt = 'A'.repeat(20_000);
      const tooLong = await hook(longTime);
      assert.equal(tooLong.status, 400, JSON.stringify(tooLong.body));
      assert.match(`${tooLong.body.field} ${tooLong.body.message}`, /startsAt/);
      const version = await hook({ ...alertmanagerPayload([]), version: '3' });
      assert.equal(version.status, 400);
      assert.match(version.body.message, /version "4"/);
      for (const reply of [truncated, garbage, noAlerts]) assert.doesNotMatch(JSON.stringify(reply.body), /at .*\.ts:\d+/, 'no stack trace');
      assert.equal((await lab.api.request('GET', '/api/v1/alerts')).body.alerts.length, 0);
    });

    test('an alert naming no known machine is recorded as unknown-machine and answered 200', async () => {
      const reply = await hook(alertmanagerPayload([{ labels: { instance: 'ghost.example:9100' }, fingerprint: 'ghost1' }]));
      assert.equal(reply.status, 200);
      assert.equal(reply.body.alerts[0].decision, 'unknown-machine');
      assert.match(reply.body.alerts[0].reason, /no known machine matches instance="ghost.example"/);
      const [recorded] = (await lab.api.request('GET', '/api/v1/alerts')).body.alerts;
      assert.equal(recorded.fingerprint, 'ghost1');
      assert.equal(recorded.system, null);
    });

    test('a firing alert starts the rescue; its repeat joins it; one power cycle', async () => {
      const machine = fleet[1]!;
      const payload = alertmanagerPayload([{ labels: { instance: `${machine.ip}:9100` }, fingerprint: 'first1' }]);
      const first = await hook(payload);
      assert.equal(first.status, 200);
      assert.equal(first.body.alerts[0].decision, 'started', JSON.stringify(first.body));
      assert.equal(first.body.alerts[0].system, machine.name);
      assert.equal(first.body.alerts[0].workflowId, `rescue-${machine.name}`);
      const again = await hook(payload);
      assert.equal(again.body.alerts[0].decision, 'joined');
      const result = await outcomeOf(machine.name);
      assert.equal(result.outcome, 'failed', 'the lab machine never phones home');
      assert.equal(result.status.requestedBy, 'automation:alertmanager');
      assert.equal(machine.bmc.powerEvents.length, 1, `one power operation: ${machine.bmc.powerEvents.join(', ')}`);
      const records = await alertsOf(machine.name);
      assert.deepEqual(records.map((r) => r.decision), ['joined', 'started']);
    });

    test('a rescue Temporal runs that the database knows nothing of yet: the alert, recorded as started while the start was on its way, is amended to joined', async () => {
      const machine = fleet[12]!;
      // Started straight in Temporal (on a queue nobody polls, so no run is recorded): the guard sees no
      // rescue in flight and admits one, and Temporal's answer to the start is that it already runs.
      const elsewhere = await lab.env.client.workflow.start('rescueWorkflow', {
        taskQueue: `nobody-polls-${randomBytes(3).toString('hex')}`,
        workflowId: `rescue-${machine.name}`,
        args: [{ system: machine.name, reason: 'started elsewhere', requestedBy: 'test' }],
      });
      try {
        const reply = await hook(alertmanagerPayload([{ labels: { nodename: machine.name }, fingerprint: 'raced1' }]));
        assert.equal(reply.status, 200);
        assert.equal(reply.body.alerts[0].decision, 'joined', JSON.stringify(reply.body));
        assert.match(reply.body.alerts[0].reason, /already running/);
        const [recorded] = await alertsOf(machine.name);
        assert.equal(recorded!.decision, 'joined', 'the record says what the reply says');
        assert.equal(recorded!.workflowId, `rescue-${machine.name}`);
        assert.equal(machine.bmc.powerEvents.length, 0, 'no power operation');
        // Not an automatic rescue: the room the guard took for it is given back at once, so its end starts no cooldown.
        const open = await lab.api.inventory.guard.openSlots(new Date(Date.now() + 60_000));
        assert.equal(open.filter((slot) => slot.system === machine.name).length, 0);
      } finally {
        await elsewhere.terminate('test over');
      }
    });

    test('concurrent deliveries of one alert (an HA pair, retries): one rescue, one power cycle', async () => {
      const machine = fleet[2]!;
      const payload = alertmanagerPayload([{ labels: { nodename: machine.name }, fingerprint: 'dup1' }]);
      const replies = await Promise.all(Array.from({ length: 16 }, () => hook(payload)));
      assert.ok(replies.every((r) => r.status === 200));
      const decisions = replies.map((r) => r.body.alerts[0].decision).sort();
      assert.equal(decisions.filter((d) => d === 'started').length, 1, decisions.join(','));
      assert.equal(decisions.filter((d) => d === 'joined').length, 15);
      const result = await outcomeOf(machine.name);
      assert.equal(result.status.powerCycles, 1);
      assert.equal(machine.bmc.powerEvents.length, 1);
      const { count } = await lab.env.client.workflowService.countWorkflowExecutions({ namespace: 'default', query: `WorkflowId = 'rescue-${machine.name}'` });
      assert.equal(Number(count), 1, 'one workflow execution');
    });

    test('one group naming several machines: each is decided and recorded; truncatedAlerts is accepted', async () => {
      const [a, b, c] = [fleet[3]!, fleet[4]!, fleet[5]!];
      const reply = await hook(
        alertmanagerPayload([{ labels: { instance: `${a.name}.lab.example:9100` } }, { labels: { mac: b.mac.toUpperCase() } }, { labels: { ip: c.ip } }, { labels: { instance: 'nobody:1' } }], { truncatedAlerts: 7 }),
      );
      assert.equal(reply.status, 200);
      assert.equal(reply.body.truncatedAlerts, 7);
      assert.deepEqual(reply.body.alerts.map((x: { system: string | null; decision: string }) => [x.system, x.decision]), [[a.name, 'started'], [b.name, 'started'], [c.name, 'started'], [null, 'unknown-machine']]);
      for (const m of [a, b, c]) assert.equal((await outcomeOf(m.name)).status.powerCycles, 1);
    });

    test('a resolved alert ends the rescue its alerts asked for, before it acts; not while another of its alerts fires, nor an operator\'s rescue', async () => {
      const [alone, shared, sameDelivery, operators] = [fleet[6]!, fleet[13]!, fleet[14]!, fleet[15]!];
      // Rescues that run but have not acted: their task queue has no worker yet. The alerts that start them go
      // through triggers built as the API builds them (createTriggers), over the same database, whose rescue
      // client starts on that queue; the resolutions come through the webhook as usual.
      const idleQueue = `idle-${randomBytes(3).toString('hex')}`;
      const idleRescues = createRescueClient(lab.env.client, { taskQueue: idleQueue });
      const idle = createTriggers(lab.api.inventory, idleRescues, { alertLabels: ['instance'] });
      const firing = (system: string, name: string, fingerprint: string): ReceivedAlert => ({ fingerprint, status: 'firing', alertName: name, labels: { instance: `${system}:9100` }, annotations: {}, startsAt: null, summary: `${name} on ${system}` });
      const resolvedAlert = (system: string, name: string, fingerprint: string): ReceivedAlert => ({ ...firing(system, name, fingerprint), status: 'resolved' });
      for (const machine of [alone, shared]) {
        const [started] = await idle.intake.receive({ receiver: 'alertmanager', deliveredBy: 'test', alerts: [firing(machine.name, 'NodeDown', `down-${machine.name}`)] });
        assert.equal(started!.decision, 'started', started!.reason);
      }
      // One delivery: the machine's NodeDown fires, and an alert of its that had fired before (HighLoad) resolves.
      const [downFirst, loadResolved] = await idle.intake.receive({ receiver: 'alertmanager', deliveredBy: 'test', alerts: [firing(sameDelivery.name, 'NodeDown', 'down-same'), resolvedAlert(sameDelivery.name, 'HighLoad', 'load-same')] });
      assert.equal(downFirst!.decision, 'started', downFirst!.reason);
      assert.match(loadResolved!.reason, /its rescue goes on: still asked for by the firing NodeDown down-same/);
      assert.match(loadResolved!.reason, /told the running rescue-.*which records it/);
      await idleRescues.start({ system: operators.name, reason: 'an operator asked', requestedBy: 'token:op' });

      // The alert that started it resolves: it stops.
      const ended = await hook(alertmanagerPayload([{ labels: { instance: alone.name }, status: 'resolved', fingerprint: `down-${alone.name}` }]));
      assert.equal(ended.status, 200);
      assert.equal(ended.body.alerts[0].decision, 'resolved');
      assert.match(ended.body.alerts[0].reason, /told the running rescue-.*which stops if it has not acted yet/);
      // Another alert of the machine resolves (one that never asked for the rescue): NodeDown still fires.
      const otherResolved = await hook(alertmanagerPayload([{ labels: { instance: shared.name, alertname: 'HighLoad' }, status: 'resolved', fingerprint: 'load-shared' }]));
      assert.match(otherResolved.body.alerts[0].reason, new RegExp(`its rescue goes on: still asked for by the firing NodeDown down-${shared.name}`));
      // An operator's rescue is not the alerts' to end: the resolution is recorded.
      const operatorResolved = await hook(alertmanagerPayload([{ labels: { instance: operators.name }, status: 'resolved', fingerprint: 'down-op' }]));
      assert.match(operatorResolved.body.alerts[0].reason, /no automatic rescue of it is open; told the running rescue-.*which records it/);
      const kept = [shared, sameDelivery, operators];
      const worker = await Worker.create({
        connection: lab.env.nativeConnection,
        taskQueue: idleQueue,
        workflowsPath: require.resolve('../../workflows/index.ts'),
        sinks: rescueMetricsSinks(),
        activities: createActivities({ inventory: lab.api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(lab.api.inventory), netboot: lab.api.netboot.service, rescueShell: createSshRescueShell(), admission: lab.api.triggers.guard }),
      });
      await worker.runUntil(async () => {
        assert.equal((await outcomeOf(alone.name)).outcome, 'resolved-before-action');
        // The others act: their resolutions were recorded, not obeyed.
        for (const machine of kept) await until(`${machine.name}'s power cycle`, async () => (machine.bmc.powerEvents.length > 0 ? true : undefined));
        for (const machine of kept) assert.equal((await lab.api.request('POST', `/api/v1/rescues/${machine.name}/abort`, { body: { reason: 'test over' } })).status, 202);
        for (const machine of kept) {
          const result = await outcomeOf(machine.name);
          assert.equal(result.outcome, 'aborted');
          assert.deepEqual((result.status.evidence.alertsResolved as Array<{ endsRescue: boolean }>).map((r) => r.endsRescue), [false], 'the resolution is recorded in the rescue');
        }
      });
      assert.equal(alone.bmc.powerEvents.length, 0, 'no power operation');
      assert.equal(await lab.api.inventory.boot.override(alone.name), undefined, 'no rescue boot config left');

      // Resolved after the power cycle: recorded, the rescue goes on.
      const other = fleet[7]!;
      assert.equal((await hook(alertmanagerPayload([{ labels: { instance: other.name }, fingerprint: 'res2' }]))).body.alerts[0].decision, 'started');
      await until('the power cycle', async () => (other.bmc.powerEvents.length > 0 ? true : undefined));
      const late = await hook(alertmanagerPayload([{ labels: { instance: other.name }, status: 'resolved', fingerprint: 'res2' }]));
      assert.equal(late.body.alerts[0].decision, 'resolved');
      const after = await outcomeOf(other.name);
      assert.equal(after.outcome, 'failed', 'a rescue that already acted is not cut short');
      assert.equal((after.status.evidence.alertsResolved as unknown[]).length, 1, 'the resolution is recorded in the rescue');
    });

    test('a deferred rescue is withdrawn when the last of the alerts that asked for it resolves', async () => {
      const machine = fleet[16]!;
      await lab.setGuard({ maxInFlight: 0 });
      try {
        for (const [name, fingerprint] of [['NodeDown', 'q-down'], ['NodeExporterDown', 'q-exporter']] as const) {
          const reply = await hook(alertmanagerPayload([{ labels: { instance: machine.name, alertname: name }, fingerprint }]));
          assert.equal(reply.body.alerts[0].decision, 'deferred', reply.body.alerts[0].reason);
        }
        const first = await hook(alertmanagerPayload([{ labels: { instance: machine.name, alertname: 'NodeDown' }, status: 'resolved', fingerprint: 'q-down' }]));
        assert.match(first.body.alerts[0].reason, /its rescue goes on: still asked for by the firing NodeExporterDown q-exporter/);
        const waiting = async () => (await lab.api.request('GET', '/api/v1/automation')).body.queue.filter((entry: { system: string; state: string }) => entry.system === machine.name && entry.state === 'waiting');
        assert.equal((await waiting()).length, 1, 'still queued');
        const last = await hook(alertmanagerPayload([{ labels: { instance: machine.name, alertname: 'NodeExporterDown' }, status: 'resolved', fingerprint: 'q-exporter' }]));
        assert.match(last.body.alerts[0].reason, /its deferred rescue is withdrawn; no rescue of it runs/);
        assert.equal((await waiting()).length, 0, 'withdrawn');
      } finally {
        await lab.setGuard({ maxInFlight: 10 });
      }
    });

    test('a slot whose start never reached Temporal (the API stopped in between) is given back, and its request queued again while its alert fires', async () => {
      // `earlier` had a rescue in Temporal, ended a while ago (the HA pair's, above): its run began before this
      // slot (more than the 5 s allowed for the two clocks).
      const [firingOne, resolvedOne, earlier] = [fleet[17]!, fleet[18]!, fleet[2]!];
      const store = lab.api.inventory.guard;
      // No room: the requests queued again stay waiting (the lab's admission runner would start them).
      await lab.setGuard({ maxInFlight: 0 });
      try {
        // What an admission leaves when the process stops between its commit and Temporal's start: a slot, and
        // the alert recorded as started.
        for (const machine of [firingOne, resolvedOne, earlier]) {
          await store.locked((tx) => store.takeSlot(tx, { system: machine.name, workflowId: `rescue-${machine.name}`, source: 'alertmanager', groups: {} }));
          await lab.api.inventory.alerts.recordAll([{ receiver: 'alertmanager', deliveredBy: 'test', fingerprint: `lost-${machine.name}`, status: 'firing', alertName: 'NodeDown', labels: { instance: machine.name }, annotations: {}, startsAt: null, system: machine.name, decision: 'started', reason: 'admitted', workflowId: `rescue-${machine.name}` }]);
        }
        await lab.api.inventory.alerts.recordAll([{ receiver: 'alertmanager', deliveredBy: 'test', fingerprint: `lost-${resolvedOne.name}`, status: 'resolved', alertName: 'NodeDown', labels: { instance: resolvedOne.name }, annotations: {}, startsAt: null, system: resolvedOne.name, decision: 'resolved', reason: 'resolved', workflowId: null }]);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(await lab.api.triggers.guard.reconcileSlots(0), 3);
        const queue = (await lab.api.request('GET', '/api/v1/automation')).body.queue as Array<{ system: string; lastReason: string; enqueuedAt: string }>;
        const queued = (machine: FleetMachine) => queue.find((entry) => entry.system === machine.name);
        const admittedAt = /was admitted at (\S+) but never started; queued again/.exec(queued(firingOne)?.lastReason ?? '')?.[1];
        assert.ok(admittedAt, JSON.stringify(queue));
        assert.equal(queued(firingOne)!.enqueuedAt, admittedAt, 'queued again in the place its request arrived at, ahead of later ones');
        assert.match(queued(earlier)?.lastReason ?? '', /never started; queued again/);
        assert.equal(queued(resolvedOne), undefined, 'its alert resolved meanwhile: nothing to start');
        // Not a rescue: no cooldown from it, no slot left.
        const open = await store.openSlots(new Date(Date.now() + 60_000));
        assert.deepEqual(open.filter((slot) => [firingOne, resolvedOne, earlier].some((m) => m.name === slot.system)), []);
        // Their alerts resolve: the requests queued again are withdrawn. `earlier`'s first alert (dup1, above)
        // never resolved, so it still asks: the first resolution of the delivery leaves the request, the second,
        // with dup1 resolved before it in the same delivery (not recorded yet), withdraws it.
        const one = await hook(alertmanagerPayload([{ labels: { instance: firingOne.name }, status: 'resolved', fingerprint: `lost-${firingOne.name}` }]));
        assert.match(one.body.alerts[0].reason, /its deferred rescue is withdrawn/);
        const both = await hook(alertmanagerPayload([{ labels: { instance: earlier.name }, status: 'resolved', fingerprint: 'dup1' }, { labels: { instance: earlier.name }, status: 'resolved', fingerprint: `lost-${earlier.name}` }]));
        assert.match(both.body.alerts[0].reason, new RegExp(`its rescue goes on: still asked for by the firing NodeDown lost-${earlier.name}`));
        assert.match(both.body.alerts[1].reason, /its deferred rescue is withdrawn/);
      } finally {
        await lab.setGuard({ maxInFlight: 10 });
      }
    });

    test('the generic receiver: bearer or HMAC over the raw body', async () => {
      const machine = fleet[8]!;
      const created = await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'zabbix', role: 'webhook', hmacSecret: 'zabbix-shared-secret-123' } });
      assert.equal(created.status, 201);
      assert.equal(created.body.hmac, true);
      assert.equal((await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'op-hmac', role: 'operator', hmacSecret: 'zabbix-shared-secret-123' } })).status, 400);
      const body = JSON.stringify({ hostname: `${machine.name}.lab.example`, reason: 'zabbix: host unreachable', id: 'zbx-1001' });
      const signed = await lab.api.request('POST', '/hooks/generic', { rawBody: body, token: null, headers: { 'x-rescued-signature': signBody('zabbix-shared-secret-123', body) } });
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      assert.equal(signed.body.alerts[0].decision, 'started');
      const [record] = await alertsOf(machine.name);
      assert.equal((await lab.api.request('GET', `/api/v1/alerts?system=${machine.name}`)).body.alerts[0].deliveredBy, 'zabbix');
      assert.equal(record!.workflowId, `rescue-${machine.name}`);
      const forged = await lab.api.request('POST', '/hooks/generic', { rawBody: body.replace('1001', '1002'), token: null, headers: { 'x-rescued-signature': signBody('zabbix-shared-secret-123', body) } });
      assert.equal(forged.status, 401);
      const unsigned = await lab.api.request('POST', '/hooks/generic', { rawBody: body, token: null });
      assert.equal(unsigned.status, 401);
      const bearer = await lab.api.request('POST', '/hooks/generic', { body: { ip: fleet[9]!.ip, reason: 'nagios: PING CRITICAL' }, token: lab.webhookToken });
      assert.equal(bearer.body.alerts[0].decision, 'started');
      const nameless = await lab.api.request('POST', '/hooks/generic', { body: { reason: 'something' }, token: lab.webhookToken });
      assert.equal(nameless.status, 400);
      assert.match(nameless.body.message, /system, hostname, mac or ip/);
      assert.equal(JSON.stringify(await lab.api.request('GET', '/api/v1/tokens')).includes('zabbix-shared-secret'), false, 'the secret is never shown');
      assert.equal(lab.api.logs.join('').includes('zabbix-shared-secret'), false, 'nor logged');
      await outcomeOf(machine.name);
      await outcomeOf(fleet[9]!.name);
    });

    test('alerts are listed newest first, a page at a time', async () => {
      const first = await lab.api.request('GET', '/api/v1/alerts?limit=3');
      assert.equal(first.body.alerts.length, 3);
      assert.ok(first.body.nextCursor);
      const second = await lab.api.request('GET', `/api/v1/alerts?limit=3&cursor=${first.body.nextCursor}`);
      assert.ok(second.body.alerts[0].id < first.body.alerts[2].id);
      assert.equal((await lab.api.request('GET', '/api/v1/alerts?cursor=abc')).status, 400);
    });

    test('dry run: decisions are recorded, no BMC hears a thing', async () => {
      await lab.setGuard({ dryRun: true });
      const machine = fleet[10]!;
      const before = machine.bmc.requests.length;
      const reply = await hook(alertmanagerPayload([{ labels: { instance: machine.name }, fingerprint: 'dry1' }]));
      assert.equal(reply.body.alerts[0].decision, 'dry-run');
      assert.match(reply.body.alerts[0].reason, /would have started a rescue/);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(machine.bmc.requests.length, before, 'no BMC request at all');
      assert.equal((await lab.rescues.latestRun(machine.name))?.running ?? false, false);
      await lab.setGuard({ dryRun: false });
    });

    test('pause and maintenance windows refuse automatic rescues and hold operators back unless forced', async () => {
      const machine = fleet[11]!;
      assert.equal((await lab.api.request('POST', '/api/v1/automation/pause', { body: { reason: 'core switch upgrade' } })).status, 200);
      const paused = await hook(alertmanagerPayload([{ labels: { instance: machine.name }, fingerprint: 'p1' }]));
      assert.equal(paused.body.alerts[0].decision, 'refused');
      assert.match(paused.body.alerts[0].reason, /paused by token:test-admin.*core switch upgrade/);
      const operator = await lab.api.request('POST', '/api/v1/rescues', { body: { system: machine.name } });
      assert.equal(operator.status, 409);
      assert.match(operator.body.message, /--force/);
      await lab.api.request('POST', '/api/v1/automation/resume');
      const window = await lab.api.request('POST', '/api/v1/maintenance', { body: { system: machine.name, endsAt: new Date(Date.now() + 3_600_000).toISOString(), reason: 'disk swap' } });
      assert.equal(window.status, 201, JSON.stringify(window.body));
      const inMaintenance = await hook(alertmanagerPayload([{ labels: { instance: machine.name }, fingerprint: 'p2' }]));
      assert.equal(inMaintenance.body.alerts[0].decision, 'refused');
      assert.match(inMaintenance.body.alerts[0].reason, /maintenance window #\d+ \(system .*\).*disk swap/);
      const forced = await lab.api.request('POST', '/api/v1/rescues', { body: { system: machine.name, force: true, reason: 'forced' } });
      assert.equal(forced.status, 201);
      assert.equal((await lab.api.request('DELETE', `/api/v1/maintenance/${window.body.id}`)).status, 204);
      // The operator's own rescue runs with the default timings: abort it.
      assert.equal((await lab.api.request('POST', `/api/v1/rescues/${machine.name}/abort`, { body: { reason: 'test over' } })).status, 202);
      assert.equal((await outcomeOf(machine.name)).outcome, 'aborted');
      const decisions = await lab.api.request('GET', `/api/v1/automation/decisions?system=${machine.name}`);
      assert.deepEqual(decisions.body.map((d: { decision: string }) => d.decision), ['refused', 'refused']);
    });

    test('rescuectl: tokens with an HMAC secret file, alerts, automation and maintenance', async () => {
      const env = { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken };
      const cli = (...args: string[]) => runRescuectl(args, env);
      const directory = await mkdtemp(join(tmpdir(), 'rescued-cli-'));
      try {
        await writeFile(join(directory, 'secret'), 'nagios-secret-from-a-file\n', { mode: 0o600 });
        const created = await cli('token', 'create', '--role', 'webhook', '--name', 'nagios', '--hmac-secret-file', join(directory, 'secret'));
        assert.equal(created.code, 0, created.stderr);
        const body = JSON.stringify({ ip: '127.9.9.9', reason: 'nagios says down' });
        const signed = await lab.api.request('POST', '/hooks/generic', { rawBody: body, token: null, headers: { 'x-rescued-signature': signBody('nagios-secret-from-a-file', body) } });
        assert.equal(signed.status, 200, 'the secret read from the file signs deliveries');
        assert.equal((await cli('token', 'create', '--role', 'viewer', '--hmac-secret-file', join(directory, 'secret'))).code, 2);
        assert.match((await cli('token', 'create', '--role', 'webhook', '--hmac-secret-file', join(directory, 'missing'))).stderr, /cannot read/);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
      const listed = await cli('alerts', 'list', '--system', fleet[1]!.name);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /FINGERPRINT .*DECISION +RESCUE/);
      assert.match(listed.stdout, new RegExp(`started +rescue-${fleet[1]!.name}`));
      const asJson = JSON.parse((await cli('--json', 'alerts', 'list')).stdout);
      assert.ok(asJson.some((a: { decision: string }) => a.decision === 'unknown-machine'));
      const set = await cli('automation', 'set', '--max-in-flight', '4', '--max-per-group', 'rack=2', '--cooldown', '12h', '--dry-run', 'false', '--max-failures', '3', '--max-cycles-per-hour', '20', '--brake-share', '1');
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /cooldown\s+: 12h/);
      const settings = JSON.parse((await cli('--json', 'automation', 'status')).stdout).settings;
      assert.deepEqual([settings.maxInFlight, settings.maxPerGroup, settings.cooldownMs, settings.maxFailures], [4, { rack: 2 }, 43_200_000, 3]);
      assert.equal((await cli('automation', 'set', '--cooldown', 'soon')).code, 2);
      assert.match((await cli('automation', 'set', '--max-per-group', 'rack')).stderr, /not label=N/);
      assert.equal((await cli('automation', 'pause', '--reason', 'change window')).code, 0);
      assert.match((await cli('automation', 'status')).stdout, /PAUSED by token:test-admin.*change window/);
      assert.match((await cli('rescue', 'start', fleet[0]!.name)).stderr, /paused.*--force/);
      assert.equal((await cli('automation', 'resume')).code, 0);
      const window = await cli('maintenance', 'add', '--label', 'rack=r9', '--end', '2h', '--reason', 'PDU swap');
      assert.equal(window.code, 0, window.stderr);
      assert.match((await cli('maintenance', 'list')).stdout, /rack=r9.*PDU swap/);
      const id = /maintenance window (\d+)/.exec(window.stdout)![1]!;
      assert.equal((await cli('maintenance', 'remove', id)).code, 0);
      assert.equal((await cli('maintenance', 'add', '--end', '2h', '--reason', 'x')).code, 2);
      assert.equal((await cli('maintenance', 'remove', '99999')).code, 1);
    });
  });
}
