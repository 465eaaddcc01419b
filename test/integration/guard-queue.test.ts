// The guard over a real database (PGlite, and PostgreSQL when DATABASE_URL is set), as the server wires it
// (workers/triggers.ts), with a stand-in for Temporal that records the starts it is asked for: what the queue
// of deferred requests does under a dry run, what the alerts' records say once a deferred request is refused
// from the queue, which requests count as broken machines across admissions, where a start Temporal refused
// waits, and concurrent settings changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemCreate } from '../../inventory/schemas.js';
import { createTriggers, type TriggerRescues, type Triggers } from '../../workers/triggers.js';
import type { AdmissionSource } from '../../triggers/admission.js';
import type { GuardSettings } from '../../triggers/guard-settings.js';
import { testDatabases } from '../support/databases.js';
import { withInventory, type TestInventory } from '../support/inventory-database.js';
import { createGuard, type RescueStarter } from '../../triggers/guard.js';

/** Temporal as the guard sees it: every start is taken and recorded; nothing runs. */
function recordingRescues(): TriggerRescues & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    async startAdmitted(input) {
      started.push(input.system);
      return { workflowId: `rescue-${input.system}`, joined: false };
    },
    async latestRun() {
      return undefined;
    },
    async alertResolved() {
      return false;
    },
  };
}

/** A fresh database with these systems (name: labels) and the triggers over it; dropped after `run`. */
async function withTriggers(database: ReturnType<typeof testDatabases>[number], machines: Record<string, Record<string, string>>, run: (parts: { inventory: TestInventory; triggers: Triggers; rescues: ReturnType<typeof recordingRescues> }) => Promise<void>): Promise<void> {
  await withInventory(database, async ({ inventory, actor }) => {
    for (const [index, [name, labels]] of Object.entries(machines).entries()) {
      await inventory.systems.create(systemCreate.parse({ name, profile: 'p', labels, interfaces: [{ mac: `52:54:00:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}` }] }), actor);
    }
    const rescues = recordingRescues();
    await run({ inventory, triggers: createTriggers(inventory, rescues, { alertLabels: [] }), rescues });
  });
}

/** The guard's settings for these tests: no cooldown, no hold, unless a test says otherwise. */
const quiet: Partial<GuardSettings> = { cooldownMs: 0, correlationHoldMs: 0 };
const ask = (triggers: Triggers, system: string, source: AdmissionSource = 'alertmanager') => triggers.guard.admit({ system, source, reason: 'NodeDown', alertId: `fp-${system}` });

