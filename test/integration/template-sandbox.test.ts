// A template is code: the known escapes of JavaScript template engines, tried where templates are really
// rendered. The unauthenticated boot route renders autoinstall templates; the worker's rescue activity renders a
// rescue environment's kernel-args template into the machine's boot config. Neither may hand out the server's
// environment (its secret key, its database URL), and the API refuses at `template add/edit` what Liquid cannot
// parse, naming the template and the line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { createRescueActivities } from '../../activities/rescue.js';
import type { ActivityDependencies } from '../../activities/dependencies.js';
import { TEMPLATE_ESCAPES } from '../support/template-escapes.js';

// The secrets a template escape would go for, in this process's environment (the server runs in it).
const SECRET = `env-secret-${process.pid}-${Date.now()}`;
process.env['RESCUED_TEMPLATE_CANARY'] = SECRET;
process.env['RESCUED_SECRET_KEY'] ??= `${SECRET}-key`;
const environmentSecrets = [SECRET, process.env['RESCUED_SECRET_KEY'], process.env['DATABASE_URL']].filter((value): value is string => typeof value === 'string' && value !== '');

function assertNoSecret(text: string, what: string): void {
  for (const secret of environmentSecrets) assert.ok(!text.includes(secret), `${what} contains a secret of the server's environment`);
  assert.doesNotMatch(text, /function |\[native code\]|\[object |root:x:0:0/, what);
}

const database = testDatabases()[0]!;

describe('templates cannot reach the host', () => {
  let api: TestApi;
  const cli = (args: string[], stdin?: string) => runRescuectl(args, { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken }, stdin);

  before(async () => {
    api = await startTestApi(database);
    const steps: Array<[string, unknown]> = [
      ['/api/v1/templates', { name: 'ks', kind: 'kickstart', body: 'network --hostname={{ hostname }}\n' }],
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'deb12-web', distro: 'deb12', autoinstall: 'ks' }],
      ['/api/v1/systems', { name: 'web01', profile: 'deb12-web', netbootEnabled: true, interfaces: [{ mac: '52:54:00:aa:00:01', ip: '127.0.0.11' }] }],
      ['/api/v1/rescue-environments', { name: 'rescue', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd', arch: 'x86_64', osFamilies: ['debian'], kernelArgs: 'console=ttyS0 rescue.mac={{ mac }}' }],
    ];
    for (const [path, body] of steps) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, `${path}: ${JSON.stringify(reply.body)}`);
    }
  });
  after(async () => {
    await api?.close();
  });

  test('template add/edit refuses what Liquid cannot parse: 400 naming the template and the line; the CLI says it on one line', async () => {
    const refused = await api.request('PATCH', '/api/v1/templates/ks', { body: { body: 'a\n{{ range.constructor("return process.env")() }}\n' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.field, 'body');
    assert.match(refused.body.message, /^template "ks", line 2: .*Liquid calls no functions/);
    const old = await api.request('POST', '/api/v1/templates', { body: { name: 'old-nunjucks', kind: 'kickstart', body: '{% if a %}\nx\n{% elif b %}\ny\n{% endif %}\n' } });
    assert.equal(old.status, 400);
    assert.match(old.body.message, /^template "old-nunjucks", line 3: tag "elif" not found \(Liquid writes it \{% elsif %\}\)/);
    const env = await api.request('PATCH', '/api/v1/rescue-environments/rescue', { body: { kernelArgs: 'console=ttyS0 {# x #}' } });
    assert.equal(env.status, 400);
    assert.equal(env.body.field, 'kernelArgs');
    assert.match(env.body.message, /^template "rescue-env rescue kernel args", line 1: a Jinja comment/);
    const viaCli = await cli(['template', 'edit', 'ks', '--file', '-'], '{% set x = 1 %}\n');
    assert.notEqual(viaCli.code, 0);
    assert.match(viaCli.stderr, /template "ks", line 1: tag "set" not found \(Liquid writes it \{% assign name = value %\}\)/);
    assert.equal(viaCli.stderr.trim().split('\n').length, 1, viaCli.stderr);
  });

  test('a template includes another template of the inventory (a snippet) through the boot route, never a file', async () => {
    assert.equal((await api.request('POST', '/api/v1/templates', { body: { name: 'partitioning', kind: 'script', body: 'clearpart --all\npart / --fstype=xfs --grow # {{ hostname }}\n' } })).status, 201);
    await api.inventory.templates.update('ks', { body: '# ks\n{% include "partitioning" %}{% if ip %}\nnetwork --ip={{ ip }}\n{% endif %}\n' }, { name: 'test' });
    const response = await fetch(`${api.url}/boot/autoinstall/web01`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '# ks\nclearpart --all\npart / --fstype=xfs --grow # web01\nnetwork --ip=127.0.0.11\n');
    await api.inventory.templates.update('ks', { body: '# ks\n{% include "/etc/passwd" %}\n' }, { name: 'test' });
    const file = await fetch(`${api.url}/boot/autoinstall/web01`);
    const text = await file.text();
    assert.notEqual(file.status, 200);
    assert.equal((JSON.parse(text) as { message: string }).message, 'template "ks", line 2: no template "/etc/passwd" to include in the inventory');
    assert.doesNotMatch(text, /root:x:0/);
  });

  test('the unauthenticated boot route renders every escape as an error naming the template and line, or as harmless text', async () => {
    let errors = 0;
    for (const escape of TEMPLATE_ESCAPES) {
      const body = `# kickstart\n${escape}\n`;
      // Stored straight into the inventory, as a template written before this check existed would be.
      await api.inventory.templates.update('ks', { body }, { name: 'test' });
      const response = await fetch(`${api.url}/boot/autoinstall/web01`);
      const text = await response.text();
      assertNoSecret(text, `${escape} (HTTP ${response.status})`);
      if (response.status === 200) continue;
      errors += 1;
      assert.ok(response.status >= 400, `${escape}: ${response.status}`);
      const reply = JSON.parse(text) as { error: string; message: string };
      assert.equal(reply.error, 'template', escape);
      assert.match(reply.message, /^template "ks", line \d+: /, escape);
      assert.doesNotMatch(reply.message, /\n\s+at /, `${escape}: no stack trace`);
    }
    assert.ok(errors >= TEMPLATE_ESCAPES.length - 3, `${errors} of ${TEMPLATE_ESCAPES.length} escapes were template errors`);
    const preview = await cli(['system', 'get-autoinstall', 'web01']);
    assert.notEqual(preview.code, 0);
    assert.equal(preview.stderr.trim().split('\n').length, 1, preview.stderr);
    assertNoSecret(preview.stdout + preview.stderr, 'CLI preview');
    for (const line of api.logs) assertNoSecret(line, 'server log');
  });

  test("the worker's rescue activity refuses an escape in the kernel-args template, naming it and the line", async () => {
    const activities = createRescueActivities({ inventory: api.inventory, netboot: api.netboot.service, databaseKind: 'pglite' } as ActivityDependencies);
    let refusals = 0;
    for (const escape of TEMPLATE_ESCAPES) {
      await api.inventory.rescueEnvironments.update('rescue', { kernelArgs: `console=ttyS0\n${escape}` }, { name: 'test' });
      try {
        await activities.pushRescueBootConfig({ system: 'web01', environment: 'rescue', workflowId: 'rescue-web01' });
      } catch (error) {
        refusals += 1;
        assert.ok(error instanceof ApplicationFailure, `${escape}: ${String(error)}`);
        assert.equal(error.type, 'RescueRefused');
        assert.equal(error.nonRetryable, true);
        assert.match(error.message, /^template "rescue-env rescue kernel args", line \d+: /, escape);
        assertNoSecret(error.message, escape);
        continue;
      }
      // Rendered: what the machine will fetch (public, unauthenticated) carries nothing of the host.
      const script = await (await fetch(`${api.url}/boot/ipxe/52:54:00:aa:00:01`)).text();
      assertNoSecret(script, `${escape} in the iPXE script`);
      await api.inventory.boot.clearOverride('web01');
    }
    assert.ok(refusals >= TEMPLATE_ESCAPES.length - 3, `${refusals} of ${TEMPLATE_ESCAPES.length} escapes were refused`);
    // A good template still renders through the same path.
    await api.inventory.rescueEnvironments.update('rescue', { kernelArgs: 'console=ttyS0 rescue.mac={{ mac }}' }, { name: 'test' });
    await activities.pushRescueBootConfig({ system: 'web01', environment: 'rescue', workflowId: 'rescue-web01' });
    const script = await (await fetch(`${api.url}/boot/ipxe/52:54:00:aa:00:01`)).text();
    assert.match(script, /rescue\.mac=52:54:00:aa:00:01/);
  });
});
