// The chain and the read-back with in-memory drivers: order, per-driver timeout, the record, honest success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerClient, chainFailure } from '../../power/chain.js';
import { BmcError } from '../../power/errors.js';
import { compareBootReading } from '../../power/readback.js';
import { DriverRegistry } from '../../power/registry.js';
import { sleep } from '../../power/retry.js';
import { createSystemPower, type RescuePowerCycle } from '../../power/system-power.js';
import type { BmcDriver, BmcTarget, OperationContext, PowerAction, PowerState } from '../../power/types.js';

/** A chassis in memory whose BMC does what it is told after `delayMs`, or nothing at all when `stuck`. */
class FakeChassis {
  power: PowerState = 'off';
  sent: PowerAction[] = [];
  constructor(private readonly behaviour: { delayMs?: number; stuck?: boolean; cycleInstant?: boolean } = {}) {}

  driver(name: string): BmcDriver {
    return {
      name,
      getPowerState: async (context: OperationContext) => {
        context.recordCall({ description: 'status', try: 1, elapsedMs: 0 });
        return this.power;
      },
      setPowerState: async (action: PowerAction) => {
        this.sent.push(action);
        if (this.behaviour.stuck) return { commands: [action], observedOff: false };
        const apply = (): void => {
          if (action === 'on') this.power = 'on';
          else if (action === 'off' || action === 'soft') this.power = 'off';
          else if (action === 'cycle' && !this.behaviour.cycleInstant) {
            this.power = 'off';
            setTimeout(() => (this.power = 'on'), 30);
          }
        };
        if (this.behaviour.delayMs) setTimeout(apply, this.behaviour.delayMs);
        else apply();
        return { commands: [`power ${action}`], observedOff: false };
      },
    };
  }
}

function registryWith(drivers: Record<string, (target: BmcTarget) => BmcDriver>): DriverRegistry {
  const registry = new DriverRegistry(() => null);
  for (const [type, create] of Object.entries(drivers)) registry.register([type], type, create);
  return registry;
}

const FAST = { readback_interval: '0.01', readback_timeout: '1', cycle_settle: '0.2', retry_delay: '0.01' };

function target(type: string, options: Record<string, string> = {}): BmcTarget {
  return { systemName: 'web01', type, address: `${type}.bmc.example`, options: { ...FAST, ...options } };
}

test('the first driver that works is used; the record says who failed and why, and is plain JSON', async () => {
  const chassis = new FakeChassis();
  const registry = registryWith({
    broken: () => ({
      name: 'broken',
      getPowerState: async () => {
        throw new BmcError('unreachable', { systemName: 'web01', driver: 'broken' }, 'no answer');
      },
      setPowerState: async () => ({ commands: [], observedOff: false }),
    }),
    good: () => chassis.driver('good'),
  });
  const result = await new PowerClient([target('broken'), target('good')], { registry }).setPowerState('on');
  assert.equal(result.ok, true);
  assert.equal(result.record.succeededWith, 'good');
  assert.deepEqual(result.record.attempts.map((attempt) => [attempt.driver, attempt.outcome, attempt.failure?.kind]), [
    ['broken', 'failed', 'unreachable'],
    ['good', 'succeeded', undefined],
  ]);
  assert.match(result.record.attempts[0]?.failure?.message ?? '', /^web01: broken: no answer/);
  assert.deepEqual(JSON.parse(JSON.stringify(result.record)), result.record);
  assert.equal(chassis.power, 'on');
});

test('each driver runs under its own timeout', async () => {
  const registry = registryWith({
    hanging: () => ({
      name: 'hanging',
      getPowerState: async (context: OperationContext) => {
        await sleep(60000, context.signal);
        return 'on';
      },
    }),
  });
  const started = Date.now();
  const result = await new PowerClient([target('hanging', { driver_timeout: '0.2' })], { registry }).getPowerState();
  assert.ok(Date.now() - started < 5000);
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'timeout');
    assert.match(result.failure.message, /driver_timeout=0.2 s/);
  }
});

