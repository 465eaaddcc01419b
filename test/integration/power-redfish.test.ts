// The Redfish driver against sushy-tools' emulator (fake systems driver) over HTTPS with a self-signed
// certificate on 127.0.0.1. The fake driver applies power changes 1 to 11 s after the request, like hardware.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { startSushyEmulator, type SushyBmc } from '../../lab/bmc/sushy.js';
import { PowerClient, type BmcTarget } from '../../power/index.js';
import { value } from '../support/power-results.js';

let bmc: SushyBmc;

before(async () => {
  bmc = await startSushyEmulator();
});

after(async () => {
  await bmc?.stop();
});

function redfish(options: Record<string, string> = { verify_tls: 'false' }, overrides: Partial<BmcTarget> = {}): BmcTarget {
  return {
    systemName: 'web02',
    type: 'redfish',
    address: bmc.url,
    username: bmc.username,
    password: bmc.password,
    options: { readback_interval: '0.5', retry_delay: '0.2', ...options },
    ...overrides,
  };
}

test('TLS verification is on by default: the self-signed emulator is refused, once, with a clear error', async () => {
  const result = await new PowerClient([redfish({})]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'tls');
    assert.match(result.failure.message, /TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate\)/);
    assert.match(result.failure.message, /verify_tls=false/);
  }
  assert.equal(result.record.attempts[0]?.calls.length, 1);
});

test('the certificate is accepted when given as ca_file (a file in the server\'s RESCUED_CA_DIR), verification still on', async () => {
  const before = process.env['RESCUED_CA_DIR'];
  process.env['RESCUED_CA_DIR'] = dirname(bmc.certificatePath);
  try {
    assert.equal(value(await new PowerClient([redfish({ ca_file: basename(bmc.certificatePath) })]).getPowerState()), 'off');
    const path = await new PowerClient([redfish({ ca_file: bmc.certificatePath })]).getPowerState();
    assert.equal(path.ok, false, 'a path is not a ca_file');
    if (!path.ok) assert.match(path.failure.message, /ca_file=".*" is not a file name/);
  } finally {
    if (before === undefined) delete process.env['RESCUED_CA_DIR'];
    else process.env['RESCUED_CA_DIR'] = before;
  }
});

test('verify_tls=false (or insecure=true) accepts the self-signed certificate', async () => {
  const result = await new PowerClient([redfish({ insecure: 'true' })]).getPowerState();
  assert.equal(value(result), 'off');
  assert.deepEqual(result.record.attempts[0]?.calls.map((call) => call.description), [
    'GET /redfish/v1/',
    'GET /redfish/v1/Systems',
    `GET /redfish/v1/Systems/${bmc.systemId}`,
  ]);
});

test('a wrong password is an auth error, not retried', async () => {
  const result = await new PowerClient([redfish({ verify_tls: 'false', retries: '2' }, { password: 'not-the-password' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'auth');
    assert.match(result.failure.message, /GET \/redfish\/v1\/Systems \(authenticated by basic\) \(BMC said: HTTP 401/);
  }
  const failed = result.record.attempts[0]?.calls.filter((call) => call.failure) ?? [];
  assert.deepEqual(failed.map((call) => [call.description, call.try]), [['GET /redfish/v1/Systems', 1]]);
});

test('on, one-time PXE boot in UEFI mode, cycle without PowerCycle (ForceOff then On), soft off', async (t) => {
  let started = performance.now();
  const on = value(await new PowerClient([redfish()]).setPowerState('on'));
  t.diagnostic(`On confirmed in ${Math.round(performance.now() - started)} ms`);
  assert.deepEqual(on.commands, ['ResetType=On']);
  assert.equal(on.stateAfter, 'on');

  const boot = value(await new PowerClient([redfish()]).setBootDevice({ device: 'pxe', uefi: true }));
  assert.equal(boot.confirmed, true);
  assert.equal(boot.reading?.device, 'pxe');
  assert.equal(boot.reading?.uefi, true);
  // sushy-tools always keeps overrides "Continuous": recorded as a warning, not hidden.
  assert.match(boot.warnings.join(' '), /persistent/);

  started = performance.now();
  const cycle = value(await new PowerClient([redfish()]).setPowerState('cycle'));
  t.diagnostic(`cycle (ForceOff, wait, On) confirmed in ${Math.round(performance.now() - started)} ms`);
  assert.deepEqual(cycle.commands, ['ResetType=ForceOff', 'ResetType=On']);
  assert.equal(cycle.observedOff, true);
  assert.equal(cycle.stateAfter, 'on');

  const soft = value(await new PowerClient([redfish()]).setPowerState('soft'));
  assert.deepEqual(soft.commands, ['ResetType=GracefulShutdown']);
  assert.equal(soft.stateAfter, 'off');
});

test('a system id that does not exist is invalid-config', async () => {
  const result = await new PowerClient([redfish({ verify_tls: 'false', system_id: 'no-such-system' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.failure.kind, 'invalid-config');
});

test('the emulator has no event log: unsupported', async () => {
  const result = await new PowerClient([redfish()]).readSystemEventLog();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'unsupported');
    assert.match(result.failure.message, /has no LogServices/);
  }
});
