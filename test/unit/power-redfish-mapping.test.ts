import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionInfoAllowableValues,
  allowableValues,
  bootReadingFromRedfish,
  bootSourceOverrideTarget,
  planReset,
  powerStateFromRedfish,
  redfishErrorMessage,
} from '../../power/drivers/redfish-mapping.js';
import { parseRedfishEndpoint, transportError } from '../../power/drivers/redfish-http.js';
import { kindForStatus } from '../../power/drivers/redfish-connection.js';
import { readRedfishSettings } from '../../power/drivers/redfish.js';

const SUSHY_RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn'];

test('reset types: each action maps to what the BMC allows', () => {
  assert.deepEqual(planReset('on', SUSHY_RESET_TYPES), [{ resetType: 'On' }]);
  assert.deepEqual(planReset('off', SUSHY_RESET_TYPES), [{ resetType: 'ForceOff' }]);
  assert.deepEqual(planReset('soft', SUSHY_RESET_TYPES), [{ resetType: 'GracefulShutdown' }]);
  assert.deepEqual(planReset('reset', SUSHY_RESET_TYPES), [{ resetType: 'ForceRestart' }]);
  assert.deepEqual(planReset('on', ['ForceOn', 'ForceOff']), [{ resetType: 'ForceOn' }]);
});

test('cycle is PowerCycle when offered, else ForceOff, wait for off, then On', () => {
  assert.deepEqual(planReset('cycle', ['On', 'ForceOff', 'PowerCycle']), [{ resetType: 'PowerCycle' }]);
  assert.deepEqual(planReset('cycle', SUSHY_RESET_TYPES), [{ resetType: 'ForceOff', thenWaitFor: 'off' }, { resetType: 'On' }]);
  assert.deepEqual(planReset('cycle', ['ForceOff', 'ForceOn']), [{ resetType: 'ForceOff', thenWaitFor: 'off' }, { resetType: 'ForceOn' }]);
});

test('nothing that fits is null; a BMC that advertises nothing gets the standard list', () => {
  assert.equal(planReset('soft', ['On', 'ForceOff']), null);
  assert.equal(planReset('cycle', ['On', 'GracefulShutdown']), null);
  assert.equal(planReset('off', ['PushPowerButton']), null);
  assert.deepEqual(planReset('cycle', null), [{ resetType: 'PowerCycle' }]);
  assert.deepEqual(planReset('reset', ['PowerCycle', 'On']), [{ resetType: 'PowerCycle' }]);
});

test('power states, transitional ones counting as where the machine still is', () => {
  assert.equal(powerStateFromRedfish('On'), 'on');
  assert.equal(powerStateFromRedfish('Off'), 'off');
  assert.equal(powerStateFromRedfish('PoweringOn'), 'off');
  assert.equal(powerStateFromRedfish('PoweringOff'), 'on');
  assert.equal(powerStateFromRedfish(undefined), null);
});

