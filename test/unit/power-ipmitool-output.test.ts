import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyIpmitoolResult,
  meaningfulStderr,
  parseBootFlags,
  parseChassisPowerStatus,
  parseSelElist,
  SEL_LOOKUP_NOISE,
} from '../../power/drivers/ipmitool-output.js';
import { ipmitoolArguments, readIpmitoolSettings } from '../../power/drivers/ipmitool.js';
import { BmcError } from '../../power/errors.js';

// Captured from ipmitool 1.8.19 -v against ipmi_sim (Debian bookworm).
const VERBOSE_PREAMBLE = [
  'Loading IANA PEN Registry...',
  'Running Get VSO Capabilities my_addr 0x20, transit 0, target 0x20',
  'Invalid completion code received: Invalid command',
  'Discovered IPMB address 0x0',
].join('\n');

test('the -v preamble is noise, including the VSO probe answer "Invalid command"', () => {
  assert.deepEqual(meaningfulStderr(`${VERBOSE_PREAMBLE}\n`), []);
  assert.equal(classifyIpmitoolResult(0, `${VERBOSE_PREAMBLE}\n`), null);
});

test('a wrong password is an auth failure', () => {
  const failure = classifyIpmitoolResult(1, 'Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n');
  assert.equal(failure?.kind, 'auth');
  assert.match(failure?.said ?? '', /RAKP 2 HMAC is invalid/);
});

test('an unknown user is an auth failure', () => {
  const failure = classifyIpmitoolResult(1, 'RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session\n');
  assert.equal(failure?.kind, 'auth');
});

test('a missing privilege is an auth failure', () => {
  assert.equal(classifyIpmitoolResult(1, 'Set Chassis Power Control to Up/On failed: Insufficient privilege level\n')?.kind, 'auth');
});

test('no answer at all is unreachable', () => {
  const stderr = 'Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session\n';
  assert.equal(classifyIpmitoolResult(1, stderr)?.kind, 'unreachable');
  assert.equal(classifyIpmitoolResult(1, 'Error: Unable to establish IPMI v2 / RMCP+ session\n')?.kind, 'unreachable');
});

test('a cipher suite the BMC does not offer is a configuration error', () => {
  const failure = classifyIpmitoolResult(1, 'Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session\n');
  assert.equal(failure?.kind, 'invalid-config');
  assert.match(failure?.summary ?? '', /cipher/);
});

test('a rejection with exit status 0 is still a failure', () => {
  const failure = classifyIpmitoolResult(0, `${VERBOSE_PREAMBLE}\nSet Boot Device to pxe failed: Invalid data field in request\n`);
  assert.equal(failure?.kind, 'rejected');
  assert.match(failure?.said ?? '', /Invalid data field/);
  assert.doesNotMatch(failure?.said ?? '', /VSO|IANA/);
});

test('a reset refused by the BMC is rejected; a command it does not know is unsupported', () => {
  assert.equal(classifyIpmitoolResult(1, 'Set Chassis Power Control to Reset failed: Unspecified error\n')?.kind, 'rejected');
  assert.equal(classifyIpmitoolResult(1, 'Set Chassis Power Control to Cycle failed: Command not supported in present state\n')?.kind, 'rejected');
  assert.equal(classifyIpmitoolResult(1, 'Get Chassis Power Status failed: Invalid command\n')?.kind, 'unsupported');
});

test('a non-zero exit with nothing recognisable is rejected, with the exit status', () => {
  const failure = classifyIpmitoolResult(3, 'something odd\n');
  assert.equal(failure?.kind, 'rejected');
  assert.match(failure?.summary ?? '', /status 3/);
});

test('SDR lookups that sel elist makes are ignored when asked', () => {
  const stderr = 'Get SDR 0000 command failed: Requested sensor, data, or record not found\n';
  assert.equal(classifyIpmitoolResult(0, stderr)?.kind, 'rejected');
  assert.equal(classifyIpmitoolResult(0, stderr, SEL_LOOKUP_NOISE), null);
});

test('chassis power status', () => {
  assert.equal(parseChassisPowerStatus('Chassis Power is on\n'), 'on');
  assert.equal(parseChassisPowerStatus('Chassis Power is off\n'), 'off');
  assert.equal(parseChassisPowerStatus('garbage'), null);
});

