// Power options: an allow-list per built-in driver, fence-agent options checked against what the agent declares,
// nothing that names a program or a file, and known secrets scrubbed from every result of the chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BmcError } from '../../power/errors.js';
import { checkDriverOptions, driverOptionProblem, powerHostSettings } from '../../power/options.js';
import { createIpmitoolDriver, readIpmitoolSettings } from '../../power/drivers/ipmitool.js';
import { dangerousOptionName, dangerousParameter, fenceOptionProblem, parseFenceAgentMetadata } from '../../power/drivers/fence-agent-metadata.js';
import { checkPowerOptions } from '../../power/option-policy.js';
import { createDefaultRegistry, DriverRegistry } from '../../power/registry.js';
import { PowerClient } from '../../power/chain.js';
import { basicAuthForm, redactSecrets } from '../../power/redact.js';
import { InventoryError } from '../../inventory/errors.js';
import type { BmcTarget } from '../../power/types.js';

// Cut from what `fence_ipmilan -o metadata` prints (fence-agents 4.12, Debian bookworm): the shapes the parser
// meets, one parameter of each kind.
const IPMILAN_METADATA = `<?xml version="1.0" ?>
<resource-agent name="fence_ipmilan" shortdesc="Fence agent for IPMI" >
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot"  />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="lanplus" unique="0" required="0">
		<getopt mixed="-P, --lanplus" />
		<content type="boolean" default="0"  />
		<shortdesc lang="en">Use Lanplus to improve security of connection</shortdesc>
	</parameter>
	<parameter name="method" unique="0" required="0">
		<getopt mixed="-m, --method=[method]" />
		<content type="select" default="onoff"  >
			<option value="onoff" />
			<option value="cycle" />
		</content>
		<shortdesc lang="en">Method to fence</shortdesc>
	</parameter>
	<parameter name="cipher" unique="0" required="0">
		<getopt mixed="-C, --cipher=[cipher]" />
		<content type="string"  />
		<shortdesc lang="en">Ciphersuite to use (same as ipmitool -C parameter)</shortdesc>
	</parameter>
	<parameter name="power_wait" unique="0" required="0">
		<getopt mixed="--power-wait=[seconds]" />
		<content type="second" default="2"  />
		<shortdesc lang="en">Wait X seconds after issuing ON/OFF</shortdesc>
	</parameter>
	<parameter name="password_script" unique="0" required="0" obsoletes="passwd_script">
		<getopt mixed="-S, --password-script=[script]" />
		<content type="string"  />
		<shortdesc lang="en">Script to run to retrieve password</shortdesc>
	</parameter>
	<parameter name="debug" unique="0" required="0" deprecated="1">
		<getopt mixed="-D, --debug-file=[debugfile]" />
		<content type="string"  />
		<shortdesc lang="en">Write debug information to given file</shortdesc>
	</parameter>
	<parameter name="debug_file" unique="0" required="0" obsoletes="debug">
		<getopt mixed="-D, --debug-file=[debugfile]" />
		<content type="string"  />
		<shortdesc lang="en">Write debug information to given file</shortdesc>
	</parameter>
	<parameter name="ipmitool_path" unique="0" required="0">
		<getopt mixed="--ipmitool-path=[path]" />
		<content type="string" default="/usr/bin/ipmitool"  />
		<shortdesc lang="en">Path to ipmitool binary</shortdesc>
	</parameter>
	<parameter name="use_sudo" unique="0" required="0" obsoletes="sudo">
		<getopt mixed="--use-sudo" />
		<content type="boolean"  />
		<shortdesc lang="en">Use sudo (without password) when calling 3rd party software</shortdesc>
	</parameter>
	<parameter name="sudo_path" unique="0" required="0">
		<getopt mixed="--sudo-path=[path]" />
		<content type="string" default="/usr/bin/sudo"  />
		<shortdesc lang="en">Path to sudo binary</shortdesc>
	</parameter>
</parameters>
</resource-agent>`;

const origin = { systemName: 'web01', driver: 'ipmitool' };

