// Tables and maps that machines, rescues, monitoring and callers write to stay bounded: old boot fetches,
// events and received alerts are pruned by the worker's timer, leftover handshakes go, the fetch recorder forgets the least recent
// addresses, a token's last use is written once a minute (not per request), and PostgreSQL connections and
// statements have timeouts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { pruneExpiredRecords } from '../../db/retention.js';
import { startRetention } from '../../workers/retention.js';
import { createFetchRecorder } from '../../boot/fetch-recorder.js';
import { createHandshakeSecrets } from '../../rescue/handshake.js';
import { openDatabase } from '../../db/client.js';
import { TOKEN_CACHE_MS } from '../../db/repositories/tokens.js';
import { setTimeout as sleep } from 'node:timers/promises';

const DAY = 86_400_000;

async function count(api: TestApi, table: string): Promise<number> {
  const result = await api.db.execute(sql.raw(`select count(*)::int as n from ${table}`));
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ n: number }>;
  return Number(rows[0]!.n);
}

for (const database of testDatabases()) {
  describe(`bounded growth on ${database.label}`, () => {
    let api: TestApi;

    before(async () => {
      api = await startTestApi(database);
      const steps: Array<[string, unknown]> = [
        ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
        ['/api/v1/profiles', { name: 'p', distro: 'd' }],
        ['/api/v1/systems', { name: 'bg01', profile: 'p', interfaces: [{ mac: '52:54:00:00:30:01' }] }],
      ];
      for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
    });
    after(async () => api?.close());

    test('pruning removes boot fetches, events and alerts older than their retention, and expired handshakes', async () => {
      const recorder = createFetchRecorder(api.inventory);
      for (let i = 0; i < 6; i++) await recorder.record({ protocol: 'http', clientAddress: '127.0.0.1', file: `f${i}`, bytes: 1, outcome: 'complete', mac: '52:54:00:00:30:01' });
      await api.db.execute(sql`update boot_fetches set at = now() - interval '20 days' where file in ('f0', 'f1', 'f2')`);
      for (let i = 0; i < 4; i++) await api.inventory.events.record({ kind: 'test.old', objectType: 'system', objectName: 'bg01', actor: 'test' });
      await api.db.execute(sql`update events set at = now() - interval '100 days' where kind = 'test.old'`);
      const eventsBefore = await count(api, 'events');
      const alert = { receiver: 'poller', deliveredBy: 'http://127.0.0.1:9093', status: 'firing', alertName: 'Watchdog', labels: {}, annotations: {}, startsAt: '2026-01-01T10:00:00.000Z', system: null, decision: 'unknown-machine' as const, reason: 'no label names a machine', workflowId: null };
      await api.inventory.alerts.recordAll([1, 2, 3, 4, 5].map((i) => ({ ...alert, fingerprint: `old-${i}` })));
      await api.inventory.alerts.recordAll([{ ...alert, fingerprint: 'recent' }]);
      await api.db.execute(sql`update alerts set received_at = now() - interval '100 days' where fingerprint like 'old-%'`);
      const alertsBefore = await count(api, 'alerts');
      await api.inventory.rescues.createHandshake({ workflowId: 'rescue-gone', system: 'bg01', mac: '52:54:00:00:30:01', secrets: createHandshakeSecrets('t'), expiresAt: new Date(Date.now() - 1000) });
      await api.inventory.rescues.createHandshake({ workflowId: 'rescue-live', system: 'bg01', mac: '52:54:00:00:30:01', secrets: createHandshakeSecrets('t'), expiresAt: new Date(Date.now() + DAY) });
      const report = await pruneExpiredRecords(api.inventory, { bootFetchRetentionMs: 14 * DAY, eventRetentionMs: 90 * DAY, alertRetentionMs: 90 * DAY });
      assert.deepEqual({ ...report, installTokens: 0 }, { bootFetches: 3, events: 4, alerts: 5, handshakes: 1, installTokens: 0 });
      assert.equal(await count(api, 'alerts'), alertsBefore - 5);
      assert.deepEqual([...(await api.inventory.alerts.alreadyReceived([{ fingerprint: 'recent', startsAt: alert.startsAt }]))], [`recent@${Date.parse(alert.startsAt)}`], 'the recent alert stays');
      assert.equal(await count(api, 'boot_fetches'), 3);
      assert.equal(await count(api, 'events'), eventsBefore - 4);
      assert.equal(await count(api, 'rescue_handshakes'), 1, 'the live handshake stays');
      // Retention 0 keeps everything.
      await api.db.execute(sql`update boot_fetches set at = now() - interval '400 days'`);
      await api.db.execute(sql`update alerts set received_at = now() - interval '400 days'`);
      const keptAll = await pruneExpiredRecords(api.inventory, { bootFetchRetentionMs: 0, eventRetentionMs: 0, alertRetentionMs: 0 });
      assert.deepEqual([keptAll.bootFetches, keptAll.alerts], [0, 0]);
      assert.equal(await count(api, 'boot_fetches'), 3);
      assert.equal(await count(api, 'alerts'), alertsBefore - 5);
    });

    test("the worker's retention timer prunes on its own, and stops", async () => {
      await api.db.execute(sql`update boot_fetches set at = now() - interval '400 days'`);
      const lines: string[] = [];
      const stop = startRetention(api.inventory, { bootFetchRetentionMs: DAY, eventRetentionMs: 90 * DAY, alertRetentionMs: 90 * DAY, intervalMs: 50, log: (line) => lines.push(line) });
      const deadline = Date.now() + 10_000;
      while ((await count(api, 'boot_fetches')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await stop();
      assert.equal(await count(api, 'boot_fetches'), 0);
      assert.ok(lines.some((l) => /retention: removed 3 bootFetches/.test(l)), lines.join('\n'));
    });

    test('the fetch recorder remembers a bounded number of client addresses', async () => {
      const recorder = createFetchRecorder(api.inventory, Date.now, 20);
      for (let i = 1; i <= 120; i++) {
        await recorder.record({ protocol: 'tftp', clientAddress: `127.0.${Math.floor(i / 250)}.${i % 250}`, file: 'pxelinux.cfg/01-52-54-00-00-30-01', bytes: 1, outcome: 'complete' });
      }
      assert.equal(recorder.rememberedAddresses(), 20);
      // The most recent addresses are the ones kept: a kernel fetch from the last one is still attributed.
      await recorder.record({ protocol: 'tftp', clientAddress: '127.0.0.120', file: 'd/vmlinuz', bytes: 1, outcome: 'complete' });
      const [latest] = await api.inventory.boot.fetchesOf('bg01', { limit: 1 });
      assert.equal(latest?.file, 'd/vmlinuz');
    });

    test("a token's last use is written at most once a minute, not on every request", async () => {
      const created = await api.inventory.tokens.create({ name: 'lastuse', role: 'viewer' }, { name: 'test' });
      assert.equal((await api.request('GET', '/api/v1/systems', { token: created.token })).status, 200);
      const first = (await api.inventory.tokens.page({ limit: 1000 })).items.find((t) => t.name === 'lastuse')?.lastUsedAt;
      assert.ok(first, 'the first use is recorded');
      for (let i = 0; i < 3; i++) assert.equal((await api.request('GET', '/api/v1/systems', { token: created.token })).status, 200);
      const after = (await api.inventory.tokens.page({ limit: 1000 })).items.find((t) => t.name === 'lastuse')?.lastUsedAt;
      assert.equal(after, first, 'no UPDATE for the requests within the minute');
      // A minute later, the next use is recorded again (once the API's memory of the token has lapsed: it
      // remembers a valid token, and when it last wrote its use, for TOKEN_CACHE_MS).
      await api.db.execute(sql`update api_tokens set last_used_at = now() - interval '2 minutes' where name = 'lastuse'`);
      await sleep(TOKEN_CACHE_MS + 100);
      const stale = (await api.inventory.tokens.page({ limit: 1000 })).items.find((t) => t.name === 'lastuse')?.lastUsedAt;
      assert.equal((await api.request('GET', '/api/v1/systems', { token: created.token })).status, 200);
      const refreshed = (await api.inventory.tokens.page({ limit: 1000 })).items.find((t) => t.name === 'lastuse')?.lastUsedAt;
      assert.ok(refreshed && stale && Date.parse(refreshed) > Date.parse(stale));
    });
  });
}

describe('PostgreSQL timeouts', { skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set' }, () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  before(async () => {
    // A server that accepts TCP connections and never answers, as a hung PostgreSQL would.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('a server that does not answer fails the connection after the connect timeout', async () => {
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    await assert.rejects(
      openDatabase({ databaseUrl: `postgresql://rescued:rescued@127.0.0.1:${port}/rescued`, dataDir: '/nonexistent', timeouts: { connectMs: 300, statementMs: 1000, idleInTransactionMs: 1000 } }),
      /did not accept a connection within 300 ms/,
    );
    assert.ok(Date.now() - started < 5_000, `gave up after ${Date.now() - started} ms`);
  });

  test('a statement that runs too long and a transaction left idle are ended by the server', async () => {
    const [target] = testDatabases().filter((d) => d.label === 'postgres');
    const scratch = await target!.open();
    const handle = await openDatabase({ databaseUrl: scratch.url!, dataDir: '/nonexistent', timeouts: { connectMs: 5000, statementMs: 300, idleInTransactionMs: 300 } });
    try {
      await assert.rejects(handle.db.execute(sql`select pg_sleep(3)`), (error: Error & { cause?: { code?: string } }) => (error.cause?.code ?? (error as { code?: string }).code) === '57014');
      await assert.rejects(
        handle.db.transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await tx.execute(sql`select 1`);
        }),
      );
      await handle.db.execute(sql`select 1`);
    } finally {
      await handle.close();
      await scratch.drop().catch(() => undefined);
    }
  });
});
