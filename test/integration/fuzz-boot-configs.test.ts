// Names and values full of quotes, semicolons, $(), backticks and line breaks: refused with a message
// naming the field where the inventory does not allow them (names, host names, boot-loader syntax in
// kernel options), otherwise stored and shown literally by the API and rescuectl, and rendered into
// pxelinux, GRUB and iPXE configs without ever starting a new line or command (checked against models of
// how each loader reads its config: test/support/boot-config-models.ts). Counts are printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { fuzzAsync, hostileString } from '../support/fuzz.js';
import { runRescuectl } from '../support/cli.js';
import { configLines, grubLex, ipxeCommands, kernelWords } from '../support/boot-config-models.js';
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { formatKernelOptions, mergeKernelOptions } from '../../boot/kernel-options.js';
import { OBJECT_NAME_PATTERN } from '../../inventory/schemas.js';
import { printable } from '../../cli/output.js';

const INSTALL_MAC = '52:54:00:fd:00:01';
const RESCUE_MAC = '52:54:00:fd:00:02';
let api: TestApi;
let activities: ReturnType<typeof createActivities>;
let counter = 0;
const kernelOptions = { distros: '', profiles: '', systems: '' };
const baselineLines: Record<string, number> = {};

before(async () => {
  api = await startTestApi(testDatabases()[0]!);
  const steps: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'bd', kernel: 'bd/vmlinuz', initrd: 'bd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
    ['/api/v1/profiles', { name: 'bp', distro: 'bd' }],
    ['/api/v1/rescue-environments', { name: 're', kernel: 're/vmlinuz', initrd: 're/initrd', arch: 'x86_64', osFamilies: ['debian'], kernelArgs: 'console=ttyS0 note={{ system.labels.note }}' }],
    ['/api/v1/systems', { name: 'bt01', profile: 'bp', netbootEnabled: true, interfaces: [{ mac: INSTALL_MAC }] }],
    ['/api/v1/systems', { name: 'br01', profile: 'bp', interfaces: [{ mac: RESCUE_MAC }] }],
  ];
  for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
  activities = createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: createRefusingAdmission() });
  for (const format of ['ipxe', 'grub', 'pxelinux']) baselineLines[format] = configLines(await render(format)).length;
});

after(async () => {
  await api?.close();
});

async function render(format: string): Promise<string> {
  if (format === 'ipxe') return (await fetch(`${api.url}/boot/ipxe/${INSTALL_MAC}`)).text();
  const reply = await fetch(`${api.url}/api/v1/systems/bt01/boot-config?format=${format}`, { headers: { authorization: `Bearer ${api.adminToken}` } });
  return reply.text();
}

/** Checks the three configs of bt01 against the models: the same lines as always, one kernel command with exactly these words. */
async function assertConfigsCarry(expected: string, what: string): Promise<void> {
  const words = kernelWords(expected);
  const ipxe = configLines(await render('ipxe'));
  assert.equal(ipxe.length, baselineLines.ipxe, `iPXE lines for ${what}: ${JSON.stringify(ipxe)}`);
  for (const line of ipxe) assert.ok(ipxeCommands(line).length <= 1, `an iPXE line holds two commands for ${what}: ${JSON.stringify(line)}`);
  const kernel = ipxe.map(ipxeCommands).find((c) => c[0]?.[0] === 'kernel')?.[0];
  assert.ok(kernel, `no iPXE kernel command for ${what}`);
  assert.equal(kernel.slice(3).join(' '), words, `iPXE kernel words for ${what}`);

  const grub = configLines(await render('grub'));
  assert.equal(grub.length, baselineLines.grub, `GRUB lines for ${what}: ${JSON.stringify(grub)}`);
  const linux = grub.map(grubLex).find((l) => l.words[0] === 'linux');
  assert.ok(linux, `no GRUB linux command for ${what}`);
  assert.deepEqual({ syntax: linux.syntax, expansion: linux.expansion, comment: linux.comment }, { syntax: false, expansion: false, comment: false }, `GRUB linux line for ${what}: ${JSON.stringify(grub)}`);
  assert.equal(linux.words.slice(2).join(' '), words, `GRUB kernel words for ${what}`);
  for (const line of grub.filter((l) => l.trimStart().startsWith('initrd'))) assert.equal(grubLex(line).syntax, false);

  const pxelinux = configLines(await render('pxelinux'));
  assert.equal(pxelinux.length, baselineLines.pxelinux, `pxelinux lines for ${what}: ${JSON.stringify(pxelinux)}`);
  const append = pxelinux.find((l) => l.trimStart().startsWith('APPEND'));
  assert.equal(append?.trim() ?? 'APPEND', `APPEND ${expected}`.trim(), `pxelinux APPEND for ${what}`);
}

