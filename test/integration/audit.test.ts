// Fleet audits on the real Temporal dev server, with the real activities over a real database, real
// ipmitool against real ipmi_sim BMCs, and the machines' "OS" a real sshd or a TCP listener on 127.0.0.x:
//   web-healthy   BMC on, its sshd answers                          -> healthy
//   web-off       BMC off (expected on)                             -> broken
//   web-badcreds  the inventory has the wrong BMC password          -> suspect
//   web-gone      nothing answers on its BMC's port                 -> suspect
//   web-hung      BMC on, nothing answers on its SSH port           -> broken
//   web-sel       BMC on, OS answers, an over-temperature in its SEL -> suspect
// Only the broken ones reach the admission (the guard's contract), each with its reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../support/temporal.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { runRescuectl } from '../support/cli.js';
import { createRecordingAdmission, createStartingAdmission, type RecordingAdmission } from '../support/admission.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { freeUdpPort } from '../../lab/bmc/ports.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createRescueClient } from '../../rescue/rescue-client.js';
import { AUDIT_CATCHUP_WINDOW_MS, createAuditClient, type AuditClient } from '../../triggers/audit-client.js';
import type { RescueAdmission } from '../../triggers/admission.js';
import type { FleetAuditResult, FleetAuditSettings } from '../../workflows/audit-types.js';
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';

const require = createRequire(import.meta.url);

// Small batches so that three of them make the workflow continue as new once.
const SETTINGS: Partial<FleetAuditSettings> = { batchSize: 2, batchesPerRun: 2, bmcTimeoutMs: 20_000, osTimeoutMs: 2_000 };

