// Every list route pages: `limit` (at most 1000) and `cursor`, the next page's cursor in x-next-cursor and a
// Link rel="next" header. Walking the pages gives every row exactly once, in the list's order, even when rows
// come and go between two pages; rescuectl follows the pages by itself or prints one with --limit/--cursor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { createFetchRecorder } from '../../boot/fetch-recorder.js';

type Item = Record<string, unknown>;

for (const database of testDatabases()) {
  describe(`pagination on ${database.label}`, () => {
    let api: TestApi;
    const systemNames: string[] = [];

    async function page(path: string): Promise<{ status: number; items: Item[]; next: string | null; link: string | null; body: Item }> {
      const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.adminToken}` } });
      const body = (await response.json()) as Item;
      return { status: response.status, items: Array.isArray(body) ? (body as Item[]) : [], next: response.headers.get('x-next-cursor'), link: response.headers.get('link'), body };
    }

    /** Every page of a list, following x-next-cursor; each page at most `limit` rows. */
    async function walk(path: string, limit: number, between?: (pageNumber: number) => Promise<void>): Promise<{ items: Item[]; pages: number }> {
      const items: Item[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const separator = path.includes('?') ? '&' : '?';
        const got = await page(`${path}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(got.status, 200, JSON.stringify(got.body));
        assert.ok(got.items.length <= limit);
        if (got.next !== null) assert.match(got.link ?? '', new RegExp(`^<${path.split('?')[0]}\\?.*cursor=${got.next}.*>; rel="next"$`));
        items.push(...got.items);
        cursor = got.next;
        pages += 1;
        if (between) await between(pages);
      } while (cursor !== null);
      return { items, pages };
    }

    before(async () => {
      // The rescue routes need a Temporal client; listing rescue runs never calls it (nothing listens there).
      api = await startTestApi(database);
      const steps: Array<[string, unknown]> = [
        ['/api/v1/distros', { name: 'd1', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
        ['/api/v1/distros', { name: 'd2', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
        ['/api/v1/distros', { name: 'd3', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
        ['/api/v1/repos', { name: 'r1', mirror: 'http://127.0.0.1/r1', arch: 'x86_64' }],
        ['/api/v1/repos', { name: 'r2', mirror: 'http://127.0.0.1/r2', arch: 'x86_64' }],
        ['/api/v1/repos', { name: 'r3', mirror: 'http://127.0.0.1/r3', arch: 'x86_64' }],
        ['/api/v1/templates', { name: 't1', kind: 'kickstart', body: 'a' }],
        ['/api/v1/templates', { name: 't2', kind: 'kickstart', body: 'b' }],
        ['/api/v1/templates', { name: 't3', kind: 'kickstart', body: 'c' }],
        ['/api/v1/rescue-environments', { name: 'e1', kernel: 'k', initrd: 'i', arch: 'x86_64', osFamilies: ['debian'] }],
        ['/api/v1/rescue-environments', { name: 'e2', kernel: 'k', initrd: 'i', arch: 'x86_64', osFamilies: ['debian'] }],
        ['/api/v1/rescue-environments', { name: 'e3', kernel: 'k', initrd: 'i', arch: 'x86_64', osFamilies: ['debian'] }],
        ['/api/v1/profiles', { name: 'p1', distro: 'd1' }],
        ['/api/v1/profiles', { name: 'p2', distro: 'd1' }],
        ['/api/v1/profiles', { name: 'p3', parent: 'p1' }],
        ['/api/v1/tokens', { name: 'tok-a', role: 'viewer' }],
        ['/api/v1/tokens', { name: 'tok-b', role: 'viewer' }],
      ];
      for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
      for (let i = 0; i < 23; i++) {
        const name = `s${String(i).padStart(3, '0')}`;
        systemNames.push(name);
        const body = { name, profile: i % 2 === 0 ? 'p1' : 'p2', labels: { rack: i % 3 === 0 ? 'r1' : 'r2' }, interfaces: [{ mac: `52:54:00:00:40:${i.toString(16).padStart(2, '0')}` }] };
        assert.equal((await api.request('POST', '/api/v1/systems', { body })).status, 201);
      }
      for (const system of ['s000', 's001', 's002']) {
        await api.inventory.rescues.open({ workflowId: `rescue-${system}`, runId: `run-${system}`, system, reason: 'test', requestedBy: 'test' });
        await api.inventory.rescues.close(`rescue-${system}`, `run-${system}`, 'repaired', null);
      }
      for (let i = 0; i < 3; i++) {
        await api.inventory.installHistory.start('s000', 'p1', 'd1');
        await api.inventory.installHistory.finish('s000', 'success');
      }
      const recorder = createFetchRecorder(api.inventory);
      for (let i = 0; i < 5; i++) await recorder.record({ protocol: 'http', clientAddress: '127.0.0.1', file: `f${i}`, bytes: 1, outcome: 'complete', mac: '52:54:00:00:40:00' });
    });
    after(async () => api?.close());

    test('every list route: the pages hold every row exactly once, in the order of the full list', async () => {
      const lists: Array<[string, string]> = [
        ['/api/v1/distros', 'name'],
        ['/api/v1/profiles', 'name'],
        ['/api/v1/systems', 'name'],
        ['/api/v1/systems?profile=p1', 'name'],
        ['/api/v1/systems?label=rack=r1', 'name'],
        ['/api/v1/repos', 'name'],
        ['/api/v1/rescue-environments', 'name'],
        ['/api/v1/templates', 'name'],
        ['/api/v1/tokens', 'name'],
        ['/api/v1/events', 'id'],
        ['/api/v1/events?objectType=system', 'id'],
        ['/api/v1/rescues', 'id'],
        ['/api/v1/systems/s000/install-history', 'id'],
        ['/api/v1/systems/s000/boot-fetches', 'file'],
        ['/api/v1/status', 'system'],
      ];
      for (const [path, key] of lists) {
        const whole = await page(`${path}${path.includes('?') ? '&' : '?'}limit=1000`);
        assert.equal(whole.status, 200, `${path}: ${JSON.stringify(whole.body)}`);
        assert.equal(whole.next, null, `${path}: one page holds it all`);
        assert.ok(whole.items.length >= 3, `${path} has ${whole.items.length} rows`);
        const walked = await walk(path, 2);
        const keys = walked.items.map((item) => item[key]);
        assert.deepEqual(keys, whole.items.map((item) => item[key]), `${path}: the same rows in the same order`);
        assert.equal(new Set(keys).size, keys.length, `${path}: no row twice`);
        assert.equal(walked.pages, Math.ceil(whole.items.length / 2), `${path}: pages of 2, the last one without a next cursor`);
      }
      const filtered = (await walk('/api/v1/systems?label=rack=r1&profile=p1', 2)).items.map((s) => s.name);
      assert.deepEqual(filtered, systemNames.filter((_, i) => i % 3 === 0 && i % 2 === 0));
    });

    test('rows removed or added between pages shift nothing: each remaining row once', async () => {
      const removed = 's001';
      const seen = await walk('/api/v1/systems', 4, async (pageNumber) => {
        if (pageNumber === 1) {
          assert.equal((await api.request('DELETE', `/api/v1/systems/${removed}`)).status, 204);
          assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'zzz-late', profile: 'p1', interfaces: [{ mac: '52:54:00:00:41:01' }] } })).status, 201);
          assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'a-early', profile: 'p1', interfaces: [{ mac: '52:54:00:00:41:02' }] } })).status, 201);
        }
      });
      const names = seen.items.map((s) => s.name as string);
      assert.equal(new Set(names).size, names.length, 'no row twice');
      for (const name of systemNames) assert.ok(names.includes(name), `${name} was seen`);
      assert.ok(names.includes('zzz-late'), 'a row added after the cursor is seen');
      assert.ok(!names.includes('a-early'), 'a row added before the cursor is not (it is on a page already read)');
    });

    test('limits and cursors are checked', async () => {
      for (const [query, pattern] of [
        ['limit=0', /limit/],
        ['limit=1001', /limit/],
        ['limit=abc', /limit/],
        ['cursor=not%20base64', /cursor/],
        [`cursor=${Buffer.from('["x", 1]').toString('base64url')}`, /cursor: not a cursor of this list/],
      ] as const) {
        const got = await page(`/api/v1/systems?${query}`);
        assert.equal(got.status, 400, `${query}: ${JSON.stringify(got.body)}`);
        assert.match(String(got.body.message), pattern);
      }
      const eventCursorOnNames = await page(`/api/v1/systems?cursor=${Buffer.from('[5]').toString('base64url')}`);
      assert.equal(eventCursorOnNames.status, 400, "another list's cursor is refused");
      assert.equal(eventCursorOnNames.body.field, 'cursor');
    });

    test('rescuectl lists: every page by itself, or one page with --limit and --cursor', async () => {
      const env = { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken };
      const first = await runRescuectl(['--json', 'system', 'list', '--limit', '5'], env);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      const firstRows = JSON.parse(first.stdout) as Item[];
      assert.equal(firstRows.length, 5);
      const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
      assert.ok(cursor, first.stderr);
      const second = await runRescuectl(['--json', 'system', 'list', '--limit', '5', '--cursor', cursor], env);
      assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
      const secondRows = JSON.parse(second.stdout) as Item[];
      assert.equal(secondRows.length, 5);
      assert.ok(String(secondRows[0]!.name) > String(firstRows[4]!.name));
      assert.equal((await runRescuectl(['system', 'list', '--limit', '0'], env)).code, 2);
      // More systems than the largest page: the CLI follows the pages to the end.
      const profileId = sql`(select id from profiles where name = 'p1')`;
      await api.db.execute(sql`insert into systems (name, profile_id, arch, firmware) select 'bulk' || lpad(g::text, 5, '0'), ${profileId}, 'x86_64', 'bios' from generate_series(1, 1005) g`);
      const all = await runRescuectl(['--json', 'system', 'list'], env);
      assert.equal(all.code, 0, `${all.stdout.slice(0, 500)}\n${all.stderr}`);
      const names = (JSON.parse(all.stdout) as Item[]).map((s) => s.name as string);
      assert.equal(names.filter((n) => n.startsWith('bulk')).length, 1005);
      assert.equal(new Set(names).size, names.length);
      assert.equal(all.stderr.includes('--cursor'), false, 'no "more" hint when every page was read');
    });
  });
}