test('a driver without the capability is skipped; an unknown type is recorded as unsupported', async () => {
  const registry = registryWith({ statusonly: () => ({ name: 'statusonly', getPowerState: async () => 'on' as const }) });
  const result = await new PowerClient([target('nosuchtype'), target('statusonly')], { registry }).setBootDevice({ device: 'pxe', uefi: true });
  assert.equal(result.ok, false);
  assert.deepEqual(result.record.attempts.map((attempt) => [attempt.driver, attempt.outcome, attempt.failure?.kind]), [
    ['fence_nosuchtype', 'failed', 'unsupported'],
    ['statusonly', 'skipped', 'unsupported'],
  ]);
  if (!result.ok) assert.equal(result.failure.kind, 'unsupported');
});

test('a BMC that accepts and does nothing: state-not-reached, never success', async () => {
  const chassis = new FakeChassis({ stuck: true });
  const registry = registryWith({ liar: () => chassis.driver('liar') });
  const result = await new PowerClient([target('liar', { readback_timeout: '0.2' })], { registry }).setPowerState('on');
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'state-not-reached');
    assert.match(result.failure.message, /still reads off/);
  }
  assert.deepEqual(chassis.sent, ['on']);
});

test('on when already on sends nothing and is not an error', async () => {
  const chassis = new FakeChassis();
  chassis.power = 'on';
  const result = await new PowerClient([target('fake')], { registry: registryWith({ fake: () => chassis.driver('fake') }) }).setPowerState('on');
  assert.equal(result.ok, true);
  if (result.ok) {
    assert.equal(result.value.actionSent, null);
    assert.match(result.value.evidence, /already on/);
  }
  assert.deepEqual(chassis.sent, []);
});

test('a slow BMC is waited for; polling reads are folded in the record', async () => {
  const chassis = new FakeChassis({ delayMs: 100 });
  const result = await new PowerClient([target('slow')], { registry: registryWith({ slow: () => chassis.driver('slow') }) }).setPowerState('on');
  assert.equal(result.ok, true);
  const calls = result.record.attempts[0]?.calls ?? [];
  assert.equal(calls.length, 1);
  assert.ok((calls[0]?.count ?? 0) > 2);
});

test('cycle: off seen, then on', async () => {
  const chassis = new FakeChassis();
  chassis.power = 'on';
  const result = await new PowerClient([target('fake')], { registry: registryWith({ fake: () => chassis.driver('fake') }) }).setPowerState('cycle');
  assert.equal(result.ok, true);
  if (result.ok) {
    assert.equal(result.value.observedOff, true);
    assert.equal(result.value.stateAfter, 'on');
  }
});

test('cycle too fast to see: on for cycle_settle, recorded as off not seen', async () => {
  const chassis = new FakeChassis({ cycleInstant: true });
  chassis.power = 'on';
  const started = Date.now();
  const result = await new PowerClient([target('fake')], { registry: registryWith({ fake: () => chassis.driver('fake') }) }).setPowerState('cycle');
  assert.equal(result.ok, true);
  assert.ok(Date.now() - started >= 200);
  if (result.ok) {
    assert.equal(result.value.observedOff, false);
    assert.match(result.value.evidence, /off not seen/);
  }
});

test('reset or cycle of a machine that is off powers it on, and says so', async () => {
  const chassis = new FakeChassis();
  const result = await new PowerClient([target('fake')], { registry: registryWith({ fake: () => chassis.driver('fake') }) }).setPowerState('reset');
  assert.equal(result.ok, true);
  if (result.ok) {
    assert.equal(result.value.actionSent, 'on');
    assert.match(result.value.evidence, /powered on instead of reset/);
  }
  assert.deepEqual(chassis.sent, ['on']);
});

test('the chain failure kind prefers a retryable failure, then anything but unsupported', () => {
  const attempt = (kind: 'auth' | 'unreachable' | 'unsupported') => ({
    driver: kind, type: kind, endpoint: 'x', outcome: 'failed' as const, failure: { kind, message: `web01: ${kind}: m` }, startedAt: '', elapsedMs: 0, calls: [],
  });
  assert.equal(chainFailure('web01', 'power.set', [attempt('auth'), attempt('unreachable')]).kind, 'unreachable');
  assert.equal(chainFailure('web01', 'power.set', [attempt('unsupported'), attempt('auth')]).kind, 'auth');
  assert.equal(chainFailure('web01', 'power.set', [attempt('unsupported')]).kind, 'unsupported');
  assert.equal(chainFailure('web01', 'power.set', []).kind, 'invalid-config');
  assert.equal(chainFailure('web01', 'power.set', [attempt('auth')]).message, 'web01: power.set failed with every driver tried: [auth] auth: m');
});

