// The Redfish driver against the vendor personalities of lab/bmc/mini-redfish.ts (lab/bmc/redfish/personalities.ts
// says where each quirk was read). Each test is one quirk of issue 8; each failed against the driver as it was
// before (noted where it did not: the Supermicro mode is a guard against a regression of the fix). After every
// test the emulator must hold no session: every path deletes what it created.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMiniRedfish, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { GENERIC, IDRAC10, IDRAC8, IDRAC9, ILO4, ILO5, ILO6, MULTI_NODE, OPENBMC, SUPERMICRO, XCC, type RedfishPersonality } from '../../lab/bmc/redfish/personalities.js';
import { KeyedSemaphore, PowerClient, type BmcTarget, type PowerChainResult } from '../../power/index.js';
import { value } from '../support/power-results.js';

const USERNAME = 'operator';
const PASSWORD = 'correct horse';
const running: MiniRedfishBmc[] = [];

afterEach(async () => {
  const open = running.map((bmc) => `${bmc.personality.name}: ${bmc.openSessions()}`);
  await Promise.all(running.splice(0).map((bmc) => bmc.stop()));
  assert.ok(open.every((line) => line.endsWith(': 0')), `sessions left open on the emulator: ${open.join(', ')}`);
});

async function start(personality: RedfishPersonality): Promise<MiniRedfishBmc> {
  const bmc = await startMiniRedfish({ username: USERNAME, password: PASSWORD, personality });
  running.push(bmc);
  return bmc;
}

function target(bmc: MiniRedfishBmc, options: Record<string, string> = {}, overrides: Partial<BmcTarget> = {}): BmcTarget {
  return {
    systemName: 'db01',
    type: 'redfish',
    address: bmc.url,
    username: USERNAME,
    password: PASSWORD,
    options: { readback_interval: '0.05', retry_delay: '0.05', readback_timeout: '5', ...options },
    ...overrides,
  };
}

function failure<T>(result: PowerChainResult<T>): { kind: string; message: string } {
  if (result.ok) assert.fail('expected a failure');
  return result.failure;
}

const patches = (bmc: MiniRedfishBmc) => bmc.requests.filter((request) => request.method === 'PATCH');

test('iDRAC 8: BootSourceOverrideMode is read-only, so the one-time PXE leaves it out', async () => {
  const bmc = await start(IDRAC8);
  const boot = value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(boot.confirmed, true);
  assert.deepEqual(bmc.boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
  assert.deepEqual(patches(bmc).map((request) => request.body), [{ Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } }]);
  assert.equal(patches(bmc)[0]?.path, '/redfish/v1/Systems/System.Embedded.1');
});

test('iDRAC 8: a mode change it refuses is an unsupported error naming the BMC, the property and what it said', async () => {
  const bmc = await start(IDRAC8);
  const result = await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: false });
  const { kind, message } = failure(result);
  assert.equal(kind, 'unsupported');
  assert.match(message, /at http:\/\/127\.0\.0\.1:\d+: the system boots UEFI and BootSourceOverrideMode is read-only on this BMC/);
  assert.match(message, /BMC said: HTTP 400: .*read-only and depends on other attributes/);
  assert.equal(bmc.boot.target, 'None');
});

test('iLO 5: one-time PXE without the read-only mode; the event log is the IML', async () => {
  const bmc = await start(ILO5);
  value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(patches(bmc).length, 1);
  assert.equal('BootSourceOverrideMode' in ((patches(bmc)[0]?.body?.['Boot'] as Record<string, unknown>) ?? {}), false);
  const entries = value(await new PowerClient([target(bmc)]).readSystemEventLog());
  assert.deepEqual(entries.map((entry) => entry.id), ['1', '2', '3']);
  assert.ok(bmc.requests.some((request) => request.path === '/redfish/v1/Systems/1/LogServices/IML/Entries'));
});

test('Supermicro: the mode is always sent (it falls back to Legacy otherwise) [guard: the old driver sent it too]', async () => {
  const bmc = await start(SUPERMICRO);
  value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.deepEqual(bmc.boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
  assert.equal((patches(bmc)[0]?.body?.['Boot'] as Record<string, unknown>)['BootSourceOverrideMode'], 'UEFI');
});

test('Lenovo XCC: the ETag is the body\'s @odata.etag, and without If-Match it answers 428', async () => {
  const bmc = await start(XCC);
  value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.deepEqual(patches(bmc).map((request) => [request.ifMatch, request.status]), [['W/"1"', 204]]);
});

test('a 412 is retried once with a fresh ETag', async () => {
  const bmc = await start(GENERIC);
  bmc.bumpEtagBeforeNextPatch();
  value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'disk', uefi: true }));
  assert.deepEqual(patches(bmc).map((request) => [request.ifMatch, request.status]), [['W/"1"', 412], ['W/"2"', 204]]);
});