test('boot override targets and readings', () => {
  assert.equal(bootSourceOverrideTarget('pxe'), 'Pxe');
  assert.equal(bootSourceOverrideTarget('disk'), 'Hdd');
  assert.equal(bootSourceOverrideTarget('bios'), 'BiosSetup');
  assert.deepEqual(bootReadingFromRedfish({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' }), {
    device: 'pxe', uefi: true, persistent: false, overrideActive: true, reported: 'Pxe (Once)',
  });
  assert.deepEqual(bootReadingFromRedfish({ BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideMode: 'Legacy' }), {
    device: 'disk', uefi: false, persistent: true, overrideActive: true, reported: 'Hdd (Continuous)',
  });
  assert.equal(bootReadingFromRedfish({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Disabled' }).device, 'none');
  assert.equal(bootReadingFromRedfish({ BootSourceOverrideTarget: 'Pxe' }).uefi, null);
  assert.equal(bootReadingFromRedfish({ BootSourceOverrideTarget: 'UefiHttp', BootSourceOverrideEnabled: 'Once' }).device, 'other');
});

test('allowable values, inline or from an ActionInfo', () => {
  assert.deepEqual(allowableValues({ 'ResetType@Redfish.AllowableValues': ['On', 3, 'ForceOff'] }, 'ResetType'), ['On', 'ForceOff']);
  assert.equal(allowableValues({ target: '/x' }, 'ResetType'), null);
  const info = { Parameters: [{ Name: 'Other', AllowableValues: ['x'] }, { Name: 'ResetType', AllowableValues: ['On', 'PowerCycle'] }] };
  assert.deepEqual(actionInfoAllowableValues(info, 'ResetType'), ['On', 'PowerCycle']);
  assert.equal(actionInfoAllowableValues({}, 'ResetType'), null);
});

test('Redfish error bodies', () => {
  const body = { error: { code: 'Base.1.8.GeneralError', message: 'A general error has occurred.', '@Message.ExtendedInfo': [{ Message: 'The action ComputerSystem.Reset is not supported.' }] } };
  assert.equal(redfishErrorMessage(body), 'A general error has occurred. / The action ComputerSystem.Reset is not supported.');
  assert.equal(redfishErrorMessage('not json'), '');
});

test('HTTP statuses map to kinds', () => {
  assert.equal(kindForStatus(200), null);
  assert.equal(kindForStatus(204), null);
  assert.equal(kindForStatus(401), 'auth');
  assert.equal(kindForStatus(403), 'auth');
  assert.equal(kindForStatus(404), 'unsupported');
  assert.equal(kindForStatus(404, 'invalid-config'), 'invalid-config');
  assert.equal(kindForStatus(405), 'unsupported');
  assert.equal(kindForStatus(503), 'unreachable');
  assert.equal(kindForStatus(409), 'rejected');
  assert.equal(kindForStatus(500), 'rejected');
});

test('endpoints: https by default, http only when written out', () => {
  assert.deepEqual(parseRedfishEndpoint('bmc.example.com', undefined), { protocol: 'https:', host: 'bmc.example.com', port: 443 });
  assert.deepEqual(parseRedfishEndpoint('10.0.0.7:8443', undefined), { protocol: 'https:', host: '10.0.0.7', port: 8443 });
  assert.deepEqual(parseRedfishEndpoint('https://10.0.0.7:8443', 9443), { protocol: 'https:', host: '10.0.0.7', port: 9443 });
  assert.deepEqual(parseRedfishEndpoint('http://127.0.0.1:8000', undefined), { protocol: 'http:', host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseRedfishEndpoint('fe80::1', undefined), { protocol: 'https:', host: 'fe80::1', port: 443 });
  assert.deepEqual(parseRedfishEndpoint('[fe80::1]:8443', undefined), { protocol: 'https:', host: 'fe80::1', port: 8443 });
  assert.equal(parseRedfishEndpoint('https://10.0.0.7/redfish/v1', undefined), null);
  assert.equal(parseRedfishEndpoint('https://user:pw@10.0.0.7', undefined), null);
});

test('a self-signed certificate is a tls error that says how to accept it', () => {
  const error = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  const failure = transportError(error, { protocol: 'https:', host: '127.0.0.1', port: 8443 }, { systemName: 'web02', driver: 'redfish' });
  assert.equal(failure.kind, 'tls');
  assert.match(failure.message, /^web02: redfish: TLS certificate of https:\/\/127\.0\.0\.1:8443 is not trusted/);
  assert.match(failure.message, /verify_tls=false/);
  const refused = transportError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), { protocol: 'https:', host: '127.0.0.1', port: 1 }, { systemName: 'web02', driver: 'redfish' });
  assert.equal(refused.kind, 'unreachable');
});

test('TLS verification is on unless verify_tls=false or insecure=true', () => {
  const target = { systemName: 'web02', type: 'redfish', address: '10.0.0.7', options: {} };
  assert.equal(readRedfishSettings(target).tls.verify, true);
  assert.equal(readRedfishSettings({ ...target, options: { verify_tls: 'false' } }).tls.verify, false);
  assert.equal(readRedfishSettings({ ...target, options: { insecure: 'true' } }).tls.verify, false);
  assert.equal(readRedfishSettings({ ...target, options: { verify_tls: 'true', insecure: 'no' } }).tls.verify, true);
  assert.throws(() => readRedfishSettings({ ...target, options: { verify_tls: 'maybe' } }), /verify_tls="maybe" is not valid/);
  assert.throws(() => readRedfishSettings({ ...target, options: { system_id: '../Managers/1' } }), /system_id/);
  // ca_file names a file in the server's CA folder (RESCUED_CA_DIR), never a path.
  assert.throws(() => readRedfishSettings({ ...target, options: { ca_file: '/nonexistent/ca.pem' } }), /ca_file="\/nonexistent\/ca.pem" is not a file name: it names a PEM file in the server's CA folder \(RESCUED_CA_DIR\)/);
  assert.throws(() => readRedfishSettings({ ...target, options: { ca_file: 'missing-ca.pem' } }), /ca_file=missing-ca.pem: cannot read .*\/missing-ca\.pem \(ENOENT\)/);
});