test('boot readings: device must match, mode where the BMC says it is in effect', () => {
  const reading = { device: 'pxe' as const, uefi: true, persistent: false, overrideActive: true, reported: 'Pxe' };
  assert.deepEqual(compareBootReading({ device: 'pxe', uefi: true }, reading), { matches: true, warnings: [] });
  assert.equal(compareBootReading({ device: 'disk', uefi: true }, reading).matches, false);
  assert.equal(compareBootReading({ device: 'pxe', uefi: false }, reading).matches, false);
  const notValid = compareBootReading({ device: 'pxe', uefi: true }, { ...reading, uefi: false, overrideActive: false });
  assert.equal(notValid.matches, true);
  assert.match(notValid.warnings[0] ?? '', /not valid/);
  assert.match(compareBootReading({ device: 'pxe', uefi: true }, { ...reading, persistent: true }).warnings[0] ?? '', /persistent/);
});

test("a rescue's power cycles are counted: on, cycle and reset that reached the machine, not off nor an on of a machine already on", async () => {
  const chassis = new FakeChassis();
  const unreachable = (): BmcDriver => ({
    name: 'down',
    getPowerState: async () => {
      throw new BmcError('unreachable', { systemName: 'web01', driver: 'down' }, 'no answer');
    },
    setPowerState: async () => ({ commands: [], observedOff: false }),
  });
  const counted: RescuePowerCycle[] = [];
  const power = (type: string) =>
    createSystemPower({
      loadTargets: async () => [target(type, { readback_timeout: '0.2' })],
      recordEvent: async () => undefined,
      countPowerCycle: async (cycle) => {
        counted.push(cycle);
      },
      clientOptions: { registry: registryWith({ fake: () => chassis.driver('fake'), down: unreachable, liar: () => new FakeChassis({ stuck: true }).driver('liar') }) },
    });
  const rescue = { workflowId: 'rescue-web01' };
  await power('fake').set('web01', 'on', undefined, rescue);
  await power('fake').set('web01', 'on', undefined, rescue);
  await power('fake').set('web01', 'off', undefined, rescue);
  await power('fake').set('web01', 'reset', undefined, rescue);
  await power('fake').set('web01', 'cycle', undefined, rescue);
  await power('fake').set('web01', 'on', undefined);
  assert.deepEqual(counted.map((cycle) => cycle.action), ['on', 'reset', 'cycle'], 'the second on found it on; off powers nothing up; the last has no rescue');
  assert.deepEqual(counted[0], { systemName: 'web01', rescueWorkflowId: 'rescue-web01', action: 'on' });
  counted.length = 0;
  // A BMC that took the command but never showed the state may have cycled the machine; one never reached did not.
  assert.equal((await power('liar').set('web01', 'on', undefined, rescue)).ok, false);
  assert.equal((await power('down').set('web01', 'on', undefined, rescue)).ok, false);
  assert.deepEqual(counted.map((cycle) => cycle.action), ['on']);
});

test('a power cycle that cannot be counted does not fail the operation the BMC made: it is said', async () => {
  const chassis = new FakeChassis();
  const warnings: string[] = [];
  const power = createSystemPower({
    loadTargets: async () => [target('fake')],
    recordEvent: async () => undefined,
    countPowerCycle: async () => {
      throw new Error('canceling statement due to statement timeout');
    },
    warn: (line) => warnings.push(line),
    clientOptions: { registry: registryWith({ fake: () => chassis.driver('fake') }) },
  });
  const result = await power.set('web01', 'on', undefined, { workflowId: 'rescue-web01' });
  assert.equal(result.ok, true);
  assert.deepEqual(chassis.sent, ['on']);
  assert.deepEqual(warnings, ["the power on of web01 by rescue-web01 is not counted toward the guard's limit of power cycles per hour: canceling statement due to statement timeout"]);
});