test('a weak ETag that a strict BMC never matches is sent again in its strong form', async () => {
  const bmc = await start({ ...GENERIC, name: 'weakened-etag', etag: { where: 'header', weak: true, required: false, strongComparison: true } });
  value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.deepEqual(patches(bmc).map((request) => [request.ifMatch, request.status]), [['W/"1"', 412], ['"1"', 204]]);
});

test('iDRAC 8: the SEL is under Managers/iDRAC.Embedded.1/LogServices/Sel', async () => {
  const bmc = await start(IDRAC8);
  const entries = value(await new PowerClient([target(bmc)]).readSystemEventLog());
  assert.deepEqual(entries.map((entry) => entry.event), ['Log area reset/cleared', 'Correctable ECC', 'Upper Critical going high']);
  assert.ok(bmc.requests.some((request) => request.path === '/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Sel/Entries'));
});

test('paged event logs: every page is read and the newest 500 entries are kept (oldest first, newest last)', async () => {
  for (const personality of [OPENBMC, IDRAC9]) {
    const bmc = await start(personality);
    bmc.addLogEntries(600);
    const entries = value(await new PowerClient([target(bmc)]).readSystemEventLog());
    assert.equal(entries.length, 500, personality.name);
    assert.equal(entries[0]?.id, '104', personality.name);
    assert.equal(entries.at(-1)?.id, '603', personality.name);
    assert.ok(bmc.requests.filter((request) => request.path.endsWith('/Entries')).length > 10, personality.name);
  }
});

test('multi-node chassis: no system_id and nothing to match is invalid-config listing the members', async () => {
  const bmc = await start(MULTI_NODE);
  const { kind, message } = failure(await new PowerClient([target(bmc)]).getPowerState());
  assert.equal(kind, 'invalid-config');
  assert.match(message, /serves 4 systems and nothing says which is this machine/);
  assert.match(message, /\/redfish\/v1\/Systems\/Node1 \(UUID 6e6f6465-0000-4000-8000-000000000001, serial NODE0001\).*Node4/);
});

test('multi-node chassis: the system is chosen by the machine\'s MAC, UUID or serial, or system_id', async () => {
  const bmc = await start(MULTI_NODE);
  bmc.systems.get('Node3')!.power = 'On';
  const byMac = await new PowerClient([target(bmc, {}, { identity: { macs: ['52:54:00:20:00:03', '52:54:00:99:99:99'] } })]).getPowerState();
  assert.equal(value(byMac), 'on');
  assert.equal(value(await new PowerClient([target(bmc, { system_uuid: '6E6F6465-0000-4000-8000-000000000003' })]).getPowerState()), 'on');
  assert.equal(value(await new PowerClient([target(bmc, { system_serial: 'node0003' })]).getPowerState()), 'on');
  assert.equal(value(await new PowerClient([target(bmc, { system_id: 'Node2' })]).getPowerState()), 'off');
  const ambiguous = failure(await new PowerClient([target(bmc, { system_mac: '52:54:00:10:00:01,52:54:00:10:00:02' })]).getPowerState());
  assert.equal(ambiguous.kind, 'invalid-config');
  assert.match(ambiguous.message, /2 systems match MAC .*Node1, .*Node2/);
});

test('reset without ForceRestart or PowerCycle is ForceOff, then On', async () => {
  const bmc = await startMiniRedfish({ username: USERNAME, password: PASSWORD, resetTypes: ['On', 'ForceOff', 'GracefulShutdown'] });
  running.push(bmc);
  bmc.power = 'On';
  const reset = value(await new PowerClient([target(bmc)]).setPowerState('reset'));
  assert.deepEqual(reset.commands, ['ResetType=ForceOff', 'ResetType=On']);
  assert.equal(reset.observedOff, true);
  assert.equal(bmc.power, 'On');
});

test('iLO 4: soft off without GracefulShutdown is a press of the power button', async () => {
  const bmc = await start(ILO4);
  bmc.power = 'On';
  const soft = value(await new PowerClient([target(bmc)]).setPowerState('soft'));
  assert.deepEqual(soft.commands, ['ResetType=PushPowerButton']);
  assert.equal(bmc.power, 'Off');
});

