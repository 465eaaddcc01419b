// The guard's admission transactions on PostgreSQL (db/admission-connection.ts): BEGIN and the lock go out with
// the first statement, the COMMIT with a statement marked last, and named statements run as EXECUTE with their
// parameters written as literals. What must hold: a parameter is data, whatever it contains (quotes,
// backslashes, semicolons, braces in array elements), and comes back as the extended protocol gives it; the
// lock is held from the first statement on; the last statement's round trip commits; nothing runs after it or
// after the admission; a failure rolls back what went before. On the real PostgreSQL of DATABASE_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { commitWithoutFlush, executeNamed, rowsOf, type Database } from '../../db/client.js';
import { testDatabases } from '../support/databases.js';

const LOCK = 7_133_777;

/** The error's message and its causes' (drizzle wraps what the driver threw in a "Failed query" of its own). */
const messages = (error: unknown): string => (error instanceof Error ? `${error.message} <- ${messages(error.cause)}` : '');
const postgres = testDatabases().find((database) => database.label === 'postgres');

test('admission connection on PostgreSQL', { skip: postgres === undefined ? 'DATABASE_URL is not set' : false }, async (t) => {
  const handle = await postgres!.open();
  const outside = new pg.Client({ connectionString: handle.url });
  await outside.connect();
  t.after(async () => {
    await outside.end();
    await handle.drop();
  });
  await outside.query('create table admission_probe (note text not null)');
  const probeNotes = async () => (await outside.query<{ note: string }>('select note from admission_probe order by note')).rows.map((r) => r.note);
  const insertNote = (tx: Database, note: string, last = false) =>
    executeNamed(tx, 'admission_probe_insert', sql`insert into admission_probe (note) values (${note}) returning note`, { last });

  await t.test('parameters come back as the extended protocol gives them, and stay data', async () => {
    const nasty = `it's a \\ back'slash'); drop table admission_probe; --`;
    const names = ['plain', 'quote"d', "apo'strophe", 'comma,brace{}', 'back\\slash', 'ünïcode ✓', '', 'NULL'];
    const at = new Date('2026-12-03T05:21:25.246Z');
    const json = JSON.stringify({ reason: nasty, list: names });
    const echo = sql`select ${nasty}::text as text, ${sql.param(names)}::text[] as names, ${at}::timestamptz as at, ${json}::jsonb as json, ${42}::int as number, ${null}::text as nothing, ${true}::boolean as flag`;
    const inAdmission = await handle.admissions(LOCK, (tx) => executeNamed(tx, 'admission_probe_echo', echo));
    const extended = await executeNamed(handle.db, 'admission_probe_echo', echo);
    assert.deepEqual(inAdmission, extended);
    assert.deepEqual(inAdmission[0], { text: nasty, names, at, json: { reason: nasty, list: names }, number: 42, nothing: null, flag: true });
    assert.deepEqual(await probeNotes(), [], 'the table is still there, and empty');
  });

  await t.test('the lock is held from the first statement, and the last one commits in its round trip', async () => {
    const seen = await handle.admissions(LOCK, async (tx) => {
      await executeNamed(tx, 'admission_probe_count', sql`select count(*)::int as n from admission_probe`);
      const other = new pg.Client({ connectionString: handle.url });
      await other.connect();
      try {
        const { rows } = await other.query<{ taken: boolean }>(`select pg_try_advisory_lock(${LOCK}) as taken`);
        assert.equal(rows[0]!.taken, false, 'another session cannot take the lock while the admission runs');
      } finally {
        await other.end();
      }
      await insertNote(tx, 'committed', true);
      // Committed by now, before the admission returns: another session sees it.
      return probeNotes();
    });
    assert.deepEqual(seen, ['committed']);
  });

  await t.test('nothing runs after the last statement, nor after the admission', async () => {
    let kept: Database | undefined;
    await assert.rejects(
      handle.admissions(LOCK, async (tx) => {
        kept = tx;
        await insertNote(tx, 'last', true);
        await tx.execute(sql`select 1`);
      }),
      (error) => /committed by its last statement: no statement may follow it/.test(messages(error)),
    );
    await assert.rejects(insertNote(kept!, 'late'), /the admission transaction has ended/);
    assert.deepEqual(await probeNotes(), ['committed', 'last'], 'what the last statement committed stays; nothing late was written');
  });

  await t.test('a failure before the last statement rolls back what went before, and the connection serves the next', async () => {
    await assert.rejects(
      handle.admissions(LOCK, async (tx) => {
        await insertNote(tx, 'rolled back');
        await tx.execute(sql`insert into admission_probe (note) values ('also rolled back')`);
        throw new Error('the batch failed');
      }),
      /the batch failed/,
    );
    assert.deepEqual(await probeNotes(), ['committed', 'last']);
    const { rows } = await outside.query<{ taken: boolean }>(`select pg_try_advisory_lock(${LOCK}) as taken`);
    assert.equal(rows[0]!.taken, true, 'the lock went with the rollback');
    await outside.query(`select pg_advisory_unlock(${LOCK})`);
    await handle.admissions(LOCK, (tx) => insertNote(tx, 'next'));
    assert.deepEqual(await probeNotes(), ['committed', 'last', 'next'], 'committed at the end of the admission');
  });

  await t.test('commitWithoutFlush: that admission alone commits without waiting for the disk, said in front of its first statement or after it', async () => {
    const synchronousCommit = async (tx: Database) =>
      (await executeNamed<{ value: string }>(tx, 'admission_probe_synchronous_commit', sql`select current_setting('synchronous_commit') as value`))[0]!.value;
    assert.equal(
      await handle.admissions(LOCK, async (tx) => {
        await commitWithoutFlush(tx);
        return synchronousCommit(tx);
      }),
      'off',
    );
    assert.equal(await handle.admissions(LOCK, synchronousCommit), 'on', 'the next admission on the connection waits for the disk again');
    const late = await handle.admissions(LOCK, async (tx) => {
      const before = await synchronousCommit(tx);
      await commitWithoutFlush(tx);
      return [before, await synchronousCommit(tx)];
    });
    assert.deepEqual(late, ['on', 'off']);
    assert.equal((await outside.query<{ value: string }>(`select current_setting('synchronous_commit') as value`)).rows[0]!.value, 'on', "the server's setting is untouched");
  });

  await t.test('one name stands for one text on a connection', async () => {
    await assert.rejects(
      handle.admissions(LOCK, (tx) => executeNamed(tx, 'admission_probe_insert', sql`insert into admission_probe (note) values (${'x'} || 'y')`)),
      /stands for another text on this connection/,
    );
    await assert.rejects(handle.admissions(LOCK, (tx) => executeNamed(tx, 'Bad Name', sql`select 1`)), /lower-case identifier/);
  });
});

test('commitWithoutFlush on PGlite: a SET LOCAL of its transaction', async () => {
  const pglite = testDatabases().find((database) => database.label === 'pglite')!;
  const handle = await pglite.open();
  try {
    const setting = async (tx: Database) => rowsOf<{ value: string }>(await tx.execute(sql`select current_setting('synchronous_commit') as value`))[0]!.value;
    assert.equal(
      await handle.admissions(LOCK, async (tx) => {
        await commitWithoutFlush(tx);
        return setting(tx);
      }),
      'off',
    );
    assert.equal(await handle.admissions(LOCK, setting), 'on');
  } finally {
    await handle.drop();
  }
});
