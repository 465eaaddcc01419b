// The fence agent driver with fence_ipmilan (Cobbler's power type "ipmilan") against ipmi_sim on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { freeUdpPort } from '../../lab/bmc/ports.js';
import { PowerClient, type BmcTarget } from '../../power/index.js';
import { value } from '../support/power-results.js';

let bmc: IpmiSimBmc;

before(async () => {
  bmc = await startIpmiSim();
});

after(async () => {
  await bmc?.stop();
});

function ipmilan(overrides: Partial<BmcTarget> = {}, options: Record<string, string> = {}): BmcTarget {
  return {
    systemName: 'web03',
    type: 'ipmilan',
    address: bmc.host,
    port: bmc.port,
    username: bmc.username,
    password: bmc.password,
    // lanplus and cipher are fence_ipmilan's own options, passed through as they are.
    options: { lanplus: '1', cipher: '3', readback_interval: '0.1', retry_delay: '0.2', ...options },
    ...overrides,
  };
}

test('status through fence_ipmilan', async (t) => {
  const started = performance.now();
  const result = await new PowerClient([ipmilan()]).getPowerState();
  t.diagnostic(`fence_ipmilan status: ${Math.round(performance.now() - started)} ms`);
  assert.equal(value(result), 'off');
  assert.equal(result.record.succeededWith, 'fence_ipmilan');
});

test('on, then cycle (the agent reboots: off then on), then off', async (t) => {
  assert.equal(value(await new PowerClient([ipmilan()]).setPowerState('on')).stateAfter, 'on');
  assert.equal(bmc.readChassis().power, 'on');

  const eventsBefore = bmc.readEvents().length;
  const started = performance.now();
  const cycle = value(await new PowerClient([ipmilan()]).setPowerState('cycle'));
  t.diagnostic(`fence_ipmilan reboot confirmed in ${Math.round(performance.now() - started)} ms`);
  assert.deepEqual(cycle.commands, ['fence_ipmilan action=reboot']);
  assert.equal(cycle.stateAfter, 'on');
  assert.deepEqual(bmc.readEvents().slice(eventsBefore).map((event) => event.action), ['power-off', 'power-on']);

  assert.equal(value(await new PowerClient([ipmilan()]).setPowerState('off')).stateAfter, 'off');
  assert.equal(bmc.readChassis().power, 'off');
});

test('fence agents set no boot device and have no graceful shutdown', async () => {
  const boot = await new PowerClient([ipmilan()]).setBootDevice({ device: 'pxe', uefi: false });
  assert.equal(boot.ok, false);
  assert.equal(boot.record.attempts[0]?.outcome, 'skipped');
  if (!boot.ok) assert.equal(boot.failure.kind, 'unsupported');

  await new PowerClient([ipmilan()]).setPowerState('on');
  const soft = await new PowerClient([ipmilan()]).setPowerState('soft');
  assert.equal(soft.ok, false);
  if (!soft.ok) assert.match(soft.failure.message, /fence agents have no graceful shutdown/);
  assert.equal(bmc.readChassis().power, 'on');
});

test('a wrong password is an auth error, tried once', async () => {
  const result = await new PowerClient([ipmilan({ password: 'not-the-password' }, { retries: '2' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'auth');
    assert.match(result.failure.message, /the BMC answers RMCP ping but refused the IPMI session/);
  }
  assert.equal(result.record.attempts[0]?.calls.length, 1);
});

test('a BMC that is down is retried, then fails as timeout or unreachable', async () => {
  const silentPort = await freeUdpPort();
  const result = await new PowerClient([ipmilan({ port: silentPort }, { retries: '1', power_timeout: '2' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) assert.ok(['timeout', 'unreachable'].includes(result.failure.kind), result.failure.message);
  assert.deepEqual(result.record.attempts[0]?.calls.map((call) => call.try), [1, 2]);
});