async function listen(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    // The audit hangs up as soon as it is connected.
    socket.on('error', () => undefined);
    socket.end('SSH-2.0-stand-in\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A TCP port on `host` where nothing listens (bound, then released). */
async function closedPort(host: string): Promise<number> {
  const { server, port } = await listen(host);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fleet audits', () => {
  let env: TestWorkflowEnvironment;
  let api: TestApi;
  let audits: AuditClient;
  let worker: Worker;
  let running: Promise<void>;
  let sshd: TestSshd;
  let selOs: Server;
  const bmcs: IpmiSimBmc[] = [];
  const taskQueue = `audit-${randomBytes(4).toString('hex')}`;
  const recording = createRecordingAdmission('dry-run');
  /** The worker's admission; one test swaps in one that starts rescues for real. */
  let admission: RescueAdmission = recording;

  before(async () => {
    env = await startTestTemporal();
    api = await startTestApi(testDatabases()[0]!, { temporal: { connection: env.connection, address: env.address, taskQueue }, auditSettings: SETTINGS });
    audits = createAuditClient(env.client, { taskQueue, audits: api.inventory.audits, settings: SETTINGS });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows/index.ts'),
      sinks: rescueMetricsSinks(),
      activities: createActivities({
        inventory: api.inventory,
        databaseKind: 'pglite',
        systemPower: createInventorySystemPower(api.inventory),
        netboot: api.netboot.service,
        rescueShell: createSshRescueShell(),
        admission: { admit: (request) => admission.admit(request) },
      }),
    });
    running = worker.run();

    for (const [path, body] of [
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12' }],
    ] as const) {
      assert.equal((await api.request('POST', path, { body })).status, 201, path);
    }
    sshd = await startSshd();
    const [on, off, badCreds, hung, sel] = await Promise.all([
      startIpmiSim({ initialPower: 'on' }),
      startIpmiSim({ initialPower: 'off' }),
      startIpmiSim({ initialPower: 'on' }),
      startIpmiSim({ initialPower: 'on' }),
      startIpmiSim({ initialPower: 'on', withEventLog: true }),
    ]);
    bmcs.push(on, off, badCreds, hung, sel);
    const selListener = await listen('127.0.0.6');
    selOs = selListener.server;
    const ipmi = (bmc: { port: number; username: string; password: string }, password = bmc.password) => ({
      type: 'ipmi',
      address: '127.0.0.1',
      port: bmc.port,
      user: bmc.username,
      password,
      options: { retries: '0', ipmi_timeout: '1' },
    });
    const machines = [
      { name: 'web-healthy', ip: '127.0.0.2', verify: `tcp:127.0.0.1:${sshd.port}`, power: ipmi(on) },
      { name: 'web-off', ip: '127.0.0.3', verify: `tcp:127.0.0.3:${await closedPort('127.0.0.3')}`, power: ipmi(off) },
      { name: 'web-badcreds', ip: '127.0.0.4', verify: `tcp:127.0.0.1:${sshd.port}`, power: ipmi(badCreds, 'not-the-password') },
      { name: 'web-gone', ip: '127.0.0.5', verify: `tcp:127.0.0.5:${await closedPort('127.0.0.5')}`, power: ipmi({ port: await freeUdpPort(), username: 'rescued', password: 'lab-password-1' }) },
      // Only the port: the check goes to the system's own IP.
      { name: 'web-hung', ip: '127.0.0.7', verify: `tcp:${await closedPort('127.0.0.7')}`, power: ipmi(hung) },
      { name: 'web-sel', ip: '127.0.0.6', verify: `tcp:127.0.0.6:${selListener.port}`, power: ipmi(sel) },
    ];
    for (const [index, machine] of machines.entries()) {
      const reply = await api.request('POST', '/api/v1/systems', {
        body: {
          name: machine.name,
          profile: 'web',
          interfaces: [{ mac: `52:54:00:aa:00:${String(index).padStart(2, '0')}`, ip: machine.ip }],
          labels: { 'rescued.verify': machine.verify },
          power: [machine.power],
        },
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
    }
  });

  after(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
    for (const bmc of bmcs) await bmc.stop();
    await sshd?.stop();
    await new Promise((resolve) => (selOs ? selOs.close(resolve) : resolve(undefined)));
  });

  async function auditResult(workflowId: string): Promise<FleetAuditResult> {
    return env.client.workflow.getHandle(workflowId).result() as Promise<FleetAuditResult>;
  }

  test('classifies each machine with its reason; only the broken ones reach the guard', async () => {
    const started = await audits.runNow('test');
    assert.equal(started.joined, false);
    const result = await auditResult(started.audit.workflowId);
    assert.equal(result.state, 'finished');
    assert.equal(result.batches, 4, 'six systems in batches of two, and an empty fourth that says the fleet is done');
    assert.deepEqual({ probed: result.probed, healthy: result.healthy, suspect: result.suspect, broken: result.broken }, { probed: 6, healthy: 1, suspect: 3, broken: 2 });
    assert.deepEqual(result.admissions, { 'dry-run': 2 });

    const verdicts = Object.fromEntries((await api.inventory.audits.results(result.auditId)).map((r) => [r.system, r]));
    assert.equal(verdicts['web-healthy']?.classification, 'healthy');
    assert.match(verdicts['web-healthy']!.reason, /^power on, the OS answers on 127\.0\.0\.1:\d+; event log: 0 entries, none critical$/);
    assert.equal(verdicts['web-off']?.classification, 'broken');
    assert.match(verdicts['web-off']!.reason, /the BMC reports power off; the machine is expected on/);
    assert.equal(verdicts['web-badcreds']?.classification, 'suspect');
    assert.match(verdicts['web-badcreds']!.reason, /^the BMC refused the credentials: .*RAKP 2 HMAC is invalid.*; the OS answers/);
    assert.equal(verdicts['web-gone']?.classification, 'suspect');
    assert.match(verdicts['web-gone']!.reason, /^the BMC does not answer: .*no IPMI answer from the BMC/);
    assert.equal(verdicts['web-hung']?.classification, 'broken');
    assert.match(verdicts['web-hung']!.reason, /^the BMC reports power on but the OS does not answer on 127\.0\.0\.7:\d+ \(connection refused\)$/);
    assert.equal(verdicts['web-sel']?.classification, 'suspect');
    assert.match(verdicts['web-sel']!.reason, /1 critical entry \(latest: .*Upper Critical going high/);
    assert.equal(verdicts['web-off']?.admission, 'dry-run');
    assert.equal(verdicts['web-healthy']?.admission, null);

    // The guard heard of the broken machines only, as the audit, with the verdict's reason.
    const asked = recording.requests.filter((r) => r.reason.startsWith(`audit ${result.auditId}:`));
    assert.deepEqual(asked.map((r) => r.system).sort(), ['web-hung', 'web-off']);
    assert.ok(asked.every((r) => r.source === 'audit' && r.alertId === undefined));
    assert.match(asked.find((r) => r.system === 'web-off')!.reason, /power off; the machine is expected on/);

    const run = await api.inventory.audits.get(result.auditId);
    assert.equal(run.state, 'finished');
    assert.equal(run.systemsTotal, 6);
    // Continued as new once (after two batches); the last run's history carries no BMC password.
    const handle = env.client.workflow.getHandle(started.audit.workflowId);
    const lastRun = await handle.fetchHistory();
    assert.ok(lastRun.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId, 'the last run continued an earlier one');
    const history = JSON.stringify(lastRun);
    for (const bmc of bmcs) assert.equal(history.includes(bmc.password), false, 'no BMC password in the workflow history');
    assert.equal(history.includes('not-the-password'), false);
    // The current workflow code replays the run without a nondeterminism error.
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows/index.ts') }, lastRun, started.audit.workflowId);
    // The BMC that was off is still off: an audit only looks.
    assert.equal(bmcs[1]!.readChassis().power, 'off');
  });

  test('one audit at a time: a manual run joins the open one, a scheduled run records itself as skipped', async () => {
    const held = await api.inventory.audits.open({ workflowId: 'fleet-audit-held-by-test', trigger: 'manual', requestedBy: 'test', leaseMs: 60_000 });
    assert.ok('opened' in held);
    try {
      const joined = await audits.runNow('operator');
      assert.equal(joined.joined, true);
      assert.equal(joined.audit.id, held.opened.id);

      await audits.reconcileSchedule(3_600_000);
      const schedule = env.client.schedule.getHandle(audits.scheduleId);
      await schedule.trigger();
      const deadline = Date.now() + 30_000;
      let skipped;
      while (!(skipped = (await api.inventory.audits.list(10)).find((r) => r.trigger === 'schedule' && r.state === 'skipped'))) {
        assert.ok(Date.now() < deadline, 'the scheduled run did not record itself as skipped');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.match(skipped.note ?? '', new RegExp(`audit ${held.opened.id} \\(manual, fleet-audit-held-by-test`));
    } finally {
      await api.inventory.audits.close(held.opened.id, 'failed', 'held by the test');
      await audits.reconcileSchedule(null);
    }
  });

  test('an open run whose lease ran out is abandoned by the next', async () => {
    const stale = await api.inventory.audits.open({ workflowId: 'fleet-audit-stale', trigger: 'manual', requestedBy: 'test', leaseMs: 60_000 });
    assert.ok('opened' in stale);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await api.inventory.audits.open({ workflowId: 'fleet-audit-next', trigger: 'manual', requestedBy: 'test', leaseMs: 10 });
    assert.ok('opened' in next);
    const abandoned = await api.inventory.audits.get(stale.opened.id);
    assert.equal(abandoned.state, 'abandoned');
    assert.match(abandoned.note ?? '', /no progress since .*fleet-audit-stale/);
    await api.inventory.audits.close(next.opened.id, 'failed', 'test');
  });

  test('the schedule: created from configuration with catch-up window and overlap SKIP, an operator pause kept across reconciles, deleted when off', async () => {
    const created = await audits.reconcileSchedule(3_600_000);
    assert.equal(created.action, 'created');
    assert.equal(created.schedule?.every, '1h');
    assert.equal(created.schedule?.overlap, 'SKIP');
    assert.equal(created.schedule?.catchupWindow, '10m');
    assert.equal(AUDIT_CATCHUP_WINDOW_MS, 600_000);
    assert.equal(created.schedule?.paused, false);

    const paused = await audits.changeSchedule({ paused: true, by: 'token:ops' });
    assert.equal(paused.paused, true);
    assert.equal(paused.note, 'paused by token:ops');

    // A restart with another interval: the whole spec is re-sent, the pause stays.
    const restarted = await audits.reconcileSchedule(1_800_000);
    assert.equal(restarted.action, 'updated');
    assert.equal(restarted.schedule?.every, '30m');
    assert.equal(restarted.schedule?.paused, true);
    assert.equal(restarted.schedule?.note, 'paused by token:ops');
    assert.equal(restarted.schedule?.catchupWindow, '10m');

    const resumed = await audits.changeSchedule({ paused: false, everyMs: 7_200_000, by: 'token:ops' });
    assert.equal(resumed.paused, false);
    assert.equal(resumed.every, '2h');
    assert.equal(resumed.nextRuns.length > 0, true);

    assert.equal((await audits.reconcileSchedule(null)).action, 'deleted');
    assert.equal(await audits.describeSchedule(), null);
    assert.equal((await audits.reconcileSchedule(null)).action, 'absent');
  });

  test('a broken machine admitted by the guard starts its rescue for real (rescue client)', async () => {
    const rescues = createRescueClient(env.client, { taskQueue });
    const starting = createStartingAdmission(rescues);
    admission = starting;
    try {
      const started = await audits.runNow('test');
      const result = await auditResult(started.audit.workflowId);
      assert.deepEqual(result.admissions, { started: 2 });
      const verdicts = await api.inventory.audits.results(result.auditId, { classifications: ['broken'] });
      assert.deepEqual(verdicts.map((v) => [v.system, v.admission, v.rescueWorkflowId]), [
        ['web-hung', 'started', 'rescue-web-hung'],
        ['web-off', 'started', 'rescue-web-off'],
      ]);
      // The rescue ran (and stopped at selection: this inventory has no rescue environment), asked for by the audit.
      const rescue = await env.client.workflow.getHandle('rescue-web-off').result().catch((error: Error) => error);
      assert.ok(rescue, 'the rescue workflow ran to an end');
      const [record] = await api.inventory.rescues.list({ system: 'web-off' });
      assert.equal(record?.requestedBy, 'automation:audit');
      assert.match(record?.reason ?? '', new RegExp(`^audit ${result.auditId}: the BMC reports power off`));
      await env.client.workflow.getHandle('rescue-web-hung').result().catch(() => undefined);
    } finally {
      admission = recording;
    }
  });

  test('API and rescuectl: roles, audit run --wait, report, schedule', async () => {
    const cliEnv = { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken };
    const { token: viewer } = await api.inventory.tokens.create({ name: 'audit-viewer', role: 'viewer' }, { name: 'test' });
    assert.equal((await api.request('POST', '/api/v1/audits', { token: viewer })).status, 403, 'a viewer may not run an audit');
    assert.equal((await api.request('GET', '/api/v1/audits', { token: viewer })).status, 200);
    assert.equal((await api.request('GET', '/api/v1/audits', { token: null })).status, 401);
    const badEvery = await api.request('PATCH', '/api/v1/audits/schedule', { body: { every: 'hourly' } });
    assert.equal(badEvery.status, 400);
    assert.match(badEvery.body.message, /every: "hourly" is not a duration/);
    assert.equal((await api.request('PATCH', '/api/v1/audits/schedule', { body: {} })).status, 400);
    assert.equal((await api.request('GET', '/api/v1/audits/999999')).status, 404);
    assert.equal((await api.request('GET', '/api/v1/audits/latest?classification=sick')).status, 400);

    // A bad --interval is refused before anything is started, not replaced by 2 s.
    const runsBefore = (await api.inventory.audits.list(500)).length;
    for (const interval of ['abc', '0', '2s']) {
      const bad = await runRescuectl(['audit', 'run', '--wait', '--interval', interval], cliEnv);
      assert.equal(bad.code, 2, interval);
      assert.match(bad.stderr, new RegExp(`--interval: "${interval}" is not a number of seconds from 0\\.2 to 3600`));
    }
    assert.equal((await api.inventory.audits.list(500)).length, runsBefore, 'no audit was started');

    const run = await runRescuectl(['audit', 'run', '--wait', '--interval', '0.3'], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^audit \d+ \(manual, finished\): 6 probed, 1 healthy, 3 suspect, 2 broken/);
    const report = await runRescuectl(['audit', 'report'], cliEnv);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /web-off\s+broken\s+the BMC reports power off/);
    assert.doesNotMatch(report.stdout, /web-healthy/);
    const json = JSON.parse((await runRescuectl(['--json', 'audit', 'report', '--all'], cliEnv)).stdout) as { results: Array<{ system: string; classification: string }> };
    assert.equal(json.results.length, 6);

    const created = await runRescuectl(['audit', 'schedule', '--every', '45m'], cliEnv);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /every\s*:\s*45m/);
    const pausedOut = await runRescuectl(['audit', 'schedule', '--pause'], cliEnv);
    assert.match(pausedOut.stdout, /state\s*:\s*paused/);
    const both = await runRescuectl(['audit', 'schedule', '--pause', '--resume'], cliEnv);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /choose one/);
    const badId = await runRescuectl(['audit', 'report', '--id', 'x'], cliEnv);
    assert.equal(badId.code, 2);
    await audits.reconcileSchedule(null);

    // Paged by system name.
    const first = await api.request('GET', '/api/v1/audits/latest?limit=4');
    assert.deepEqual(first.body.results.map((r: { system: string }) => r.system), ['web-badcreds', 'web-gone', 'web-healthy', 'web-hung']);
    assert.equal(first.body.nextAfter, 'web-hung');
    const second = await api.request('GET', `/api/v1/audits/latest?limit=4&after=${first.body.nextAfter}`);
    assert.deepEqual(second.body.results.map((r: { system: string }) => r.system), ['web-off', 'web-sel']);
    assert.equal(second.body.nextAfter, null);
    const problems = await api.request('GET', '/api/v1/audits/latest?classification=broken,suspect');
    assert.equal(problems.body.results.length, 5);

    // Retention: only the newest runs keep their verdicts; the runs themselves stay.
    const runs = await api.inventory.audits.list(100);
    await api.inventory.audits.prune({ keepResultsOfRuns: 1, keepRunsDays: 90 });
    assert.equal((await api.inventory.audits.results(runs[0]!.id)).length, 6);
    const older = runs.find((r) => r.state === 'finished' && r.id !== runs[0]!.id)!;
    assert.equal((await api.inventory.audits.results(older.id)).length, 0);
    assert.equal((await api.inventory.audits.get(older.id)).probed, 6);
  });

  test('Temporal down: a manual run is a 503 naming it, and its run is closed as failed, not left holding the lock', async () => {
    const dead = Connection.lazy({ address: `127.0.0.1:${await closedPort('127.0.0.1')}`, connectTimeout: '1s' });
    const lonely = await startTestApi(testDatabases()[0]!, { temporal: { connection: dead, address: 'a closed port', taskQueue } });
    try {
      const reply = await lonely.request('POST', '/api/v1/audits');
      assert.equal(reply.status, 503, JSON.stringify(reply.body));
      assert.equal(reply.body.error, 'unavailable');
      assert.match(reply.body.message, /^Temporal at a closed port did not answer/);
      const [run] = await lonely.inventory.audits.list(1);
      assert.equal(run?.state, 'failed');
      assert.match(run?.note ?? '', /its workflow could not be started/);
      assert.equal(await lonely.inventory.audits.running(), undefined);
    } finally {
      await lonely.close();
      await dead.close();
    }
  });
});
