// The guard's limit of power cycles per hour, through the real wiring: alerts delivered to the API as
// `npm start` builds it, rescues on the real Temporal dev server with the real activities, and Redfish BMCs
// that count every power operation that lands. Each rescue here power-cycles its machine twice (it never phones
// home), so two rescues make four cycles: the limit counts those, not the two starts, and never stops a running
// rescue's own cycles.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { alertmanagerPayload, FAILING_FAST, startTriggersLab, type FleetMachine, type TriggersLab } from '../support/triggers-lab.js';
import { rescueOutcome } from '../support/rescue-outcome.js';
import { runRescuectl } from '../support/cli.js';

/** Redfish reset types that power a machine up or restart it (ForceOff and GracefulShutdown do not). */
const POWERING_UP = new Set(['On', 'ForceOn', 'ForceRestart', 'GracefulRestart', 'PowerCycle']);

describe('power cycles per hour', { timeout: 240_000 }, () => {
  let lab: TriggersLab;
  let fleet: FleetMachine[];

  before(async () => {
    lab = await startTriggersLab(testDatabases().at(-1)!, { timings: { ...FAILING_FAST, maxPowerCycles: 2 } });
    fleet = await lab.addMachines(3, { prefix: 'pc' });
  });
  after(async () => {
    await lab?.stop();
  });

  test("automatic rescues' power cycles fill the limit: the next start waits, with the count in its reason", async () => {
    const [first, second, third] = fleet as [FleetMachine, FleetMachine, FleetMachine];
    await lab.setGuard({ maxInFlight: 10, maxPerGroup: {}, correlationHoldMs: 0, cooldownMs: 0, brakeShare: 1, maxCyclesPerHour: 3 });
    const alert = (machine: FleetMachine) => ({ labels: { instance: `${machine.name}:9100` }, fingerprint: `cycles-${machine.name}` });
    const deliver = (machines: FleetMachine[]) => lab.api.request('POST', '/hooks/alertmanager', { body: alertmanagerPayload(machines.map(alert)), token: lab.webhookToken });

    // Two starts, each reserving its first cycle: 2 of 3.
    const opening = await deliver([first, second]);
    assert.equal(opening.status, 200, JSON.stringify(opening.body));
    assert.deepEqual(opening.body.alerts.map((a: { decision: string }) => a.decision), ['started', 'started']);
    // Each cycles its machine twice, past the limit: a running rescue's own operations are never held back.
    for (const machine of [first, second]) assert.equal((await rescueOutcome(lab.env.client, lab.rescues, machine.name)).outcome, 'failed');
    const poweredUp = [first, second].map((machine) => machine.bmc.powerEvents.filter((event) => POWERING_UP.has(event)).length);
    assert.deepEqual(poweredUp, [2, 2], `the BMCs saw ${[first, second].map((m) => m.bmc.powerEvents.join(',')).join(' and ')}`);

    // The guard counted what the BMCs saw, and the status says so.
    const status = await lab.api.request('GET', '/api/v1/automation');
    assert.deepEqual(status.body.powerCyclesLastHour, { made: 4, reserved: 0 });
    const printed = await runRescuectl(['automation', 'status'], { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken });
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /power cycles last hour\s*: 4 of 3 \(0 reserved by rescues admitted that have not cycled\)/);

    // Two starts only, but four cycles: the third machine waits.
    const next = await deliver([third]);
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const [decided] = next.body.alerts as Array<{ decision: string; reason: string }>;
    assert.equal(decided!.decision, 'deferred', decided!.reason);
    assert.equal(decided!.reason, '4 power cycle(s) by automatic rescues in the last hour (0 of them reserved by rescues admitted that have not cycled), the limit is 3; starts as the hour slides past them');
    const queued = await lab.api.inventory.guard.listQueue({ waitingOnly: true, limit: 10 });
    assert.deepEqual(queued.map((entry) => [entry.system, entry.lastReason]), [[third.name, decided!.reason]]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(third.bmc.powerEvents, [], 'its BMC saw no power operation');
  });
});
