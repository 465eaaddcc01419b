// An alert that was answered 2xx is on disk, and so is the guard's decision of it, even though the admission
// commits without waiting for the disk (triggers/admission.ts, flushedByCaller): the alert's record, committed
// synchronously before the answer, flushes the WAL up to itself, and the admission's commit is before it. Shown
// on a PostgreSQL cluster of the test's own that is crashed (`pg_ctl stop -m immediate`: WAL buffers dropped)
// the moment the last answer arrives, then started again: what was answered is there. The sender's retry of a
// delivery that met the crash (a 503, which Alertmanager retries) is answered once the database is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openDatabase } from '../../db/client.js';
import { startTestApi } from '../support/api.js';
import type { TestDatabase } from '../support/databases.js';
import { privatePostgresAvailable, startPrivatePostgres } from '../support/private-postgres.js';
import { alertmanagerPayload } from '../support/triggers-lab.js';

const MACHINES = 12;
const unavailable = await privatePostgresAvailable();

test('alerts answered 2xx, and the guard decisions of them, survive PostgreSQL crashing at the last answer', { skip: unavailable ?? false, timeout: 180_000 }, async (t) => {
  const cluster = await startPrivatePostgres();
  t.after(() => cluster.stop());
  const database: TestDatabase = {
    label: 'private',
    async open() {
      const handle = await openDatabase({ databaseUrl: cluster.url, dataDir: '/nonexistent' });
      return { ...handle, url: cluster.url, drop: () => handle.close() };
    },
  };
  const api = await startTestApi(database);
  t.after(() => api.close());
  const setup: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
    ['/api/v1/profiles', { name: 'web', distro: 'deb12', rescuePolicy: 'repair' }],
    ...Array.from({ length: MACHINES + 1 }, (_, n): [string, unknown] => ['/api/v1/systems', { name: `node${n}`, profile: 'web', interfaces: [{ mac: `52:54:02:00:00:${n.toString(16).padStart(2, '0')}`, ip: `127.2.0.${n + 1}` }] }]),
  ];
  for (const [path, body] of setup) assert.equal((await api.request('POST', path, { body })).status, 201, path);
  const token = (await api.request('POST', '/api/v1/tokens', { body: { name: 'alertmanager', role: 'webhook' } })).body.token as string;
  // Dry run: the guard decides and records, and no BMC or Temporal is needed.
  assert.equal((await api.request('PATCH', '/api/v1/automation/settings', { body: { dryRun: true } })).status, 200);
  const deliver = (n: number) => api.request('POST', '/hooks/alertmanager', { body: alertmanagerPayload([{ labels: { instance: `node${n}:9100` }, fingerprint: `durable${n}` }]), token });

  for (let n = 0; n < MACHINES; n++) {
    const reply = await deliver(n);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.alerts[0].decision, 'dry-run');
  }
  await cluster.crash();
  await cluster.start();

  const reader = new pg.Client({ connectionString: cluster.url });
  await reader.connect();
  try {
    const recorded = await reader.query<{ fingerprint: string; decision: string }>(`select fingerprint, decision from alerts order by id`);
    assert.deepEqual(
      recorded.rows,
      Array.from({ length: MACHINES }, (_, n) => ({ fingerprint: `durable${n}`, decision: 'dry-run' })),
      'every answered alert is recorded',
    );
    const decided = await reader.query<{ system: string; decision: string }>(`select system_name as system, decision from guard_decisions order by id`);
    assert.deepEqual(
      decided.rows,
      Array.from({ length: MACHINES }, (_, n) => ({ system: `node${n}`, decision: 'dry-run' })),
      "every answered alert's admission is on disk",
    );
  } finally {
    await reader.end();
  }

  // The API's connections died with the server: the sender's retries of the next delivery get through.
  const deadline = Date.now() + 60_000;
  let reply = await deliver(MACHINES);
  while (reply.status !== 200 && Date.now() < deadline) {
    assert.equal(reply.status, 503, `a delivery that meets a database crash is answered 503, to be retried: ${JSON.stringify(reply.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    reply = await deliver(MACHINES);
  }
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.alerts[0].decision, 'dry-run');
});