test('Supermicro: an empty AllowableValues means the standard list; a ResetType it refuses is replaced', async () => {
  const bmc = await start(SUPERMICRO);
  bmc.power = 'On';
  const cycle = value(await new PowerClient([target(bmc)]).setPowerState('cycle'));
  assert.deepEqual(cycle.commands, ['ResetType=ForceOff', 'ResetType=On']);
  assert.deepEqual(bmc.powerEvents, ['ForceOff', 'On']);
});

test('iLO 6: an ActionInfo that answers 404 means the standard list; the reset runs as a polled task', async () => {
  const bmc = await start(ILO6);
  bmc.power = 'On';
  const reset = value(await new PowerClient([target(bmc)]).setPowerState('reset'));
  assert.deepEqual(reset.commands, ['ResetType=ForceRestart']);
  assert.ok(bmc.requests.some((request) => request.path.startsWith('/redfish/v1/TaskService/TaskMonitors/') && request.status === 202));
  assert.deepEqual(bmc.powerEvents, ['ForceRestart']);
});

test('a task that ends in Exception is a rejected error with the task\'s message, without waiting for the read-back', async () => {
  const bmc = await start(ILO6);
  bmc.failNextTask('Power action could not be completed: server in POST');
  const started = performance.now();
  const { kind, message } = failure(await new PowerClient([target(bmc, { readback_timeout: '30' })]).setPowerState('on'));
  assert.equal(kind, 'rejected');
  assert.match(message, /the task \/redfish\/v1\/TaskService\/TaskMonitors\/\d+ ended Exception \(BMC said: Power action could not be completed: server in POST\)/);
  assert.ok(performance.now() - started < 10000);
});

test('a login reply without a token: the session it made is deleted and basic auth is used', async () => {
  const bmc = await start({ ...GENERIC, name: 'no-token', sessions: { ...GENERIC.sessions, tokenInReply: false } });
  assert.equal(value(await new PowerClient([target(bmc)]).getPowerState()), 'off');
  assert.equal(bmc.sessionsCreated, 1);
  assert.deepEqual(bmc.requests.map((request) => `${request.method} ${request.path} ${request.auth}`), [
    'GET /redfish/v1 none',
    'POST /redfish/v1/SessionService/Sessions none',
    'DELETE /redfish/v1/SessionService/Sessions/1 basic',
    'GET /redfish/v1/Systems basic',
    'GET /redfish/v1/Systems/1 basic',
  ]);
});

test('a login that times out is not retried (a retry would leave a second session on the BMC)', async () => {
  const bmc = await start(IDRAC9);
  bmc.delayNextLogin(1500);
  const { kind } = failure(await new PowerClient([target(bmc, { call_timeout: '0.3', retries: '3' })]).getPowerState());
  assert.equal(kind, 'timeout');
  assert.equal(bmc.requests.filter((request) => request.method === 'POST').length, 1);
  await new Promise((resolve) => setTimeout(resolve, 1300));
  assert.equal(bmc.openSessions(), 1, 'the BMC made the session it was asked for once');
  bmc.expireSessions(); // what the BMC's idle timeout does, later
});

