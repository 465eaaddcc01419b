// rescuectl against a running API: the Cobbler-shaped verbs, table/report/JSON output, the token found in
// the data folder, and one-line errors with a non-zero exit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';

const PASSWORD = 'cli-bmc-pass-77Kq';

for (const database of testDatabases()) {
  describe(`rescuectl on ${database.label}`, () => {
    let api: TestApi;
    let dataDir: string;
    let env: Record<string, string>;
    const cli = (...args: string[]) => runRescuectl(args, env);

    before(async () => {
      api = await startTestApi(database);
      dataDir = await mkdtemp(join(tmpdir(), 'rescuectl-'));
      // As the server does on first start: the admin token in the data folder, where the CLI looks.
      await writeFile(join(dataDir, 'admin.token'), `${api.adminToken}\n`, { mode: 0o600 });
      env = { RESCUED_SERVER: api.url, RESCUED_DATA_DIR: dataDir };
    });
    after(async () => {
      await api?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    test('distro, profile and system add (token from the data folder)', async () => {
      let result = await cli('distro', 'add', '--name', 'rhel9', '--kernel', '/srv/vmlinuz', '--initrd', '/srv/initrd.img', '--arch', 'x86_64', '--breed', 'redhat', '--os-version', '9');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /kernel\s+: \/srv\/vmlinuz/);
      result = await cli('profile', 'add', '--name', 'rhel9-web', '--distro', 'rhel9', '--rescue-policy', 'repair');
      assert.equal(result.code, 0, result.stderr);
      result = await cli(
        'system', 'add', '--name', 'web01', '--profile', 'rhel9-web', '--mac', '52:54:00:12:34:56', '--ip', '10.0.0.11',
        '--power-type', 'ipmi', '--power-address', '10.0.1.11', '--power-user', 'admin', '--power-pass', PASSWORD, '--labels', 'rack=r12 row=3',
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /interfaces \[0\] mac\s+: 52:54:00:12:34:56/);
      assert.match(result.stdout, /power \[0\] password set\s+: true/);
      assert.equal(result.stdout.includes(PASSWORD), false);
    });

    test('list prints a table, report the whole object, --json JSON', async () => {
      const list = await cli('system', 'list');
      assert.equal(list.code, 0, list.stderr);
      const [header, row] = list.stdout.trim().split('\n');
      assert.match(header!, /NAME\s+PROFILE\s+MAC\s+IP\s+POWER\s+NETBOOT/);
      assert.match(row!, /web01\s+rhel9-web\s+52:54:00:12:34:56\s+10\.0\.0\.11\s+ipmi@10\.0\.1\.11\s+false/);
      const report = await cli('system', 'report', 'web01');
      assert.match(report.stdout, /labels\s+: rack=r12, row=3/);
      const json = await cli('--json', 'system', 'report', '--name', 'web01');
      const parsed = JSON.parse(json.stdout) as { name: string; power: Array<{ passwordSet: boolean }> };
      assert.equal(parsed.name, 'web01');
      assert.equal(parsed.power[0]?.passwordSet, true);
      for (const output of [list.stdout, report.stdout, json.stdout]) assert.equal(output.includes(PASSWORD), false);
    });

    test('edit changes only what is given; the stored password stays; a password can come from stdin', async () => {
      let result = await cli('system', 'edit', 'web01', '--ip', '10.0.0.12', '--netboot-enabled', 'true', '--power-address', '10.0.1.12');
      assert.equal(result.code, 0, result.stderr);
      const system = await api.inventory.systems.get('web01');
      assert.equal(system.interfaces[0]?.ip, '10.0.0.12');
      assert.equal(system.interfaces[0]?.mac, '52:54:00:12:34:56');
      assert.equal(system.netbootEnabled, true);
      assert.equal((await api.inventory.systems.powerTargets('web01'))[0]?.password, PASSWORD);
      result = await runRescuectl(['system', 'edit', '--name', 'web01', '--power-pass', '-'], env, 'from-stdin-9\n');
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await api.inventory.systems.powerTargets('web01'))[0]?.password, 'from-stdin-9');
      result = await cli('system', 'edit', 'web01', '--interface', 'eth1', '--mac', '5254.00AB.CDEF');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((await api.inventory.systems.get('web01')).interfaces.map((n) => n.mac), ['52:54:00:12:34:56', '52:54:00:ab:cd:ef']);
    });

    test('bad input: one clear line on stderr, non-zero exit, nothing changed', async () => {
      const before = await api.inventory.systems.list();
      const cases: Array<{ args: string[]; mentions: RegExp }> = [
        { args: ['system', 'add', '--name', 'web02', '--profile', 'rhel9-web', '--mac', '52:54:00:zz:00:01'], mentions: /52:54:00:zz:00:01.*--mac|--mac/ },
        { args: ['system', 'add', '--name', 'web02', '--profile', 'nope', '--mac', '52:54:00:00:00:01'], mentions: /profile "nope" does not exist/ },
        { args: ['system', 'add', '--name', 'web02', '--profile', 'rhel9-web', '--mac', '52-54-00-12-34-56'], mentions: /already used by system "web01"/ },
        { args: ['system', 'add', '--name', 'web01', '--profile', 'rhel9-web', '--mac', '52:54:00:00:00:09'], mentions: /system "web01" already exists/ },
        { args: ['system', 'report', 'ghost'], mentions: /system "ghost" does not exist/ },
        { args: ['system', 'edit', 'web01', '--netboot-enabled', 'maybe'], mentions: /--netboot-enabled: "maybe" is not true or false/ },
        { args: ['system', 'edit', 'web01', '--power-port', '99999'], mentions: /--power-port/ },
        { args: ['system', 'remove'], mentions: /needs the system's name/ },
        { args: ['distro', 'remove', 'rhel9'], mentions: /used by profiles "rhel9-web"/ },
        { args: ['--token', 'rsd_wrong', 'system', 'list'], mentions: /not valid/ },
        { args: ['--server', 'http://127.0.0.1:1', 'system', 'list'], mentions: /cannot reach the rescued server/ },
        { args: ['system', 'frobnicate'], mentions: /unknown command/ },
      ];
      for (const c of cases) {
        const result = await cli(...c.args);
        assert.notEqual(result.code, 0, `${c.args.join(' ')} should fail`);
        assert.match(result.stderr, c.mentions, `${c.args.join(' ')}: ${result.stderr}`);
        assert.equal(/\n\s+at /.test(result.stderr), false, `no stack trace: ${result.stderr}`);
      }
      assert.deepEqual(await api.inventory.systems.list(), before);
    });

    test('maintenance add and automation set: an unknown system, a time without its zone, a count that is not decimal digits are refused, naming what is wrong', async () => {
      const settingsBefore = (await api.request('GET', '/api/v1/automation')).body.settings;
      const soon = new Date(Date.now() + 3_600_000).toISOString();
      const cases: Array<{ args: string[]; code: number; mentions: RegExp }> = [
        // A typo for web01: the window would protect nothing.
        { args: ['maintenance', 'add', '--system', 'web0l', '--end', '2h', '--reason', 'disk swap'], code: 1, mentions: /system "web0l" does not exist/ },
        // Date.parse reads these as dates of 2001, or as local time.
        { args: ['maintenance', 'add', '--system', 'web01', '--start', '4', '--end', '2h', '--reason', 'x'], code: 2, mentions: /--start: "4" is neither a time in ISO 8601 with its time zone/ },
        { args: ['maintenance', 'add', '--system', 'web01', '--start', 'Dec 1', '--end', '2h', '--reason', 'x'], code: 2, mentions: /--start: "Dec 1" is neither/ },
        { args: ['maintenance', 'add', '--system', 'web01', '--end', '2026-12-01T02:00:00', '--reason', 'x'], code: 2, mentions: /--end: "2026-12-01T02:00:00" is neither/ },
        { args: ['maintenance', 'add', '--system', 'web01', '--start', soon, '--end', '30m', '--reason', 'x'], code: 1, mentions: /endsAt: .* is not after startsAt/ },
        // Number() reads "" as 0, "0x10" as 16 and "1e2" as 100.
        { args: ['automation', 'set', '--max-in-flight', ''], code: 2, mentions: /--max-in-flight: "" is not a whole number/ },
        { args: ['automation', 'set', '--max-in-flight', '0x10'], code: 2, mentions: /--max-in-flight: "0x10" is not a whole number/ },
        { args: ['automation', 'set', '--max-failures', '1e2'], code: 2, mentions: /--max-failures: "1e2" is not a whole number/ },
        { args: ['automation', 'set', '--brake-min-machines', ' 5'], code: 2, mentions: /--brake-min-machines: " 5" is not a whole number/ },
        { args: ['alerts', 'list', '--limit', '-1'], code: 2, mentions: /--limit: "-1" is not a whole number/ },
      ];
      for (const c of cases) {
        const result = await cli(...c.args);
        assert.equal(result.code, c.code, `${c.args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, c.mentions, `${c.args.join(' ')}: ${result.stderr}`);
        assert.equal(/\n\s+at /.test(result.stderr), false, `no stack trace: ${result.stderr}`);
      }
      const unknown = await api.request('POST', '/api/v1/maintenance', { body: { system: 'web0l', endsAt: soon, reason: 'disk swap' } });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.equal(unknown.body.field, 'system');
      assert.deepEqual((await api.request('GET', '/api/v1/maintenance?all=true')).body, [], 'no window added');
      assert.deepEqual((await api.request('GET', '/api/v1/automation')).body.settings, settingsBefore, 'no setting changed');

      // What is valid still is: a time with its zone, a duration, a label that no machine carries yet, decimal digits.
      const added = await cli('--json', 'maintenance', 'add', '--system', 'web01', '--start', '2030-12-01T04:00:00+02:00', '--end', '2030-12-01T06:00:00Z', '--reason', 'disk swap');
      assert.equal(added.code, 0, added.stderr);
      const window = JSON.parse(added.stdout);
      assert.deepEqual([window.system, window.startsAt, window.endsAt], ['web01', '2030-12-01T02:00:00.000Z', '2030-12-01T06:00:00.000Z']);
      const byLabel = await cli('--json', 'maintenance', 'add', '--label', 'rack=r99', '--end', '2h', '--reason', 'PDU swap');
      assert.equal(byLabel.code, 0, byLabel.stderr);
      for (const id of [window.id, JSON.parse(byLabel.stdout).id]) assert.equal((await cli('maintenance', 'remove', String(id))).code, 0);
      const set = await cli('--json', 'automation', 'set', '--max-in-flight', '07');
      assert.equal(set.code, 0, set.stderr);
      assert.equal(JSON.parse(set.stdout).maxInFlight, 7);
      assert.equal((await cli('automation', 'set', '--max-in-flight', String(settingsBefore.maxInFlight))).code, 0);
    });

    test('a reader that goes away early (rescuectl ... | head) ends the command quietly', async () => {
      const { spawn } = await import('node:child_process');
      const { RESCUECTL } = await import('../support/cli.js');
      // More output than a pipe holds, so that the writes after the reader has gone fail with EPIPE.
      const big = await api.request('POST', '/api/v1/templates', { body: { name: 'big', kind: 'script', body: 'echo rescued\n'.repeat(50_000) } });
      assert.equal(big.status, 201);
      const child = spawn(process.execPath, [RESCUECTL, '--json', 'template', 'report', 'big'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
    });

    test('token create --role, then rename and remove', async () => {
      const created = await cli('token', 'create', '--role', 'viewer', '--name', 'dashboard');
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.split('\n')[0]!;
      const asViewer = await runRescuectl(['system', 'list'], { RESCUED_SERVER: api.url, RESCUED_TOKEN: token });
      assert.equal(asViewer.code, 0, asViewer.stderr);
      const denied = await runRescuectl(['system', 'remove', 'web01'], { RESCUED_SERVER: api.url, RESCUED_TOKEN: token });
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /role viewer; this needs operator/);
      assert.equal((await cli('system', 'rename', 'web01', 'web01b')).code, 0);
      const removed = await cli('system', 'remove', 'web01b');
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /removed system web01b/);
      assert.equal((await cli('system', 'list')).stdout.trim(), '(none)');
    });
  });
}
