// Alert storms against the guard, on the real Temporal dev server with a worker running the real
// activities. Every power operation is counted on the machines' BMCs (in-process Redfish emulators).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { alertmanagerPayload, startTriggersLab, type FleetMachine, type TriggersLab } from '../support/triggers-lab.js';

const CAP = 10;

describe('alert storms', { timeout: 600_000 }, () => {
  let lab: TriggersLab;
  let fleet: FleetMachine[];

  before(async () => {
    lab = await startTriggersLab(testDatabases().at(-1)!);
    fleet = await lab.addMachines(300, { prefix: 'st', labels: (i) => ({ rack: `r${i}` }) });
  });
  after(async () => {
    await lab?.stop();
  });

  test('300 machines alert at once: at most the cap is power-cycled, every alert is recorded, the deferred start as rescues end', async () => {
    // Caps under test; the brake (which would pause automation long before 300) and the hold are off here.
    await lab.setGuard({ maxInFlight: CAP, maxPerGroup: { rack: 1 }, brakeShare: 1, correlationHoldMs: 0, cooldownMs: 0, maxCyclesPerHour: 10_000 });
    const deliveries = Array.from({ length: 30 }, (_, d) => alertmanagerPayload(fleet.slice(d * 10, d * 10 + 10).map((m) => ({ labels: { instance: `${m.name}:9100` }, fingerprint: `storm-${m.name}` }))));
    const replies = await Promise.all(deliveries.map((body) => lab.api.request('POST', '/hooks/alertmanager', { body, token: lab.webhookToken })));
    assert.ok(replies.every((r) => r.status === 200), JSON.stringify(replies.find((r) => r.status !== 200)?.body));
    const decisions = replies.flatMap((r) => r.body.alerts as Array<{ system: string; decision: string }>);
    assert.equal(decisions.length, 300);
    const started = decisions.filter((d) => d.decision === 'started');
    assert.equal(started.length, CAP, 'the cap, no more');
    assert.equal(decisions.filter((d) => d.decision === 'deferred').length, 300 - CAP);
    // Every alert is in the record with its decision.
    let recorded: Array<{ decision: string; reason: string }> = [];
    for (let cursor: string | null = null; ; ) {
      const page: { body: { alerts: typeof recorded; nextCursor: string | null } } = await lab.api.request('GET', `/api/v1/alerts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      recorded = recorded.concat(page.body.alerts);
      cursor = page.body.nextCursor;
      if (cursor === null) break;
    }
    assert.equal(recorded.length, 300);
    assert.ok(recorded.every((a) => a.reason.length > 0));
    assert.match(recorded.find((a) => a.decision === 'deferred')!.reason, /10 rescue\(s\) in flight, the fleet-wide cap is 10/);
    const landed = Date.now() + 60_000;
    while (lab.powerOperations().size < CAP && Date.now() < landed) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    const cycled = lab.powerOperations();
    assert.ok(cycled.size <= CAP, `${cycled.size} BMCs saw a power operation`);
    assert.deepEqual([...cycled.keys()].sort(), started.map((s) => s.system).sort(), 'only the started machines were power-cycled');

    // As rescues end (these machines never phone home: each fails after one cycle), the queue moves.
    lab.startLoops(200);
    let mostInFlight = 0;
    const deadline = Date.now() + 240_000;
    while (lab.powerOperations().size < 2 * CAP + 5) {
      const { inFlight } = await lab.api.inventory.guard.counts();
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (Date.now() > deadline) throw new Error(`only ${lab.powerOperations().size} machines were rescued in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(mostInFlight <= CAP, `at most ${CAP} in flight at any time, saw ${mostInFlight}`);
    await lab.setGuard({ maxInFlight: 0 });
    const queue = await lab.api.inventory.guard.listQueue({ waitingOnly: false, limit: 1000 });
    const byArrival = [...queue].sort((a, b) => a.id - b.id);
    const firstWaiting = byArrival.findIndex((e) => e.state === 'waiting');
    assert.ok(firstWaiting >= CAP + 5, `started entries: ${firstWaiting}`);
    assert.ok(byArrival.slice(firstWaiting).every((e) => e.state === 'waiting'), 'deferred rescues start in arrival order');
    assert.ok(byArrival.slice(0, firstWaiting).every((e) => e.state === 'started' && e.workflowId === `rescue-${e.system}`));
    for (const machine of fleet) assert.ok(machine.bmc.powerEvents.length <= 1, `${machine.name}: ${machine.bmc.powerEvents.join(',')}`);
    const startedLater = byArrival[0]!;
    const [alert] = (await lab.api.request('GET', `/api/v1/alerts?system=${startedLater.system}`)).body.alerts;
    assert.equal(alert.decision, 'deferred');
    assert.equal(alert.workflowId, `rescue-${startedLater.system}`, 'the deferred alert learns the rescue that started for it');
  });

  test('five machines of one rack at once: no power operation, one incident', async () => {
    await lab.setGuard({ maxInFlight: 5, correlationHoldMs: 1500, correlationMachines: 3 });
    const rack = await lab.addMachines(5, { prefix: 'rk', labels: () => ({ rack: 'rz' }) });
    const replies = await Promise.all(rack.map((m) => lab.api.request('POST', '/hooks/alertmanager', { body: alertmanagerPayload([{ labels: { instance: m.name }, fingerprint: `rack-${m.name}` }]), token: lab.webhookToken })));
    const decisions = replies.map((r) => r.body.alerts[0].decision as string).sort();
    assert.deepEqual(decisions, ['deferred', 'deferred', 'refused', 'refused', 'refused'], 'two held, the third reveals the pattern');
    // The held two are looked at again after the hold: the incident refuses them too. The queue's pump gets to
    // them behind the storm's waiting entries (above), which on a loaded host takes a few seconds.
    const rackEntries = async () => (await lab.api.inventory.guard.listQueue({ waitingOnly: false, limit: 1000 })).filter((e) => e.system.startsWith('rk'));
    for (const deadline = Date.now() + 30_000; (await rackEntries()).some((e) => e.state === 'waiting'); ) {
      if (Date.now() > deadline) throw new Error(`the held machines were not looked at again: ${JSON.stringify(await rackEntries())}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const m of rack) assert.deepEqual(m.bmc.requests, [], `${m.name}: no BMC request at all`);
    const incidents = await lab.api.request('GET', '/api/v1/automation/incidents');
    assert.equal(incidents.body.length, 1);
    assert.equal(incidents.body[0].group, 'rack=rz');
    assert.deepEqual([...incidents.body[0].systems].sort(), rack.map((m) => m.name).sort());
    const entries = await rackEntries();
    assert.ok(entries.every((e) => e.state === 'refused' && /incident/.test(e.lastReason)), JSON.stringify(entries));
    // Closing the incident lets its machines be rescued again.
    assert.equal((await lab.api.request('POST', `/api/v1/automation/incidents/${incidents.body[0].id}/close`)).status, 200);
    assert.equal((await lab.api.request('GET', '/api/v1/automation/incidents')).body.length, 0);
  });

  test('the blind-monitoring brake: most of the fleet broken at once pauses automation, and it says why', async () => {
    await lab.setGuard({ brakeShare: 0.2, maxInFlight: 5 });
    // Every machine of the storm counts as broken within the window: the next look at the queue, or the
    // next alert, trips the brake.
    const fresh = await lab.addMachines(1, { prefix: 'br' });
    const tripped = await lab.api.request('POST', '/hooks/generic', { body: { system: fresh[0]!.name, reason: 'one more', id: 'brake-2' }, token: lab.webhookToken });
    assert.equal(tripped.body.alerts[0].decision, 'refused');
    assert.match(tripped.body.alerts[0].reason, /blind-monitoring brake: \d+ of \d+ machines/);
    const status = await lab.api.request('GET', '/api/v1/automation');
    assert.equal(status.body.pause.paused, true, `${tripped.body.alerts[0].reason}\n${JSON.stringify(status.body.pause)}\n${JSON.stringify(status.body.decisions.slice(0, 3))}`);
    assert.equal(status.body.pause.by, 'guard');
    assert.match(status.body.pause.reason, /blind-monitoring brake/);
    assert.deepEqual(fresh[0]!.bmc.requests, []);
    // The queue runner's next look refuses what still waits (the pause holds for it too).
    let stillWaiting = await lab.api.inventory.guard.listQueue({ waitingOnly: true, limit: 1000 });
    for (const deadline = Date.now() + 20_000; stillWaiting.length > 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stillWaiting = await lab.api.inventory.guard.listQueue({ waitingOnly: true, limit: 1000 });
    }
    assert.equal(stillWaiting.length, 0, 'the deferred storm is refused, not started, once the brake holds');
  });
});