for (const database of testDatabases()) {
  test(`${database.label}: a dry run keeps the queue's waiting requests, noted with what would happen; they start once it is off`, async () => {
    await withTriggers(database, { a: {}, b: {} }, async ({ inventory, triggers, rescues }) => {
      await triggers.automation.updateSettings({ ...quiet, maxInFlight: 0 }, 'test');
      for (const system of ['a', 'b']) assert.equal((await ask(triggers, system)).decision, 'deferred');
      await triggers.automation.updateSettings({ dryRun: true, maxInFlight: 1 }, 'test');
      // The runner pumps every few seconds: a dry run of any length settles nothing.
      for (let tick = 0; tick < 3; tick++) assert.deepEqual(await triggers.guard.pumpQueue(), { started: [], refused: [], waiting: 2 });
      const waiting = await inventory.guard.listQueue({ waitingOnly: true, limit: 10 });
      assert.deepEqual(waiting.map((e) => [e.system, e.state]), [['a', 'waiting'], ['b', 'waiting']]);
      assert.match(waiting[0]!.lastReason, /^dry run: would have started a rescue/);
      assert.match(waiting[1]!.lastReason, /^dry run: would have deferred it: 1 rescue\(s\) in flight, the fleet-wide cap is 1/, 'the room a would-be start takes counts');
      assert.deepEqual(rescues.started, [], 'nothing started');

      await triggers.automation.updateSettings({ dryRun: false, maxInFlight: 2 }, 'test');
      assert.deepEqual(await triggers.guard.pumpQueue(), { started: ['a', 'b'], refused: [], waiting: 0 });
      assert.deepEqual(rescues.started, ['a', 'b']);
      assert.deepEqual((await inventory.guard.listQueue({ waitingOnly: false, limit: 10 })).map((e) => [e.system, e.state]).sort(), [['a', 'started'], ['b', 'started']]);
    });
  });

  test(`${database.label}: a deferred request refused from the queue (a pause) leaves its alerts saying refused, and why`, async () => {
    await withTriggers(database, { a: {}, b: {} }, async ({ inventory, triggers }) => {
      await triggers.automation.updateSettings({ ...quiet, maxInFlight: 0 }, 'test');
      const alert = (system: string, fingerprint: string) => ({ receiver: 'alertmanager', deliveredBy: 'am', fingerprint, status: 'firing', alertName: 'NodeDown', labels: { instance: system }, annotations: {}, startsAt: null, system });
      for (const [system, fingerprint] of [['a', 'fp1'], ['a', 'fp2'], ['b', 'fp3']] as const) {
        const decided = await ask(triggers, system);
        assert.equal(decided.decision, 'deferred');
        await inventory.alerts.recordAll([{ ...alert(system, fingerprint), decision: decided.decision, reason: decided.reason, workflowId: decided.workflowId }]);
      }
      await triggers.automation.pause('core switch upgrade', 'ops');
      await triggers.automation.updateSettings({ maxInFlight: 3 }, 'test');
      const pumped = await triggers.guard.pumpQueue();
      assert.deepEqual(pumped.refused.sort(), ['a', 'b']);
      const records = (await inventory.alerts.list({ system: 'a', limit: 10 })).alerts;
      assert.deepEqual(records.map((r) => r.decision), ['refused', 'refused']);
      for (const record of records) assert.match(record.reason, /refused from the queue: automation is paused by ops.*core switch upgrade/);
      assert.equal((await inventory.alerts.list({ system: 'b', limit: 10 })).alerts[0]!.decision, 'refused');
    });
  });

  test(`${database.label}: machines alerting under a maintenance window are not broken machines; those alerting during a pause are`, async () => {
    const machines: Record<string, Record<string, string>> = { web01: { rack: 'r1' }, web02: { rack: 'r2' }, web03: { rack: 'r3' } };
    for (let n = 0; n < 7; n++) machines[`r12-${n}`] = { rack: 'r12' };
    await withTriggers(database, machines, async ({ inventory, triggers }) => {
      // Ten machines: three broken at once (30%) trip the brake.
      await triggers.automation.updateSettings({ ...quiet, brakeShare: 0.2, brakeMinMachines: 3, maxInFlight: 10, correlationMachines: 3 }, 'test');
      const window = await triggers.automation.addMaintenance({ system: null, label: { key: 'rack', value: 'r12' }, startsAt: new Date(Date.now() - 60_000), endsAt: new Date(Date.now() + 3_600_000), reason: 'rack r12 power work' }, 'ops');
      // The rack's machines alert during the planned work, each in an admission of its own.
      for (let n = 0; n < 7; n++) {
        const decided = await ask(triggers, `r12-${n}`);
        assert.equal(decided.decision, 'refused');
        assert.match(decided.reason, new RegExp(`maintenance window #${window.id}`));
      }
      const counted = async () => (await inventory.guard.locked((tx) => inventory.guard.admissionFacts(tx, [], new Date()))).fleet.recentlyBroken.count;
      assert.equal(await counted(), 0, 'no broken machine');
      // The next real failure is rescued: no brake, no incident of rack r12.
      const real = await ask(triggers, 'web01');
      assert.equal(real.decision, 'started', real.reason);
      assert.deepEqual(await inventory.guard.listIncidents({ open: true }), []);
      assert.equal((await inventory.guard.settings()).pause.paused, false);
      assert.equal(await counted(), 1);

      // A machine that alerts while automation is paused is broken all the same: the brake still sees it.
      await triggers.automation.pause('network change', 'ops');
      assert.equal((await ask(triggers, 'web02')).decision, 'refused');
      assert.equal(await counted(), 2);
      await triggers.automation.resume('ops');
      const third = await ask(triggers, 'web03');
      assert.equal(third.decision, 'refused');
      assert.match(third.reason, /blind-monitoring brake: 3 of 10 machines/);
    });
  });

  test(`${database.label}: a start Temporal refused keeps its place in the queue, ahead of the requests that came after it`, async () => {
    await withTriggers(database, { a: {}, b: {} }, async ({ inventory }) => {
      await inventory.guard.changeSettings((settings) => ({ ...settings, ...quiet, maxInFlight: 1, brakeShare: 1 }), 'test');
      // Temporal as the guard sees it: a's first start is held until b has arrived, then refused; the rest are taken.
      let reachedTemporal!: () => void;
      const aAtTemporal = new Promise<void>((resolve) => (reachedTemporal = resolve));
      let refuse!: () => void;
      const refusal = new Promise<void>((resolve) => (refuse = resolve));
      const started: string[] = [];
      let refusals = 1;
      const rescues: RescueStarter = {
        async startAdmitted(input) {
          if (input.system === 'a' && refusals-- > 0) {
            reachedTemporal();
            await refusal;
            throw new Error('14 UNAVAILABLE: connection refused');
          }
          started.push(input.system);
          return { workflowId: `rescue-${input.system}`, joined: false };
        },
        async latestRun() {
          return undefined;
        },
      };
      // The queue retries a refused start after a few seconds: the pump looks a minute ahead.
      let ahead = 0;
      const guard = createGuard({ store: inventory.guard, rescues, now: () => new Date(Date.now() + ahead) });

      const first = guard.admit({ system: 'a', source: 'alertmanager', reason: 'NodeDown', alertId: 'fp-a' });
      await aAtTemporal;
      const second = await guard.admit({ system: 'b', source: 'alertmanager', reason: 'NodeDown', alertId: 'fp-b' });
      assert.equal(second.decision, 'deferred', second.reason);
      assert.match(second.reason, /1 rescue\(s\) in flight, the fleet-wide cap is 1/);
      refuse();
      const refused = await first;
      assert.equal(refused.decision, 'deferred');
      assert.match(refused.reason, /Temporal did not accept the start \(14 UNAVAILABLE: connection refused\); queued/);

      const waiting = await inventory.guard.listQueue({ waitingOnly: true, limit: 10 });
      assert.deepEqual(waiting.map((entry) => entry.system), ['a', 'b'], 'a arrived first');
      assert.ok(waiting[0]!.enqueuedAt < waiting[1]!.enqueuedAt, `a queued as of its arrival (${waiting[0]!.enqueuedAt}), before b (${waiting[1]!.enqueuedAt})`);
      ahead = 60_000;
      assert.deepEqual(await guard.pumpQueue(), { started: ['a'], refused: [], waiting: 1 });
      assert.deepEqual(started, ['a'], 'the room goes to the request that arrived first');
    });
  });

  test(`${database.label}: operators changing different settings at once: every change holds`, async () => {
    await withTriggers(database, {}, async ({ inventory, triggers }) => {
      const changes: Array<Partial<GuardSettings>> = [{ maxInFlight: 7 }, { cooldownMs: 123_000 }, { maxCyclesPerHour: 55 }, { brakeShare: 0.5 }, { correlationHoldMs: 4_000 }, { maxFailures: 5 }];
      await Promise.all(changes.map((change, index) => triggers.automation.updateSettings(change, `operator-${index}`)));
      const { settings } = await inventory.guard.settings();
      for (const change of changes) for (const [key, value] of Object.entries(change)) assert.equal(settings[key as keyof GuardSettings], value, key);
    });
  });
}