test('built-in drivers take only their allow-listed options; ipmitool_path is gone', () => {
  assert.equal(driverOptionProblem('ipmitool', { cipher: '3', privilege: 'operator', retries: '1', readback_timeout: '30' }), undefined);
  assert.equal(driverOptionProblem('redfish', { verify_tls: 'false', ca_file: 'bmc-ca.pem', system_id: '1', auth: 'session' }), undefined);
  const removed = driverOptionProblem('ipmitool', { ipmitool_path: '/tmp/evil' });
  assert.equal(removed?.option, 'ipmitool_path');
  assert.match(removed!.reason, /no option may name a program or file the server runs .*RESCUED_IPMITOOL/);
  const unknown = driverOptionProblem('redfish', { cipher: '3' });
  assert.match(unknown!.reason, /is not an option of the redfish driver \(its options: verify_tls, insecure, ca_file, system_id, system_mac, system_uuid, system_serial, auth; for every driver: driver_timeout/);
  for (const path of ['/etc/ssl/ca.pem', '../ca.pem', 'certs/ca.pem', '.hidden', 'a..b']) {
    assert.equal(driverOptionProblem('redfish', { ca_file: path })?.option, 'ca_file', path);
  }
  assert.equal(driverOptionProblem('fence_ipmilan', { anything: 'x' }), undefined, 'fence agents are judged by their metadata');
});

test('the drivers refuse a forbidden option when they are made, and run only the server-side ipmitool', () => {
  const target: BmcTarget = { systemName: 'web01', type: 'ipmi', address: '127.0.0.1', options: { ipmitool_path: '/tmp/evil' } };
  assert.throws(() => createIpmitoolDriver(target), (error: unknown) => error instanceof BmcError && error.kind === 'invalid-config' && /^web01: ipmitool: option ipmitool_path="\/tmp\/evil" is not accepted/.test(error.message));
  assert.throws(() => checkDriverOptions('redfish', { ca_file: '/etc/shadow' }, origin), /ca_file="\/etc\/shadow" is not a file name/);
  assert.equal(readIpmitoolSettings({ ...target, options: {} }).executable, powerHostSettings().ipmitool);
  assert.deepEqual(powerHostSettings({ RESCUED_IPMITOOL: '/opt/ipmitool/bin/ipmitool', RESCUED_CA_DIR: '/etc/rescued/ca' }), { ipmitool: '/opt/ipmitool/bin/ipmitool', caDirectory: '/etc/rescued/ca' });
  assert.equal(powerHostSettings({ RESCUED_DATA_DIR: '/var/lib/rescued' }).caDirectory, '/var/lib/rescued/ca');
  assert.equal(powerHostSettings({}).ipmitool, 'ipmitool');
});

test('fence agent metadata: names, long options, flags, choices, descriptions', () => {
  const metadata = parseFenceAgentMetadata(IPMILAN_METADATA)!;
  assert.equal(metadata.agent, 'fence_ipmilan');
  const byName = new Map(metadata.parameters.map((p) => [p.name, p]));
  assert.deepEqual(byName.get('lanplus'), { name: 'lanplus', longopt: 'lanplus', takesValue: false, metavar: '', type: 'boolean', choices: [], deprecated: false, description: 'Use Lanplus to improve security of connection' });
  assert.deepEqual(byName.get('method')?.choices, ['onoff', 'cycle']);
  assert.equal(byName.get('debug')?.longopt, 'debug-file');
  assert.equal(byName.get('debug')?.deprecated, true);
  assert.equal(parseFenceAgentMetadata('usage: fence_x [options]'), undefined);
  // What the metadata marks as a program, a file or a command prefix.
  for (const name of ['password_script', 'debug', 'debug_file', 'ipmitool_path', 'use_sudo', 'sudo_path']) assert.ok(dangerousParameter(byName.get(name)!), name);
  for (const name of ['lanplus', 'method', 'cipher', 'power_wait']) assert.equal(dangerousParameter(byName.get(name)!), undefined, name);
  // A new agent's option of that kind is caught from its getopt or its description alone.
  const unseen = { name: 'frobnicator', longopt: 'frobnicator', takesValue: true, type: 'string', choices: [], deprecated: false };
  assert.ok(dangerousParameter({ ...unseen, metavar: '[filename]', description: 'Frobnicator' }));
  assert.ok(dangerousParameter({ ...unseen, metavar: '[x]', description: 'Path to frob binary' }));
  assert.equal(dangerousParameter({ ...unseen, metavar: '[x]', description: 'Frobnication level' }), undefined);
});

test('fence options: declared and harmless pass; paths, debug files, command prefixes, unknown names are refused', () => {
  const metadata = parseFenceAgentMetadata(IPMILAN_METADATA)!;
  assert.equal(fenceOptionProblem(metadata, { lanplus: '1', cipher: '3', method: 'cycle', power_wait: '4', 'power-wait': '4' }), undefined);
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ ipmitool_path: '/tmp/evil' }, /names a program or a file/],
    [{ 'ipmitool-path': '/tmp/evil' }, /names a program or a file/],
    [{ debug_file: '/etc/cron.d/x' }, /names a program or a file/],
    [{ 'debug-file': '/etc/cron.d/x' }, /names a program or a file/],
    [{ debug: '/etc/cron.d/x' }, /takes a debugfile|names a program or a file/],
    [{ sudo_path: '/tmp/evil' }, /names a program or a file/],
    [{ use_sudo: '1' }, /through sudo \(a command prefix\)/],
    [{ 'password-script': '/tmp/evil' }, /names a program or a file/],
    [{ ssh_options: '-o ProxyCommand=touch /tmp/x' }, /passes options to a program/],
    [{ version: '1' }, /print and exit/],
    [{ action: 'on' }, /set from the BMC address and credentials/],
    [{ frobnicate: '1' }, /is not an option fence_ipmilan declares \(its options: lanplus, method, cipher, power_wait\)/],
    [{ method: 'kaboom' }, /must be one of onoff, cycle/],
    [{ lanplus: 'sometimes' }, /is a flag/],
    [{ power_wait: 'soon' }, /must be a number/],
  ];
  for (const [options, reason] of refused) {
    const problem = fenceOptionProblem(metadata, options);
    assert.equal(problem?.option, Object.keys(options)[0], JSON.stringify(options));
    assert.match(problem!.reason, reason, JSON.stringify(options));
  }
  // Without the agent installed, the name alone is judged.
  for (const name of ['ssh_path', 'identity_file', 'logfile', 'snmp_priv_passwd_script', 'exec', 'telnet-path', 'sudo']) assert.ok(dangerousOptionName(name), name);
  for (const name of ['plug', 'lanplus', 'api_path', 'suborg', 'cmd_prompt']) assert.equal(dangerousOptionName(name), undefined, name);
});

