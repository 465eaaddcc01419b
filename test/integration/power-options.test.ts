// Power options as an attacker with an operator token would try them: through the API and rescuectl (refused at
// `system add/edit`), written into the inventory some other way (refused by the driver before anything runs),
// against the real fence_ipmilan's metadata; and a driver that echoes the password has it scrubbed from the API's
// reply and the event log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { PowerClient } from '../../power/chain.js';
import type { BmcTarget } from '../../power/types.js';
import { findExecutableOnPath } from '../../power/registry.js';
import { dangerousParameter, FenceAgentMetadataCache, fenceOptionProblem } from '../../power/drivers/fence-agent-metadata.js';

const database = testDatabases()[0]!;
const BMC_PASSWORD = 'bmc-secret-Zq81';

describe('power options', () => {
  let api: TestApi;
  let scratch: string;
  let marker: string;
  const cli = (...args: string[]) => runRescuectl(args, { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });
  const originalPath = process.env['PATH'];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rescued-power-options-'));
    marker = join(scratch, 'ran');
    // A program that leaves a mark when run: what a forbidden option would make the worker run or write.
    await writeFile(join(scratch, 'evil'), `#!/bin/sh\ntouch ${marker}\n`);
    await chmod(join(scratch, 'evil'), 0o755);
    // A fence agent double that speaks the fence-agents protocol (ClusterLabs FenceAgentAPI: `-o metadata`
    // prints the option list as XML; otherwise key=value lines on stdin) and, like a verbose agent quoting
    // what it was given, echoes its stdin (the password with it) to stderr before failing.
    await writeFile(
      join(scratch, 'fence_echo'),
      `#!/bin/sh
if [ "$1" = "-o" ] && [ "$2" = "metadata" ]; then
cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_echo" shortdesc="echoes its input">
<parameters>
	<parameter name="plug" unique="0" required="0"><getopt mixed="-n, --plug=[id]" /><content type="string" /><shortdesc lang="en">Physical plug number</shortdesc></parameter>
</parameters>
</resource-agent>
XML
exit 0
fi
cat >&2
exit 1
`,
    );
    await chmod(join(scratch, 'fence_echo'), 0o755);
    process.env['PATH'] = `${scratch}${delimiter}${originalPath ?? ''}`;
    api = await startTestApi(database);
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'deb12-web', distro: 'deb12' }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
    }
  });
  after(async () => {
    process.env['PATH'] = originalPath;
    await api?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  // A MAC of its own for each system: a random one out of 80 collided with an earlier system's once in CI.
  let macs = 0x10;
  const system = (name: string, power: Array<Record<string, unknown>>) => ({ name, profile: 'deb12-web', interfaces: [{ mac: `52:54:00:bb:00:${(macs++).toString(16).padStart(2, '0')}` }], power });

  test('the real fence_ipmilan: its metadata is read, its path, debug-file and sudo options are refused, its own options pass', async () => {
    const executable = findExecutableOnPath('fence_ipmilan');
    assert.ok(executable, 'fence_ipmilan is installed (scripts/setup/power-lab.sh)');
    const metadata = await new FenceAgentMetadataCache().metadataOf('fence_ipmilan', executable);
    const names = metadata.parameters.map((p) => p.name);
    for (const declared of ['lanplus', 'cipher', 'privlvl', 'method', 'ipmitool_path', 'debug_file', 'sudo_path', 'use_sudo', 'password_script']) assert.ok(names.includes(declared), declared);
    assert.equal(fenceOptionProblem(metadata, { lanplus: '1', cipher: '3', privlvl: 'administrator', method: 'onoff', power_wait: '2' }), undefined);
    for (const option of ['ipmitool_path', 'ipmitool-path', 'debug_file', 'debug-file', 'debug', 'sudo_path', 'use_sudo', 'password_script', 'password-script']) {
      const problem = fenceOptionProblem(metadata, { [option]: `${scratch}/evil` });
      assert.equal(problem?.option, option);
      assert.ok(problem?.reason, option);
    }
    // Whatever the metadata marks as a path, a file or a script is refused, the unmarked ones are judged by name.
    for (const parameter of metadata.parameters.filter((p) => /\[(path|script|debugfile|filename|file)\]/.test(p.metavar))) assert.ok(dangerousParameter(parameter), parameter.name);
  });

  test('system add/edit refuses ipmitool_path, a ca_file path and fence-agent path/debug-file options: 400 naming the option', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ type: 'ipmi', address: '127.0.0.1', options: { ipmitool_path: `${scratch}/evil` } }, 'power.0.options.ipmitool_path', /option ipmitool_path=".*" is not accepted: no option may name a program or file the server runs/],
      [{ type: 'redfish', address: '127.0.0.1', options: { ca_file: '/etc/ssl/private/key.pem' } }, 'power.0.options.ca_file', /is not a file name: it names a PEM file in the server's CA folder/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { lanplus: '1', debug_file: `${scratch}/debug.log` } }, 'power.0.options.debug_file', /option debug_file=".*" names a program or a file/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { 'debug-file': `${scratch}/debug.log` } }, 'power.0.options.debug-file', /names a program or a file/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { ipmitool_path: `${scratch}/evil` } }, 'power.0.options.ipmitool_path', /names a program or a file/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { use_sudo: '1' } }, 'power.0.options.use_sudo', /through sudo/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { not_an_option: '1' } }, 'power.0.options.not_an_option', /is not an option fence_ipmilan declares \(its options: .*lanplus/],
      [{ type: 'ipmilan', address: '127.0.0.1', options: { method: 'explode' } }, 'power.0.options.method', /must be one of onoff, cycle/],
    ];
    for (const [entry, field, message] of cases) {
      const reply = await api.request('POST', '/api/v1/systems', { body: system('bad01', [entry]) });
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.equal(reply.body.field, field);
      assert.match(reply.body.message, /^power\[0\] \(\w+\): option /);
      assert.match(reply.body.message, message);
    }
    const good = await api.request('POST', '/api/v1/systems', { body: system('web05', [{ type: 'ipmilan', address: '127.0.0.1', options: { lanplus: '1', cipher: '3', retries: '0' } }]) });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    const edit = await api.request('PATCH', '/api/v1/systems/web05', { body: { power: [{ type: 'ipmilan', address: '127.0.0.1', options: { lanplus: '1', sudo_path: `${scratch}/evil` } }] } });
    assert.equal(edit.status, 400);
    assert.equal(edit.body.field, 'power.0.options.sudo_path');
    assert.equal((await api.request('GET', '/api/v1/systems/web05')).body.power[0].options.sudo_path, undefined, 'nothing was stored');
  });

  test('rescuectl system add/edit says it on one line and exits non-zero', async () => {
    const add = await cli('system', 'add', '--name', 'web06', '--profile', 'deb12-web', '--mac', '52:54:00:bb:01:06', '--power-type', 'ipmi', '--power-address', '127.0.0.1', '--power-options', `ipmitool_path=${scratch}/evil`);
    assert.notEqual(add.code, 0);
    assert.equal(add.stderr.trim().split('\n').length, 1, add.stderr);
    assert.match(add.stderr, /power\[0\] \(ipmi\): option ipmitool_path=.* is not accepted/);
    const ok = await cli('system', 'add', '--name', 'web06', '--profile', 'deb12-web', '--mac', '52:54:00:bb:01:06', '--power-type', 'ipmilan', '--power-address', '127.0.0.1', '--power-options', 'lanplus=1 cipher=3');
    assert.equal(ok.code, 0, ok.stderr);
    const edit = await cli('system', 'edit', 'web06', '--power-options', `lanplus=1 debug-file=${scratch}/debug.log`);
    assert.notEqual(edit.code, 0);
    assert.equal(edit.stderr.trim().split('\n').length, 1, edit.stderr);
    assert.match(edit.stderr, /power\[0\] \(ipmilan\): option debug-file=.* names a program or a file/);
  });

  test('options written into the inventory some other way are refused by the driver before anything runs', async () => {
    const targets: BmcTarget[] = [
      { systemName: 'web07', type: 'ipmi', address: '127.0.0.1', port: 9, options: { ipmitool_path: `${scratch}/evil`, retries: '0' } },
      { systemName: 'web07', type: 'ipmilan', address: '127.0.0.1', port: 9, options: { ipmitool_path: `${scratch}/evil`, retries: '0' } },
      { systemName: 'web07', type: 'ipmilan', address: '127.0.0.1', port: 9, options: { debug_file: `${scratch}/written`, retries: '0' } },
    ];
    for (const target of targets) {
      const result = await new PowerClient([target]).getPowerState();
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.failure.kind, 'invalid-config', result.failure.message);
        assert.match(result.failure.message, /option (ipmitool_path|debug_file)=/);
      }
    }
    assert.equal(existsSync(marker), false, 'the forbidden program never ran');
    assert.equal(existsSync(join(scratch, 'written')), false, 'the debug file was never written');
  });

  test("a driver's output that quotes the password is scrubbed from the API reply and the event log", async () => {
    const reply = await api.request('POST', '/api/v1/systems', { body: system('web08', [{ type: 'echo', address: '127.0.0.1', user: 'admin', password: BMC_PASSWORD, options: { plug: '3', retries: '0' } }]) });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const status = await api.request('GET', '/api/v1/systems/web08/power');
    const cycle = await api.request('POST', '/api/v1/systems/web08/power', { body: { action: 'cycle' } });
    const events = await api.request('GET', '/api/v1/events?objectName=web08');
    for (const [what, body] of [['status', status.body], ['cycle', cycle.body], ['events', events.body]] as const) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes(BMC_PASSWORD), `${what}: ${text}`);
    }
    // The agent did say it: the scrubbed form is there in its place.
    assert.match(JSON.stringify(cycle.body), /password=\[redacted\]/);
    for (const line of api.logs) assert.ok(!line.includes(BMC_PASSWORD), line);
  });
});
