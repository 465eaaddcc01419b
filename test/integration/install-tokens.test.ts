// Install status tokens are per install: a machine (or anyone on the provisioning network) that reads an
// autoinstall file can report only that install, only while it runs, and only until the token expires.
// Before, the token was an HMAC of the system name: the same forever, for every install, forgeable into
// "started" then "finished" whenever one liked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { createNetbootService } from '../../boot/netboot.js';
import { createInstallTracker, StatusTokenError } from '../../boot/install-status.js';

const TEMPLATE = '%pre\ncurl "{{ status_url_started }}"\n%end\n%post\ncurl "{{ status_url_finished }}"\n%end\n';

for (const database of testDatabases()) {
  describe(`install status tokens on ${database.label}`, () => {
    let api: TestApi;
    const tokenIn = (text: string) => /started\?token=([A-Za-z0-9_-]*)/.exec(text)?.[1] ?? '';
    const autoinstall = async (system: string) => (await fetch(`${api.url}/boot/autoinstall/${system}`)).text();
    const status = (system: string, phase: string, token: string) => fetch(`${api.url}/boot/status/${system}/${phase}?token=${token}`, { method: 'POST' });

    before(async () => {
      api = await startTestApi(database);
      const steps: Array<[string, unknown]> = [
        ['/api/v1/templates', { name: 'ks', kind: 'kickstart', body: TEMPLATE }],
        ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'redhat', osVersion: '9' }],
        ['/api/v1/profiles', { name: 'p', distro: 'd', autoinstall: 'ks' }],
        ['/api/v1/systems', { name: 'idle01', profile: 'p', netbootEnabled: false, interfaces: [{ mac: '52:54:00:00:10:01' }] }],
        ['/api/v1/systems', { name: 'inst01', profile: 'p', netbootEnabled: true, interfaces: [{ mac: '52:54:00:00:10:02' }] }],
        ['/api/v1/systems', { name: 'inst02', profile: 'p', netbootEnabled: true, interfaces: [{ mac: '52:54:00:00:10:03' }] }],
      ];
      for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
    });
    after(async () => api?.close());

    test('a system that expects no install hands out no token: forged started/finished are refused', async () => {
      const text = await autoinstall('idle01');
      assert.equal(tokenIn(text), '', 'netboot off: no token in the file');
      const started = await status('idle01', 'started', tokenIn(text));
      assert.equal(started.status, 403);
      assert.match(((await started.json()) as { message: string }).message, /no token/);
      // A token of another system's install does not work for this one either.
      const other = tokenIn(await autoinstall('inst02'));
      assert.notEqual(other, '');
      assert.equal((await status('idle01', 'started', other)).status, 403);
      assert.equal((await api.inventory.installHistory.list('idle01')).length, 0, 'nothing was written to the history');
      assert.equal((await api.inventory.systems.get('idle01')).netbootEnabled, false);
    });

    test('one token per install: random, refused once the install finished, replaced by the next install', async () => {
      const first = tokenIn(await autoinstall('inst01'));
      assert.match(first, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(tokenIn(await autoinstall('inst01')), first, 'the same install renders the same token');
      assert.notEqual(first, tokenIn(await autoinstall('inst02')), 'each install has its own');
      assert.equal((await status('inst01', 'finished', first)).status, 409, 'finished before started');
      assert.equal((await status('inst01', 'started', first)).status, 200);
      assert.equal((await status('inst01', 'finished', first)).status, 200);
      assert.equal((await api.inventory.systems.get('inst01')).netbootEnabled, false, 'the finished install turned netboot off');
      // Replays of the used token: refused, and nothing changes.
      const again = await status('inst01', 'started', first);
      assert.equal(again.status, 409);
      assert.match(((await again.json()) as { message: string }).message, /closed at .*install finished/);
      assert.equal((await status('inst01', 'finished', first)).status, 409);
      assert.equal((await status('inst01', 'failed', first)).status, 409);
      const history = await api.inventory.installHistory.list('inst01');
      assert.deepEqual(history.map((h) => h.outcome), ['success']);
      // The next install (netboot on again) gets a new token; the old one stays dead.
      assert.equal((await api.request('PATCH', '/api/v1/systems/inst01', { body: { netbootEnabled: true } })).status, 200);
      const second = tokenIn(await autoinstall('inst01'));
      assert.notEqual(second, '');
      assert.notEqual(second, first);
      assert.equal((await status('inst01', 'started', first)).status, 409);
      assert.equal((await status('inst01', 'started', second)).status, 200);
      assert.equal((await status('inst01', 'failed', second)).status, 200);
      assert.equal((await status('inst01', 'finished', second)).status, 409, 'refused after the install failed');
      assert.deepEqual((await api.inventory.installHistory.list('inst01')).map((h) => h.outcome), ['failed', 'success']);
    });

    test('netboot turned off closes the pending install token', async () => {
      const token = tokenIn(await autoinstall('inst02'));
      assert.equal((await api.request('PATCH', '/api/v1/systems/inst02', { body: { netbootEnabled: false } })).status, 200);
      assert.equal((await status('inst02', 'started', token)).status, 409);
      assert.equal(tokenIn(await autoinstall('inst02')), '');
    });

    test('a token expires after its lifetime, counted from the first fetch', async () => {
      assert.equal((await api.request('PATCH', '/api/v1/systems/inst02', { body: { netbootEnabled: true } })).status, 200);
      const shortLived = createNetbootService({ inventory: api.inventory, urls: api.netboot.urls, installTokenLifetimeMs: 200 });
      const tracker = createInstallTracker({ inventory: api.inventory, netboot: shortLived, stallAfterMs: 60_000 });
      const token = tokenIn((await shortLived.renderAutoinstall('inst02', 'machine')).body);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await assert.rejects(tracker.installStarted('inst02', token), (error: unknown) => error instanceof StatusTokenError && error.status === 403 && /expired at/.test(error.message));
      assert.equal(tokenIn((await shortLived.renderAutoinstall('inst02', 'machine')).body), '', 'an expired install renders no token');
    });

    test('tokens are stored hashed and encrypted, and an operator preview never shows one', async () => {
      assert.equal((await api.request('PATCH', '/api/v1/systems/inst02', { body: { netbootEnabled: false } })).status, 200);
      assert.equal((await api.request('PATCH', '/api/v1/systems/inst02', { body: { netbootEnabled: true } })).status, 200);
      const token = tokenIn(await autoinstall('inst02'));
      const rows = await rawRows(api, 'install_tokens');
      assert.ok(rows.length > 0);
      assert.equal(JSON.stringify(rows).includes(token), false, 'the token is not stored as it is');
      const preview = await fetch(`${api.url}/api/v1/systems/inst02/autoinstall`, { headers: { authorization: `Bearer ${api.adminToken}` } });
      assert.equal(preview.status, 200);
      const text = await preview.text();
      assert.equal(text.includes(token), false);
      assert.match(text, /started\?token=\[redacted\]/);
    });
  });
}

async function rawRows(api: TestApi, table: string): Promise<unknown[]> {
  const result = await api.db.execute(sql.raw(`select * from ${table}`));
  return Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
}
