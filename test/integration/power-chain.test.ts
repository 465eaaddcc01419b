// A machine with Redfish first and IPMI second: Redfish is down, IPMI does the work, the record shows both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { freeTcpPort } from '../../lab/bmc/ports.js';
import { PowerClient, type BmcTarget } from '../../power/index.js';

let bmc: IpmiSimBmc;
let redfishDown: BmcTarget;
let ipmi: BmcTarget;

before(async () => {
  bmc = await startIpmiSim();
  redfishDown = {
    systemName: 'web04',
    type: 'redfish',
    address: `https://127.0.0.1:${await freeTcpPort()}`,
    username: 'root',
    password: 'calvin',
    options: { retries: '2', retry_delay: '0.1' },
  };
  ipmi = {
    systemName: 'web04',
    type: 'ipmi',
    address: bmc.host,
    port: bmc.port,
    username: bmc.username,
    password: bmc.password,
    options: { readback_interval: '0.1' },
  };
});

after(async () => {
  await bmc?.stop();
});

test('Redfish down, IPMI used; the record shows who failed and why, and who succeeded', async () => {
  const result = await new PowerClient([redfishDown, ipmi]).setPowerState('on');
  assert.equal(result.ok, true);
  assert.equal(bmc.readChassis().power, 'on');

  const { record } = result;
  assert.equal(record.systemName, 'web04');
  assert.equal(record.operation, 'power.set');
  assert.deepEqual(record.request, { action: 'on' });
  assert.equal(record.succeededWith, 'ipmitool');
  const [redfish, ipmitool] = record.attempts;
  assert.equal(redfish?.driver, 'redfish');
  assert.equal(redfish?.outcome, 'failed');
  assert.equal(redfish?.failure?.kind, 'unreachable');
  assert.match(redfish?.failure?.message ?? '', /^web04: redfish: cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  assert.deepEqual(redfish?.calls.map((call) => [call.description, call.try]), [
    ['GET /redfish/v1/', 1],
    ['GET /redfish/v1/', 2],
    ['GET /redfish/v1/', 3],
  ]);
  assert.equal(ipmitool?.driver, 'ipmitool');
  assert.equal(ipmitool?.outcome, 'succeeded');
  assert.equal(ipmitool?.failure, undefined);
  // What goes into the event log and the rescue's history: plain JSON, no secret.
  const stored = JSON.stringify(record);
  assert.deepEqual(JSON.parse(stored), record);
  assert.ok(!stored.includes(bmc.password) && !stored.includes('calvin'));
});

test('the boot device through the same chain', async () => {
  const result = await new PowerClient([redfishDown, ipmi]).setBootDevice({ device: 'pxe', uefi: false });
  assert.equal(result.ok, true);
  assert.deepEqual(result.record.attempts.map((attempt) => [attempt.driver, attempt.outcome]), [['redfish', 'failed'], ['ipmitool', 'succeeded']]);
  assert.equal(bmc.readChassis().bootDevice, 'pxe');
});

test('every driver failing gives the retryable kind and names each', async () => {
  const wrongIpmi = { ...ipmi, password: 'not-the-password' };
  const result = await new PowerClient([redfishDown, wrongIpmi]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'unreachable');
    assert.match(result.failure.message, /^web04: power\.get failed with every driver tried: \[redfish\] redfish: cannot reach .*; \[ipmitool\] ipmitool: .*refused the password/);
  }
  assert.deepEqual(result.record.attempts.map((attempt) => attempt.failure?.kind), ['unreachable', 'auth']);
});
