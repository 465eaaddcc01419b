// `rescuectl power probe` and GET /api/v1/systems/<name>/power/probe, through the inventory and the API, against
// an iDRAC 9 personality of the Redfish emulator, a multi-node chassis, and a real ipmi_sim (cipher=auto: suite
// 17, which ipmi_sim refuses, then 3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { startMiniRedfish, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { IDRAC9, MULTI_NODE } from '../../lab/bmc/redfish/personalities.js';

const [database] = testDatabases();

describe('power probe through the API and the CLI', () => {
  let api: TestApi;
  let ipmi: IpmiSimBmc;
  let idrac: MiniRedfishBmc;
  let chassis: MiniRedfishBmc;
  const cli = (...args: string[]) => runRescuectl(args, { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });

  before(async () => {
    api = await startTestApi(database!);
    ipmi = await startIpmiSim({ initialPower: 'off' });
    idrac = await startMiniRedfish({ username: 'root', password: 'calvin', personality: IDRAC9 });
    chassis = await startMiniRedfish({ username: 'root', password: 'calvin', personality: MULTI_NODE });
    await api.request('POST', '/api/v1/distros', { body: { name: 'd', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' } });
    await api.request('POST', '/api/v1/profiles', { body: { name: 'p', distro: 'd' } });
    const redfish = (url: string, options: Record<string, string> = {}) => ({ type: 'redfish', address: url, user: 'root', password: 'calvin', options: { retries: '0', ...options } });
    const created = await api.request('POST', '/api/v1/systems', {
      body: {
        name: 'r640', profile: 'p', interfaces: [{ mac: '52:54:00:00:02:01' }],
        power: [redfish(idrac.url), { type: 'ipmi', address: ipmi.host, port: ipmi.port, user: ipmi.username, password: ipmi.password, options: { retries: '0', cipher: 'auto' } }],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // Node2 of the chassis has this NIC; blade-x has none of the chassis' NICs.
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'blade2', profile: 'p', interfaces: [{ mac: '52:54:00:20:00:02' }], power: [redfish(chassis.url)] } })).status, 201);
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'blade-x', profile: 'p', interfaces: [{ mac: '52:54:00:00:02:03' }], power: [redfish(chassis.url)] } })).status, 201);
  });
  after(async () => {
    await Promise.all([ipmi?.stop(), idrac?.stop(), chassis?.stop()]);
    await api?.close();
  });

  test('the API reports what each BMC is and offers, and leaves no session open', async () => {
    const reply = await api.request('GET', '/api/v1/systems/r640/power/probe');
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const [redfish, ipmiBmc] = reply.body.bmcs;
    assert.equal(redfish.ok, true);
    assert.equal(redfish.report.vendor, 'Dell');
    assert.equal(redfish.report.model, 'PowerEdge R640');
    assert.equal(redfish.report.firmware, '7.00.00.00');
    assert.equal(redfish.report.protocolVersion, '1.17.0');
    assert.equal(redfish.report.system, '/redfish/v1/Systems/System.Embedded.1');
    assert.ok(redfish.report.resetTypes.includes('PowerCycle'));
    assert.equal(redfish.report.bootOverride.supported, true);
    assert.ok(redfish.report.bootOverride.targets.includes('UefiHttp'));
    assert.equal(redfish.report.eventLog, '/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Sel');
    assert.equal(redfish.report.authentication, 'session (SessionService)');
    assert.equal(idrac.openSessions(), 0);

    assert.equal(ipmiBmc.ok, true, JSON.stringify(ipmiBmc));
    assert.equal(ipmiBmc.report.vendor, 'MontaVista Software, Inc.');
    assert.equal(ipmiBmc.report.protocolVersion, 'IPMI 2.0');
    assert.equal(ipmiBmc.report.powerState, 'off');
    assert.match(ipmiBmc.report.authentication, /lanplus, cipher suite 3/);
    assert.equal(ipmiBmc.report.bootOverride.supported, true);
  });

  test('rescuectl power probe prints it; on a shared BMC the machine\'s MAC from the inventory picks its system', async () => {
    const result = await cli('power', 'probe', 'r640');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /r640: redfish BMC at http:\/\/127\.0\.0\.1:\d+\n {2}vendor +Dell\n/);
    assert.match(result.stdout, /event log +\/redfish\/v1\/Managers\/iDRAC\.Embedded\.1\/LogServices\/Sel/);
    assert.match(result.stdout, /r640: ipmi BMC at 127\.0\.0\.1:\d+\n {2}vendor +MontaVista/);
    const blade = await api.request('GET', '/api/v1/systems/blade2/power/probe');
    assert.equal(blade.status, 200, JSON.stringify(blade.body));
    assert.equal(blade.body.bmcs[0].report.system, '/redfish/v1/Systems/Node2');
    assert.deepEqual(blade.body.bmcs[0].report.otherSystems, ['/redfish/v1/Systems/Node1', '/redfish/v1/Systems/Node3', '/redfish/v1/Systems/Node4']);
    const stranger = await api.request('GET', '/api/v1/systems/blade-x/power/probe');
    assert.equal(stranger.status, 502);
    assert.equal(stranger.body.error, 'bmc-invalid-config');
    assert.match(stranger.body.message, /serves 4 systems and no system matches MAC 52:54:00:00:02:03: set the power option system_id\. Members: /);
    assert.equal(chassis.openSessions(), 0);
  });

  test('viewers may not probe; unknown systems are 404', async () => {
    const viewer = await api.request('POST', '/api/v1/tokens', { body: { name: 'probe-viewer', role: 'viewer' } });
    assert.equal((await api.request('GET', '/api/v1/systems/r640/power/probe', { token: viewer.body.token })).status, 403);
    assert.equal((await api.request('GET', '/api/v1/systems/ghost/power/probe')).status, 404);
  });
});
