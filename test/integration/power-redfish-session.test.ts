// What sushy-tools does not offer, against lab/bmc/mini-redfish.ts: session auth (created, used, deleted),
// the fallback to basic auth, ResetType from an ActionInfo (PowerCycle), If-Match on PATCH, the SEL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMiniRedfish, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { createSelfSignedCertificate } from '../../lab/bmc/self-signed.js';
import { PowerClient, type BmcTarget } from '../../power/index.js';
import { value } from '../support/power-results.js';

const USERNAME = 'operator';
const PASSWORD = 'correct horse';
let certificates: string;
let bmc: MiniRedfishBmc;

before(async () => {
  certificates = mkdtempSync(join(tmpdir(), 'rescued-mini-redfish-'));
  bmc = await startMiniRedfish({ username: USERNAME, password: PASSWORD, tls: createSelfSignedCertificate(certificates) });
});

after(async () => {
  await bmc?.stop();
  rmSync(certificates, { recursive: true, force: true });
});

function redfish(overrides: Partial<BmcTarget> = {}, options: Record<string, string> = {}): BmcTarget {
  return {
    systemName: 'db01',
    type: 'redfish',
    address: bmc.url,
    username: USERNAME,
    password: PASSWORD,
    options: { verify_tls: 'false', readback_interval: '0.05', retry_delay: '0.05', ...options },
    ...overrides,
  };
}

test('a session is created, used for every request, and deleted after the operation', async () => {
  bmc.requests.length = 0;
  const result = await new PowerClient([redfish()]).getPowerState();
  assert.equal(value(result), 'off');
  assert.equal(bmc.openSessions(), 0);
  assert.deepEqual(bmc.requests.map((request) => `${request.method} ${request.path} ${request.auth}`), [
    'GET /redfish/v1 none',
    'POST /redfish/v1/SessionService/Sessions none',
    'GET /redfish/v1/Systems session',
    'GET /redfish/v1/Systems/1 session',
    'DELETE /redfish/v1/SessionService/Sessions/1 session',
  ]);
  assert.equal(result.record.attempts[0]?.calls.at(-1)?.description, 'DELETE /redfish/v1/SessionService/Sessions/1');
});

test('cycle uses PowerCycle, allowed by the ActionInfo, and the read-back sees the off', async () => {
  value(await new PowerClient([redfish()]).setPowerState('on'));
  const cycle = value(await new PowerClient([redfish()]).setPowerState('cycle'));
  assert.deepEqual(cycle.commands, ['ResetType=PowerCycle']);
  assert.equal(cycle.observedOff, true);
  assert.equal(bmc.power, 'On');
  assert.deepEqual(bmc.powerEvents, ['On', 'PowerCycle']);
  assert.equal(bmc.openSessions(), 0);
});

test('one-time PXE in UEFI mode is patched with If-Match and confirmed without warnings', async () => {
  bmc.requests.length = 0;
  const boot = value(await new PowerClient([redfish()]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(boot.confirmed, true);
  assert.deepEqual(boot.warnings, []);
  assert.deepEqual(bmc.boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
  assert.match(bmc.requests.find((request) => request.method === 'PATCH')?.ifMatch ?? '', /^W\/"\d+"$/);
  const legacyDisk = value(await new PowerClient([redfish()]).setBootDevice({ device: 'disk', uefi: false }));
  assert.equal(legacyDisk.reading?.uefi, false);
  assert.deepEqual(bmc.boot, { target: 'Hdd', enabled: 'Once', mode: 'Legacy' });
});

test('the event log, entries listed or fetched one by one', async () => {
  const entries = value(await new PowerClient([redfish()]).readSystemEventLog());
  assert.deepEqual(entries, [
    { id: '1', timestamp: '2026-01-02T03:04:05Z', sensor: 'Memory', event: 'Correctable ECC', state: 'Warning' },
    { id: '2', timestamp: '2026-01-02T03:05:00Z', sensor: 'Temperature', event: 'Upper Critical going high', state: 'Critical' },
  ]);
});

test('a refused session falls back to basic auth; refused again, it is auth, tried once', async () => {
  bmc.requests.length = 0;
  const result = await new PowerClient([redfish({ password: 'wrong' }, { retries: '3' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'auth');
    assert.match(result.failure.message, /db01: power\.get failed with every driver tried: \[redfish\] redfish: GET \/redfish\/v1\/Systems \(authenticated by basic\) \(BMC said: HTTP 401: Authentication required\)/);
  }
  assert.deepEqual(bmc.requests.map((request) => `${request.method} ${request.path} ${request.auth}`), [
    'GET /redfish/v1 none',
    'POST /redfish/v1/SessionService/Sessions none',
    'GET /redfish/v1/Systems rejected',
  ]);
});

test('auth=basic skips the session', async () => {
  bmc.requests.length = 0;
  value(await new PowerClient([redfish({}, { auth: 'basic' })]).getPowerState());
  assert.deepEqual(bmc.requests.map((request) => request.auth), ['none', 'basic', 'basic']);
});

test('plain http only when the address says http://', async () => {
  const plain = await startMiniRedfish({ username: USERNAME, password: PASSWORD });
  try {
    assert.equal(value(await new PowerClient([redfish({ address: plain.url })]).getPowerState()), 'off');
    const port = new URL(plain.url).port;
    const https = await new PowerClient([redfish({ address: `127.0.0.1:${port}` }, { retries: '0' })]).getPowerState();
    assert.equal(https.ok, false);
    if (!https.ok) assert.equal(https.failure.kind, 'tls');
  } finally {
    await plain.stop();
  }
});