test('boot flags are read from the raw parameter bytes', () => {
  const ipmiSim = [
    'Boot parameter version: 1',
    'Boot parameter 5 is valid/unlocked',
    'Boot parameter data: 0004000000',
    ' Boot Flags :',
    '   - Boot Flag Invalid',
    '   - Options apply to only next boot',
    '   - BIOS PC Compatible (legacy) boot ',
    '   - Boot Device Selector : Force PXE',
  ].join('\n');
  assert.deepEqual(parseBootFlags(ipmiSim), { device: 'pxe', uefi: false, persistent: false, overrideActive: false, reported: 'Force PXE' });
  // valid + persistent + EFI, hard disk
  assert.deepEqual(parseBootFlags('Boot parameter data: e008000000\n   - Boot Device Selector : Force Boot from default Hard-Drive\n'), {
    device: 'disk', uefi: true, persistent: true, overrideActive: true, reported: 'Force Boot from default Hard-Drive',
  });
  assert.equal(parseBootFlags('Boot parameter data: 8018000000\n')?.device, 'bios');
  assert.equal(parseBootFlags('Boot parameter data: 8000000000\n')?.device, 'none');
  assert.equal(parseBootFlags('no data here'), null);
});

test('sel elist, one line per entry', () => {
  const stdout = [
    '   1 | 11/14/2023 | 22:13:20 | Memory #0x01 | Correctable ECC | Asserted',
    '   2 |  Pre-Init  |0000000907| Temperature #0x02 | Upper Critical going high | Asserted',
  ].join('\n');
  assert.deepEqual(parseSelElist(stdout), [
    { id: '1', timestamp: '2023-11-14T22:13:20', sensor: 'Memory #0x01', event: 'Correctable ECC', state: 'asserted' },
    { id: '2', timestamp: 'Pre-Init 0000000907', sensor: 'Temperature #0x02', event: 'Upper Critical going high', state: 'asserted' },
  ]);
  assert.deepEqual(parseSelElist(''), []);
});

test('sel elist under -v, one block per entry', () => {
  const stdout = [
    'SEL Record ID          : 0001',
    ' Record Type           : 02',
    ' Timestamp             : 11/14/2023 22:13:20',
    ' Sensor Type           : Memory',
    ' Sensor Number         : 01',
    ' Event Direction       : Assertion Event',
    ' Description           : Correctable ECC',
    '',
    'SEL Record ID          : 0002',
    ' Timestamp             : S+ 70/001 S+ 70/001',
    ' Sensor Type           : Temperature',
    ' Sensor Number         : 02',
    ' Event Direction       : Deassertion Event',
    ' Description           : Upper Critical going high',
    '',
  ].join('\n');
  assert.deepEqual(parseSelElist(stdout), [
    { id: '0001', timestamp: '2023-11-14T22:13:20', sensor: 'Memory #0x01', event: 'Correctable ECC', state: 'asserted' },
    { id: '0002', timestamp: 'S+ 70/001', sensor: 'Temperature #0x02', event: 'Upper Critical going high', state: 'deasserted' },
  ]);
});

test('ipmitool arguments carry -C and -E, never the password', () => {
  const target = { systemName: 'web01', type: 'ipmi', address: '10.0.0.5', port: 6230, username: 'admin', password: 'sup3r-secret', options: {} };
  const args = ipmitoolArguments(readIpmitoolSettings(target), ['chassis', 'power', 'status']);
  assert.ok(!args.some((arg) => arg.includes('sup3r-secret')));
  assert.deepEqual(args, ['-v', '-I', 'lanplus', '-H', '10.0.0.5', '-p', '6230', '-C', '3', '-U', 'admin', '-L', 'ADMINISTRATOR', '-N', '2', '-R', '1', '-E', 'chassis', 'power', 'status']);
  const custom = readIpmitoolSettings({ ...target, options: { cipher: '17', privilege: 'operator', ipmi_timeout: '2', ipmi_retries: '3' } });
  assert.deepEqual(ipmitoolArguments(custom, []).slice(7), ['-C', '17', '-U', 'admin', '-L', 'OPERATOR', '-N', '2', '-R', '3', '-E']);
});

test('an address that would read as an option, or a bad cipher, is invalid-config', () => {
  const target = { systemName: 'web01', type: 'ipmi', address: '-oProxyCommand=x', options: {} };
  assert.throws(() => readIpmitoolSettings(target), (error: unknown) => error instanceof BmcError && error.kind === 'invalid-config');
  assert.throws(
    () => readIpmitoolSettings({ ...target, address: '10.0.0.5', options: { cipher: 'three' } }),
    (error: unknown) => error instanceof BmcError && error.kind === 'invalid-config' && /cipher/.test(error.message),
  );
});
