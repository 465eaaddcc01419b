// Power through the inventory, the API and rescuectl, against OpenIPMI's ipmi_sim on loopback: the BMC's
// password comes from the encrypted inventory, the state is read back, the record lands in the events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';

const [database] = testDatabases();

describe('power through the API and the CLI (ipmi_sim)', () => {
  let api: TestApi;
  let bmc: IpmiSimBmc;
  const cli = (...args: string[]) => runRescuectl(args, { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });

  before(async () => {
    api = await startTestApi(database!);
    bmc = await startIpmiSim({ initialPower: 'off' });
    await api.request('POST', '/api/v1/distros', { body: { name: 'd', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' } });
    await api.request('POST', '/api/v1/profiles', { body: { name: 'p', distro: 'd' } });
    const power = (password: string) => [{ type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password, options: { retries: '0', readback_timeout: '20' } }];
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'node1', profile: 'p', interfaces: [{ mac: '52:54:00:00:01:01' }], power: power(bmc.password) } })).status, 201);
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'badpass', profile: 'p', interfaces: [{ mac: '52:54:00:00:01:02' }], power: power('wrong-password') } })).status, 201);
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'nobmc', profile: 'p', interfaces: [{ mac: '52:54:00:00:01:03' }] } })).status, 201);
  });
  after(async () => {
    await bmc?.stop();
    await api?.close();
  });

  test('rescuectl power on / status / bootdev pxe / cycle, read back from the BMC', async () => {
    let result = await cli('power', 'on', 'node1');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /node1: power on done, now on \(via ipmitool\)/);
    assert.equal(bmc.readChassis().power, 'on');
    result = await cli('power', 'status', 'node1');
    assert.match(result.stdout, /node1: power on \(via ipmitool\)/);
    result = await cli('power', 'bootdev', 'node1', 'pxe');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(bmc.readChassis().bootDevice, 'pxe');
    result = await cli('--json', 'power', 'cycle', 'node1');
    assert.equal(result.code, 0, result.stderr);
    const reply = JSON.parse(result.stdout) as { transition: { stateAfter: string }; record: { succeededWith: string } };
    assert.equal(reply.transition.stateAfter, 'on');
    assert.equal(reply.record.succeededWith, 'ipmitool');
    assert.ok(bmc.readEvents().some((e) => e.action === 'power-on' && e.bootDevice === 'pxe'), JSON.stringify(bmc.readEvents()));
    const events = await api.request('GET', '/api/v1/events?objectType=system&objectName=node1');
    const kinds = events.body.map((e: { kind: string }) => e.kind);
    assert.ok(kinds.includes('power.cycle') && kinds.includes('power.bootdev.pxe'), kinds.join(','));
    assert.equal(JSON.stringify(events.body).includes(bmc.password), false, 'no password in the record');
  });

  test('a wrong BMC password is an auth error naming the machine and the driver, not retried', async () => {
    const reply = await api.request('GET', '/api/v1/systems/badpass/power');
    assert.equal(reply.status, 502);
    assert.equal(reply.body.error, 'bmc-auth');
    assert.match(reply.body.message, /^badpass: .*ipmitool.*refused the password.*RAKP 2 HMAC is invalid/);
    assert.equal(reply.body.record.attempts[0].calls.length, 1, 'tried once');
    const result = await cli('power', 'status', 'badpass');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /badpass: .*ipmitool.*refused the password/);
  });

  test('bad requests: unknown system, no BMC, bad action, viewer role', async () => {
    assert.equal((await api.request('GET', '/api/v1/systems/ghost/power')).status, 404);
    const none = await api.request('POST', '/api/v1/systems/nobmc/power', { body: { action: 'on' } });
    assert.equal(none.status, 409);
    assert.match(none.body.message, /no BMC is configured/);
    const bad = await api.request('POST', '/api/v1/systems/node1/power', { body: { action: 'explode' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /action/);
    const usage = await cli('power', 'bootdev', 'node1', 'floppy');
    assert.equal(usage.code, 2);
    const viewer = await api.request('POST', '/api/v1/tokens', { body: { name: 'v', role: 'viewer' } });
    const denied = await api.request('POST', '/api/v1/systems/node1/power', { token: viewer.body.token, body: { action: 'off' } });
    assert.equal(denied.status, 403);
    assert.equal(bmc.readChassis().power, 'on', 'nothing was done');
  });
});
