// The ipmitool driver where BMCs differ, against a real ipmi_sim on 127.0.0.1: a cipher suite the BMC does not
// offer (cipher=auto tries 17, which ipmi_sim refuses with "invalid authentication algorithm", then 3), and a
// reset while the chassis is off, which ipmi_sim refuses ("Unspecified error"; Supermicro and Dell answer
// "not supported in present state"): the driver powers on instead, as the rescue wants a fresh boot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { createIpmitoolDriver } from '../../power/drivers/ipmitool.js';
import { PowerClient, type BmcCallRecord, type BmcTarget } from '../../power/index.js';
import { value } from '../support/power-results.js';

let bmc: IpmiSimBmc;

before(async () => {
  bmc = await startIpmiSim({ initialPower: 'off' });
});

after(async () => {
  await bmc?.stop();
});

function ipmi(options: Record<string, string> = {}): BmcTarget {
  return {
    systemName: 'web03',
    type: 'ipmi',
    address: bmc.host,
    port: bmc.port,
    username: bmc.username,
    password: bmc.password,
    options: { readback_interval: '0.1', retry_delay: '0.1', ...options },
  };
}

test('cipher=auto: suite 17 refused by this BMC, suite 3 used for the rest of the operation', async () => {
  const result = await new PowerClient([ipmi({ cipher: 'auto' })]).setPowerState('on');
  value(result);
  const calls = result.record.attempts[0]?.calls ?? [];
  assert.equal(calls[0]?.description, 'ipmitool chassis power status');
  assert.equal(calls[0]?.failure?.kind, 'invalid-config');
  assert.match(calls[0]?.failure?.message ?? '', /cipher suite/);
  assert.equal(calls.filter((call) => call.failure).length, 1, 'suite 17 is tried once, not for every call');
  assert.equal(bmc.readChassis().power, 'on');
  value(await new PowerClient([ipmi()]).setPowerState('off'));
});

test('a cipher suite the BMC does not offer, given explicitly, is an invalid-config error naming the option', async () => {
  const result = await new PowerClient([ipmi({ cipher: '17', retries: '0' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'invalid-config');
    assert.match(result.failure.message, /does not offer this cipher suite \(option cipher\).*invalid authentication algorithm/);
  }
});

test('a reset refused while the chassis is off is a power on', async () => {
  assert.equal(bmc.readChassis().power, 'off');
  const calls: BmcCallRecord[] = [];
  const driver = createIpmitoolDriver(ipmi({ retries: '0' }));
  const receipt = await driver.setPowerState!('reset', { signal: AbortSignal.timeout(30000), recordCall: (call) => calls.push(call) });
  assert.deepEqual(receipt.commands, ['chassis power reset (refused while off)', 'chassis power on']);
  assert.deepEqual(calls.map((call) => [call.description, call.failure?.kind ?? 'ok']), [
    ['ipmitool chassis power reset', 'rejected'],
    ['ipmitool chassis power status', 'ok'],
    ['ipmitool chassis power on', 'ok'],
  ]);
  assert.equal(bmc.readChassis().power, 'on');
});