const kernelOptionWord = fc.oneof(
  fc.constantFrom('console=ttyS0,115200', 'quiet', 'a="x y"', 'ds=nocloud-net;s=http://x/', 'inst.ks=http://x/ks?a=1&b=2', '!quiet', 'x=$(reboot)', 'y=`id`', "z='q'", '${net0/mac}', 'k=;', '||', '&&', ';', '#', '#x', '{', '}', 'shell', 'exit'),
  hostileString(3),
);
const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\r', '\v');
const kernelOptionLine = fc.array(fc.tuple(kernelOptionWord, separator), { maxLength: 6 }).map((pairs) => pairs.map(([word, sep]) => word + sep).join('').trimEnd());

test('hostile kernel options: refused naming the field, or stored literally and rendered without a new line or command', async () => {
  let accepted = 0;
  await fuzzAsync(
    'kernel options through pxelinux, GRUB and iPXE',
    fc.tuple(fc.constantFrom('distros', 'profiles', 'systems') as fc.Arbitrary<keyof typeof kernelOptions>, kernelOptionLine),
    async ([collection, value]) => {
      const name = { distros: 'bd', profiles: 'bp', systems: 'bt01' }[collection];
      const reply = await api.request('PATCH', `/api/v1/${collection}/${name}`, { body: { kernelOptions: value } });
      if (reply.status === 400) {
        assert.match(`${reply.body.field} ${reply.body.message}`, /kernelOptions/, JSON.stringify(reply.body));
        return;
      }
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      accepted += 1;
      assert.equal((await api.request('GET', `/api/v1/${collection}/${name}`)).body.kernelOptions, value, 'stored and shown literally');
      kernelOptions[collection] = value;
      const expected = formatKernelOptions(mergeKernelOptions(kernelOptions.distros, kernelOptions.profiles, kernelOptions.systems));
      await assertConfigsCarry(expected, JSON.stringify(value));
    },
    Number(process.env.FUZZ_BOOT_RUNS ?? 200),
  );
  console.log(`fuzz: kernel options: ${accepted} accepted and rendered, the rest refused`);
  // The ones that used to get through: a command after "||", a comment, GRUB's ";" and "$".
  for (const value of ['quiet || shell', 'quiet ; reboot', 'quiet #comment', 'quiet\nshell']) {
    const reply = await api.request('PATCH', '/api/v1/systems/bt01', { body: { kernelOptions: value } });
    assert.equal(reply.status, 400, value);
    assert.equal(reply.body.field, 'kernelOptions');
  }
  // Accepted and rendered literally; the last once lost its quote and became a word "#a?C" that iPXE comments out.
  for (const value of ['ds=nocloud-net;s=http://x/', 'x=$(reboot) y=`id`', 'h"#a?C']) {
    assert.equal((await api.request('PATCH', '/api/v1/systems/bt01', { body: { kernelOptions: value } })).status, 200);
    kernelOptions.systems = value;
    await assertConfigsCarry(formatKernelOptions(mergeKernelOptions(kernelOptions.distros, kernelOptions.profiles, value)), value);
  }
});

test('hostile names and host names are refused naming the field; nothing is created', async () => {
  const before = (await api.request('GET', '/api/v1/systems?limit=500')).body.length as number;
  await fuzzAsync(
    'hostile system, profile and host names',
    fc.tuple(fc.constantFrom('name', 'profile-name', 'hostname'), hostileString()),
    async ([field, value]) => {
      const mac = `52:54:00:fe:${((++counter >> 8) & 0xff).toString(16).padStart(2, '0')}:${(counter & 0xff).toString(16).padStart(2, '0')}`;
      const reply =
        field === 'profile-name'
          ? await api.request('POST', '/api/v1/profiles', { body: { name: value, distro: 'bd' } })
          : await api.request('POST', '/api/v1/systems', { body: { name: field === 'name' ? value : `hn-${counter}`, profile: 'bp', interfaces: [{ mac, hostname: field === 'hostname' ? value : null }] } });
      const valid = field === 'hostname' ? /^[A-Za-z0-9.-]+$/.test(value) : OBJECT_NAME_PATTERN.test(value);
      if (valid) return;
      assert.equal(reply.status, 400, `${field} ${JSON.stringify(value)}: ${JSON.stringify(reply.body)}`);
      assert.ok(String(reply.body.field).endsWith(field === 'hostname' ? 'hostname' : 'name'), JSON.stringify(reply.body));
    },
    Number(process.env.FUZZ_BOOT_RUNS ?? 250),
  );
  const created = (await api.request('GET', '/api/v1/systems?limit=500')).body as Array<{ name: string }>;
  for (const system of created) assert.match(system.name, OBJECT_NAME_PATTERN);
  assert.ok(created.length >= before);
});