test('iDRAC: when its 8 sessions are taken (RAC0218, 503), the operation falls back to basic auth', async () => {
  const bmc = await start(IDRAC9);
  const tokens: string[] = [];
  for (let index = 0; index < 8; index += 1) {
    const login = await fetch(`${bmc.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ UserName: USERNAME, Password: PASSWORD }) });
    tokens.push(login.headers.get('x-auth-token') ?? '');
  }
  const result = await new PowerClient([target(bmc)]).getPowerState();
  assert.equal(value(result), 'off');
  assert.deepEqual(bmc.requests.slice(-3).map((request) => `${request.method} ${request.path} ${request.auth} ${request.status}`), [
    'POST /redfish/v1/SessionService/Sessions none 503',
    'GET /redfish/v1/Systems basic 200',
    'GET /redfish/v1/Systems/System.Embedded.1 basic 200',
  ]);
  assert.equal(bmc.openSessions(), 8);
  bmc.expireSessions(); // the sessions this test took by hand
});

test('a session is deleted also when the operation fails after the login (no system matches)', async () => {
  const bmc = await start(MULTI_NODE);
  const { kind } = failure(await new PowerClient([target(bmc, { system_serial: 'NOT-HERE' })]).getPowerState());
  assert.equal(kind, 'invalid-config');
  assert.equal(bmc.sessionsCreated, 1);
  assert.equal(bmc.requests.at(-1)?.method, 'DELETE');
});

test('OpenBMC: a PowerState outside the schema mid-transition does not abort the read-back', async () => {
  const bmc = await start(OPENBMC);
  const on = value(await new PowerClient([target(bmc)]).setPowerState('on'));
  assert.equal(on.stateAfter, 'on');
  assert.ok(on.reads >= 1);
  const state = value(await new PowerClient([target(bmc)]).getPowerState());
  assert.equal(state, 'on');
});

test('a system without a Boot override: unsupported, and nothing is PATCHed', async () => {
  // IBM's bmcweb builds remove the Boot override properties (ibm-openbmc/bmcweb#939).
  const bmc = await start({ ...OPENBMC, name: 'no-boot', boot: null });
  const { kind, message } = failure(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(kind, 'unsupported');
  assert.match(message, /has no Boot\.BootSourceOverrideTarget: this BMC offers no one-time boot override over Redfish; nothing was sent/);
  assert.equal(patches(bmc).length, 0);
});

test('iDRAC 10: the override goes to the @Redfish.Settings object, with that object\'s ETag', async () => {
  const bmc = await start(IDRAC10);
  const boot = value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(boot.confirmed, true);
  assert.deepEqual(patches(bmc).map((request) => [request.path, request.status]), [['/redfish/v1/Systems/System.Embedded.1/Settings', 200]]);
});

test('iDRAC 9: "UefiTarget" read back after a Pxe override in UEFI mode is accepted, with a warning', async () => {
  const bmc = await start(IDRAC9);
  const boot = value(await new PowerClient([target(bmc, { readback_timeout: '1' })]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(boot.confirmed, true);
  assert.equal(boot.reading?.reported, 'UefiTarget (Once)');
  assert.match(boot.warnings.join('; '), /reports the network boot override as UefiTarget/);
});

test('a BMC that offers UefiHttp but not Pxe gets UefiHttp for a UEFI network boot', async () => {
  const bmc = await start({ ...GENERIC, name: 'http-boot', boot: { ...GENERIC.boot!, targets: ['None', 'Hdd', 'Cd', 'BiosSetup', 'UefiHttp'] } });
  const boot = value(await new PowerClient([target(bmc)]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(bmc.boot.target, 'UefiHttp');
  assert.equal(boot.confirmed, true);
  assert.match(boot.warnings.join('; '), /UEFI HTTP boot/);
});

test('a BMC busy for a while after ForceOff: the On is retried with backoff', async () => {
  const bmc = await start({ ...IDRAC8, name: 'busy-after-off', reset: { ...IDRAC8.reset, busyAfterOffMs: 700 } });
  bmc.power = 'On';
  const cycle = value(await new PowerClient([target(bmc)]).setPowerState('cycle'));
  assert.deepEqual(cycle.commands, ['ResetType=ForceOff', 'ResetType=On']);
  assert.ok(bmc.requests.some((request) => request.status === 503 && request.body?.['ResetType'] === 'On'));
  assert.equal(bmc.power, 'On');
});

test('an answer larger than 4 MiB is refused with a clear error', async () => {
  const bmc = await start(GENERIC);
  bmc.oversizedReplies = true;
  const { kind, message } = failure(await new PowerClient([target(bmc, { retries: '0' })]).getPowerState());
  assert.equal(kind, 'internal');
  assert.match(message, /GET \/redfish\/v1\/Systems\/1: the answer from http:\/\/127\.0\.0\.1:\d+ is larger than 4 MiB; not read/);
});

test('the per-BMC limit: 10 callers at once never hold more than bmc_concurrency sessions', async () => {
  const bmc = await start(IDRAC8);
  const limiter = new KeyedSemaphore();
  const results = await Promise.all(Array.from({ length: 10 }, () => new PowerClient([target(bmc, { bmc_concurrency: '3' })], { limiter }).getPowerState()));
  assert.ok(results.every((result) => result.ok));
  assert.equal(bmc.peakSessions, 3);
  assert.ok(results.some((result) => (result.record.attempts[0]?.queuedMs ?? 0) > 0));
});

test('the per-BMC limit is shared by every client of the process unless one is given its own', async () => {
  const bmc = await start(IDRAC9);
  const results = await Promise.all(Array.from({ length: 8 }, () => new PowerClient([target(bmc, { bmc_concurrency: '2' })]).getBootDevice()));
  assert.ok(results.every((result) => result.ok));
  assert.equal(bmc.peakSessions, 2);
});