test('system add/edit: the first refused option is a 400 naming the entry and the option', async () => {
  const registry = createDefaultRegistry(() => null);
  await checkPowerOptions([{ type: 'ipmi', options: { cipher: '17' } }, { type: 'redfish', options: { verify_tls: 'false' } }, { type: 'drac5', options: { plug: '2' } }], { registry });
  const cases: Array<[Array<{ type: string; options: Record<string, string> }>, string, RegExp]> = [
    [[{ type: 'ipmi', options: { ipmitool_path: '/bin/sh' } }], 'power.0.options.ipmitool_path', /^power\[0\] \(ipmi\): option ipmitool_path="\/bin\/sh" is not accepted/],
    [[{ type: 'ipmi', options: {} }, { type: 'redfish', options: { ca_file: '/etc/shadow' } }], 'power.1.options.ca_file', /^power\[1\] \(redfish\): option ca_file="\/etc\/shadow" is not a file name/],
    [[{ type: 'drac5', options: { 'ssh-path': '/tmp/x' } }], 'power.0.options.ssh-path', /^power\[0\] \(drac5\): option ssh-path="\/tmp\/x" names a program or a file/],
    [[{ type: 'ipmi', options: { retries: 'lots' } }], 'power.0.options.retries', /^power\[0\] \(ipmi\): option retries="lots" is not valid: expected an integer from 0 to 10$/],
  ];
  for (const [entries, field, message] of cases) {
    await assert.rejects(checkPowerOptions(entries, { registry }), (error: unknown) => error instanceof InventoryError && error.kind === 'invalid' && error.field === field && message.test(error.message));
  }
});

test('secrets are scrubbed from data in every form they take', () => {
  const secret = 'pa ss/"word';
  const data = { a: `said ${secret}`, b: [encodeURIComponent(secret), { c: JSON.stringify({ p: secret }) }], d: 5, e: null, f: `Basic ${basicAuthForm('admin', secret)}` };
  const scrubbed = redactSecrets(data, [secret, basicAuthForm('admin', secret)]);
  assert.deepEqual(scrubbed, { a: 'said [redacted]', b: ['[redacted]', { c: '{"p":"[redacted]"}' }], d: 5, e: null, f: 'Basic [redacted]' });
  assert.equal(data.a, `said ${secret}`, 'the input is not changed');
});

test('the chain scrubs the password and the tokens a driver learned from its record, failure and value', async () => {
  const password = 'hunter2-bmc-secret';
  const token = 'session-token-0123456789';
  const registry = new DriverRegistry(() => null).register(['echo'], 'echo', () => ({
    name: 'echo',
    knownSecrets: () => [token],
    async getPowerState(context) {
      context.recordCall({ description: `login ${password}`, try: 1, elapsedMs: 1 });
      throw new BmcError('auth', { systemName: 'web01', driver: 'echo' }, `refused password ${password} (token ${token})`, `user admin password=${password}`);
    },
    async getBootDevice() {
      return { device: 'pxe', uefi: null, persistent: null, overrideActive: null, reported: `Pxe ${token}` };
    },
  }));
  const target: BmcTarget = { systemName: 'web01', type: 'echo', address: '127.0.0.1', username: 'admin', password, options: {} };
  const failed = await new PowerClient([target], { registry }).getPowerState();
  assert.equal(failed.ok, false);
  const text = JSON.stringify(failed);
  assert.ok(!text.includes(password) && !text.includes(token), text);
  assert.match(text, /refused password \[redacted\] \(token \[redacted\]\)/);
  const read = await new PowerClient([target], { registry }).getBootDevice();
  assert.ok(read.ok);
  assert.equal(read.ok && read.value.reported, 'Pxe [redacted]');
});