test('hostile labels and comments: stored and shown literally by the API and rescuectl, never run', async () => {
  const env = { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken };
  const plain = await runRescuectl(['system', 'report', 'bt01'], env);
  assert.equal(plain.code, 0, plain.stderr);
  const reportLines = plain.stdout.trimEnd().split('\n').length;
  let cliChecks = 0;
  await fuzzAsync(
    'hostile labels and comments (API, rescuectl)',
    fc.tuple(fc.oneof(hostileString(), fc.constant('$(touch /tmp/rescued-fuzz-pwned)'), fc.constant('`touch /tmp/rescued-fuzz-pwned`')), hostileString(), fc.integer({ min: 0, max: 24 })),
    async ([label, comment, dice]) => {
      const reply = await api.request('PATCH', '/api/v1/systems/bt01', { body: { labels: { note: label, 'x.y/z': '"; exit 1' }, comment } });
      if (reply.status === 400) {
        // Too long, or a NUL character, which PostgreSQL cannot store: refused naming the field.
        assert.ok(label.length > 256 || comment.length > 1024 || `${label}${comment}`.includes('\u0000'), JSON.stringify(reply.body));
        assert.match(String(reply.body.field), /^(labels\.note|comment)$/, JSON.stringify(reply.body));
        return;
      }
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const shown = (await api.request('GET', '/api/v1/systems/bt01')).body;
      assert.equal(shown.labels.note, label);
      assert.equal(shown.comment, comment);
      // rescuectl is a process per call: one input in twenty-five goes through it, as JSON and as a report.
      if (dice !== 0) return;
      cliChecks += 1;
      const json = await runRescuectl(['--json', 'system', 'report', 'bt01'], env);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as { labels: Record<string, string>; comment: string };
      assert.equal(parsed.labels.note, label);
      assert.equal(parsed.comment, comment);
      const report = await runRescuectl(['system', 'report', 'bt01'], env);
      assert.equal(report.code, 0, report.stderr);
      assert.equal(report.stdout.trimEnd().split('\n').length, reportLines, `a value forged a line of the report: ${report.stdout}`);
      assert.doesNotMatch(report.stdout.trimEnd(), /[\x00-\x09\x0b-\x1f\x7f]/, 'a control character reached the terminal');
      assert.ok(report.stdout.includes(printable(comment)), report.stdout);
    },
    Number(process.env.FUZZ_BOOT_RUNS ?? 150),
  );
  console.log(`fuzz: rescuectl: ${cliChecks} of them through rescuectl`);
  assert.ok(cliChecks > 0);
  await assert.rejects(import('node:fs/promises').then((fs) => fs.access('/tmp/rescued-fuzz-pwned')), 'nothing ran a stored value');
});

test("a rescue environment's kernel-argument template fed hostile labels: refused naming it, or one line", async () => {
  let refused = 0;
  await fuzzAsync(
    'rescue kernel arguments rendered from hostile labels',
    fc.oneof(hostileString(), fc.constantFrom('x || shell', 'x\nshell', 'x ; reboot', 'x #', 'a\rb')),
    async (note) => {
      const patched = await api.request('PATCH', '/api/v1/systems/br01', { body: { labels: { note } } });
      if (patched.status === 400) return;
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      try {
        await activities.pushRescueBootConfig({ system: 'br01', environment: 're', workflowId: `rescue-br01-${++counter}` });
      } catch (error) {
        refused += 1;
        assert.match((error as Error).message, /kernel arguments of rescue environment "re"/);
        return;
      }
      const script = configLines(await (await fetch(`${api.url}/boot/ipxe/${RESCUE_MAC}`)).text());
      assert.equal(script.length, baselineLines.ipxe, JSON.stringify(script));
      for (const line of script) assert.ok(ipxeCommands(line).length <= 1, JSON.stringify(line));
      const kernel = script.map(ipxeCommands).find((c) => c[0]?.[0] === 'kernel')?.[0] ?? [];
      // The label's words as kernel options merge them (a stray double quote is dropped there).
      const noteWords = kernelWords(formatKernelOptions(mergeKernelOptions(`note=${note}`)));
      assert.ok(kernel.join(' ').includes(noteWords), `${JSON.stringify(noteWords)} in ${JSON.stringify(kernel)}`);
    },
    Number(process.env.FUZZ_BOOT_RUNS ?? 100),
  );
  console.log(`fuzz: rescue kernel arguments: ${refused} refused`);
  assert.ok(refused > 0);
});
