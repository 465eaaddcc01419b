// The guard's decision as a pure function: each rule alone, in its order, and arrival order under caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAdmissions, type AdmissionCandidate, type FleetFacts, type MachineFacts } from '../../triggers/guard-decision.js';
import { DEFAULT_GUARD_SETTINGS, type GuardSettings } from '../../triggers/guard-settings.js';

const NOW = new Date('2026-11-29T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

function fleet(over: Partial<FleetFacts> = {}, settings: Partial<GuardSettings> = {}): FleetFacts {
  return {
    now: NOW,
    settings: { ...DEFAULT_GUARD_SETTINGS, correlationHoldMs: 0, ...settings },
    pause: { paused: false, by: null, reason: null, at: null },
    fleetSize: 100,
    inFlight: { count: 0, grouped: [] },
    powerCyclesLastHour: { made: 0, reserved: 0 },
    recentlyBroken: { count: 0, grouped: [] },
    openIncidents: new Map(),
    ...over,
  };
}
function machine(system: string, over: Partial<MachineFacts> = {}): MachineFacts {
  return { system, labels: { rack: `rack-${system}` }, inFlightWorkflowId: null, lastAutomaticEndedAt: null, consecutiveFailures: 0, maintenance: null, recentlyBroken: false, ...over };
}
const ask = (system: string, over: Partial<MachineFacts> = {}, extra: Partial<AdmissionCandidate> = {}): AdmissionCandidate => ({ system, source: 'alertmanager', reason: 'NodeDown', machine: machine(system, over), ...extra });
const one = (facts: FleetFacts, candidate: AdmissionCandidate) => planAdmissions(facts, [candidate])[0]!;

test('a broken machine with room is started, and takes a slot', () => {
  const decided = one(fleet(), ask('web01'));
  assert.equal(decided.decision, 'started');
  assert.deepEqual(decided.effects, [{ kind: 'take-slot', groups: { rack: 'rack-web01' } }]);
});

test('a machine already in flight joins its rescue, whatever else holds', () => {
  const decided = one(fleet({ pause: { paused: true, by: 'ops', reason: 'x', at: null } }), ask('web01', { inFlightWorkflowId: 'rescue-web01' }));
  assert.equal(decided.decision, 'joined');
  assert.equal(decided.workflowId, 'rescue-web01');
});

test('pause, maintenance, failures in a row and cooldown refuse, each saying why', () => {
  assert.match(one(fleet({ pause: { paused: true, by: 'ops', reason: 'switch upgrade', at: null } }), ask('a')).reason, /paused by ops.*switch upgrade/);
  const maintenance = one(fleet(), ask('a', { maintenance: { id: 4, endsAt: '2026-11-29T13:00:00.000Z', reason: 'disk swap', scope: 'system a' } }));
  assert.equal(maintenance.decision, 'refused');
  assert.match(maintenance.reason, /maintenance window #4.*disk swap/);
  const failing = one(fleet(), ask('a', { consecutiveFailures: 2 }));
  assert.equal(failing.decision, 'refused');
  assert.match(failing.reason, /last 2 automatic rescue\(s\) of a failed/);
  const cooling = one(fleet(), ask('a', { lastAutomaticEndedAt: minutesAgo(60) }));
  assert.equal(cooling.decision, 'refused');
  assert.match(cooling.reason, /cooldown/);
  assert.equal(one(fleet({}, { cooldownMs: 30 * 60_000 }), ask('a', { lastAutomaticEndedAt: minutesAgo(60) })).decision, 'started');
});

test('caps defer, in arrival order: fleet-wide, per rack, per hour', () => {
  const plan = planAdmissions(fleet({}, { maxInFlight: 2 }), [ask('a'), ask('b'), ask('c'), ask('d')]);
  assert.deepEqual(plan.map((p) => p.decision), ['started', 'started', 'deferred', 'deferred']);
  assert.match(plan[2]!.reason, /2 rescue\(s\) in flight, the fleet-wide cap is 2/);
  assert.deepEqual(plan[2]!.effects, [{ kind: 'enqueue', notBefore: NOW }]);
  const sameRack = planAdmissions(fleet(), [ask('a', { labels: { rack: 'r1' } }), ask('b', { labels: { rack: 'r1' } })]);
  assert.deepEqual(sameRack.map((p) => p.decision), ['started', 'deferred']);
  assert.match(sameRack[1]!.reason, /rack=r1, the cap per rack is 1/);
  const hourly = one(fleet({ powerCyclesLastHour: { made: 10, reserved: 0 } }), ask('a'));
  assert.equal(hourly.decision, 'deferred');
  assert.match(hourly.reason, /in the last hour \(0 of them reserved by rescues admitted that have not cycled\), the limit is 10/);
});

test('the hourly limit counts power cycles made and those reserved by rescues that have not cycled yet', () => {
  // Two rescues that each cycled their machine three times fill a limit of 6, though only two started.
  const cycled = one(fleet({ powerCyclesLastHour: { made: 6, reserved: 0 } }, { maxCyclesPerHour: 6 }), ask('a'));
  assert.equal(cycled.decision, 'deferred');
  assert.equal(cycled.reason, '6 power cycle(s) by automatic rescues in the last hour (0 of them reserved by rescues admitted that have not cycled), the limit is 6; starts as the hour slides past them');
  // Rescues admitted that have not cycled yet count one each.
  const reserved = one(fleet({ powerCyclesLastHour: { made: 4, reserved: 2 } }, { maxCyclesPerHour: 6 }), ask('a'));
  assert.equal(reserved.decision, 'deferred');
  assert.match(reserved.reason, /^6 power cycle\(s\) by automatic rescues in the last hour \(2 of them reserved/);
  assert.equal(one(fleet({ powerCyclesLastHour: { made: 3, reserved: 2 } }, { maxCyclesPerHour: 6 }), ask('a')).decision, 'started', 'one below the limit');
  // Each start of a batch reserves its first cycle for the rest of the batch.
  const plan = planAdmissions(fleet({ powerCyclesLastHour: { made: 1, reserved: 0 } }, { maxCyclesPerHour: 3 }), [ask('a'), ask('b'), ask('c')]);
  assert.deepEqual(plan.map((p) => p.decision), ['started', 'started', 'deferred']);
  assert.match(plan[2]!.reason, /^3 power cycle\(s\) by automatic rescues in the last hour \(2 of them reserved by rescues admitted that have not cycled\), the limit is 3/);
  // A dry run plans the same, and starts nothing.
  const dry = planAdmissions(fleet({ powerCyclesLastHour: { made: 1, reserved: 0 } }, { maxCyclesPerHour: 2, dryRun: true }), [ask('a'), ask('b')]);
  assert.deepEqual(dry.map((p) => p.decision), ['dry-run', 'dry-run']);
  assert.match(dry[1]!.reason, /^dry run: would have deferred it: 2 power cycle\(s\) .*\(1 of them reserved/);
});

test('a queued request ahead takes the room before a new one', () => {
  const queued = ask('old', {}, { queued: { id: 1, enqueuedAt: minutesAgo(5), notBefore: minutesAgo(5) } });
  const plan = planAdmissions(fleet({ inFlight: { count: 2, grouped: [] } }), [queued, ask('new')]);
  assert.deepEqual(plan.map((p) => p.decision), ['started', 'deferred']);
  assert.deepEqual(plan[0]!.effects, [{ kind: 'take-slot', groups: { rack: 'rack-old' } }], 'a queued entry is not enqueued again');
});

test('several machines of one rack breaking together: none is power-cycled, one incident', () => {
  const rack = { rack: 'r7' };
  const plan = planAdmissions(fleet({}, { correlationHoldMs: 30_000 }), ['a', 'b', 'c', 'd', 'e'].map((s) => ask(s, { labels: rack })));
  assert.deepEqual(plan.map((p) => p.decision), ['deferred', 'deferred', 'refused', 'refused', 'refused']);
  assert.match(plan[0]!.reason, /held 30s before any power cycle/);
  const opened = plan.flatMap((p) => p.effects).filter((e) => e.kind === 'open-incident');
  assert.equal(opened.length, 1, 'one incident for the rack');
  assert.match(plan[2]!.reason, /3 machines of rack=r7 broke within 10m/);
  assert.match(plan[3]!.reason, /group incident is open for rack=r7/);
  // After the hold, the held ones see the open incident and are refused too.
  const later = fleet({ openIncidents: new Map([['rack=r7', { id: 9, systems: ['a', 'b', 'c'] }]]) }, { correlationHoldMs: 30_000 });
  const held = one(later, ask('a', { labels: rack }, { queued: { id: 1, enqueuedAt: minutesAgo(1), notBefore: minutesAgo(0.5) } }));
  assert.equal(held.decision, 'refused');
  assert.match(held.reason, /incident #9/);
});

test('a hold ends: the held machine starts once its time has passed', () => {
  const settings = { correlationHoldMs: 30_000 };
  const waiting = one(fleet({}, settings), ask('a', { labels: { rack: 'r1' } }, { queued: { id: 1, enqueuedAt: new Date(NOW.getTime() - 10_000).toISOString(), notBefore: NOW.toISOString() } }));
  assert.equal(waiting.decision, 'deferred');
  assert.deepEqual(waiting.effects, [], 'still waiting, no second queue entry');
  assert.equal(one(fleet({}, settings), ask('a', { labels: { rack: 'r1' } }, { queued: { id: 1, enqueuedAt: minutesAgo(1), notBefore: NOW.toISOString() } })).decision, 'started');
  assert.equal(one(fleet({}, settings), ask('nolabel', { labels: {} })).decision, 'started', 'a machine in no group is not held');
});

test('the blind-monitoring brake: too much of the fleet broken at once pauses automation', () => {
  const broken = Array.from({ length: 20 }, (_, i) => ({ system: `m${i}`, groups: { rack: `r${i}` } }));
  const decided = one(fleet({ recentlyBroken: { count: broken.length, grouped: broken } }), ask('web01'));
  assert.equal(decided.decision, 'refused');
  assert.match(decided.reason, /blind-monitoring brake: 21 of 100 machines \(21%\)/);
  assert.equal(decided.effects[0]?.kind, 'pause');
  // In the same plan, whatever follows meets the pause.
  const plan = planAdmissions(fleet({ recentlyBroken: { count: broken.length, grouped: broken } }), [ask('web01'), ask('web02')]);
  assert.match(plan[1]!.reason, /paused by guard/);
  assert.equal(one(fleet({ recentlyBroken: { count: 3, grouped: broken.slice(0, 3) }, fleetSize: 10 }), ask('web01')).decision, 'started', 'fewer than brakeMinMachines... 4 of 10 is 40% but under the minimum of 5');
});

test('the brake counts a machine once: one already reported broken in the window is not a second broken machine', () => {
  const settings = { brakeMinMachines: 5, brakeShare: 0.4 };
  const facts = fleet({ recentlyBroken: { count: 4, grouped: [] }, fleetSize: 10 }, settings);
  assert.equal(one(facts, ask('web01', { recentlyBroken: true })).decision, 'started', 'still 4 of 10 broken');
  assert.match(one(facts, ask('web01')).reason, /blind-monitoring brake: 5 of 10 machines/);
});

test('dry run: records what would have happened, with no effect at all', () => {
  const plan = planAdmissions(fleet({}, { dryRun: true, maxInFlight: 1 }), [ask('a'), ask('b')]);
  assert.deepEqual(plan.map((p) => p.decision), ['dry-run', 'dry-run']);
  assert.match(plan[0]!.reason, /dry run: would have started a rescue/);
  assert.deepEqual(plan.flatMap((p) => p.effects), []);
});

test('dry run: a batch accounts for the room its would-be starts take, so each record says what would have happened', () => {
  const plan = planAdmissions(fleet({}, { dryRun: true, maxInFlight: 1 }), [ask('a'), ask('b'), ask('c')]);
  assert.deepEqual(plan.map((p) => p.decision), ['dry-run', 'dry-run', 'dry-run']);
  assert.match(plan[0]!.reason, /would have started a rescue: started: 1 of 1 rescue\(s\) in flight/);
  for (const later of plan.slice(1)) assert.match(later.reason, /would have deferred it: 1 rescue\(s\) in flight, the fleet-wide cap is 1/);
  assert.deepEqual(plan.flatMap((p) => p.effects), [], 'no slot taken, nothing queued');
  // A second request of a machine it would have started would join that rescue: still a dry run, no workflow named.
  const twice = planAdmissions(fleet({}, { dryRun: true }), [ask('a'), ask('a')]);
  assert.deepEqual(twice.map((p) => [p.decision, p.workflowId]), [['dry-run', null], ['dry-run', null]]);
  assert.match(twice[1]!.reason, /would have joined it to the rescue it would have started/);
});

test('dry run: the correlation hold is noted, and what the caps would decide once it ends is recorded', () => {
  const rack = { rack: 'r1' };
  const plan = planAdmissions(fleet({}, { dryRun: true, correlationHoldMs: 60_000 }), [ask('a', { labels: rack }), ask('b', { labels: rack }), ask('c', { labels: { rack: 'r2' } })]);
  assert.deepEqual(plan.map((p) => p.decision), ['dry-run', 'dry-run', 'dry-run']);
  assert.match(plan[0]!.reason, /^dry run: would have started a rescue: held 1m before any power cycle.*rack=r1.*; then started: 1 of 3 rescue\(s\) in flight$/);
  assert.match(plan[1]!.reason, /^dry run: would have deferred it: held 1m .*; then 1 rescue\(s\) in flight in rack=r1, the cap per rack is 1/);
  assert.match(plan[2]!.reason, /then started: 2 of 3 rescue\(s\) in flight$/);
  assert.deepEqual(plan.flatMap((p) => p.effects), []);
});

test('machines in a maintenance window are not counted broken: a rack under planned work does not trip the brake', () => {
  const window = { id: 1, endsAt: '2026-11-29T18:00:00.000Z', reason: 'rack r12 power work', scope: 'label rack=r12' };
  const rack = Array.from({ length: 20 }, (_, i) => ask(`r12-${i}`, { labels: { rack: 'r12' }, maintenance: window }));
  const plan = planAdmissions(fleet(), [...rack, ask('web01', { labels: { rack: 'r1' } })]);
  assert.ok(plan.slice(0, 20).every((p) => p.decision === 'refused' && /maintenance window #1/.test(p.reason)));
  assert.equal(plan.at(-1)!.decision, 'started', plan.at(-1)!.reason);
  assert.deepEqual(plan.flatMap((p) => p.effects).filter((e) => e.kind !== 'take-slot'), [], 'no incident, no pause');
});
