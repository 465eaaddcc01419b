// One database handle for the whole process: PostgreSQL when DATABASE_URL is set, embedded PGlite in the
// data folder when it is not. Both speak the same SQL, so the same schema, migrations and queries serve.
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import * as schema from './schema.js';
import { executeInAdmission, pipelinedAdmissions, setLocalInAdmission } from './admission-connection.js';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** Runs `run` in one transaction that holds the advisory lock `lockKey` (pg_advisory_xact_lock) throughout. */
export type LockedTransaction = <T>(lockKey: number, run: (tx: Database) => Promise<T>) => Promise<T>;

/** A transaction, then the lock: two round trips before the first statement (the default, any connection). */
export function lockedTransactionOn(db: Database): LockedTransaction {
  return (lockKey, run) =>
    db.transaction(async (transaction) => {
      const tx = transaction as unknown as Database;
      await tx.execute(sql`select pg_advisory_xact_lock(${lockKey})`);
      return run(tx);
    });
}

/**
 * The node-postgres pools whose statements may be named (see executeNamed), each with the pool beside it whose
 * sessions plan every named statement once.
 */
const namedStatementPools = new WeakMap<object, { genericPlan: import('pg').Pool }>();
const dialect = new PgDialect();

/**
 * Runs `query` as the prepared statement `name`. On PostgreSQL it is parsed once per connection, and planned
 * once when the server finds its generic plan as good as a fresh one: for the guard's facts, which it runs
 * while holding its lock, that is a millisecond of the lock's time less per batch. Inside an admission on
 * PostgreSQL (db/admission-connection.ts) it goes out with what must precede it, and `last` (the
 * transaction's last statement: nothing may follow it) commits in the same round trip. `genericPlan`: on
 * the pool, it runs on a connection of a small pool of its own whose sessions plan every named statement once
 * (plan_cache_mode = force_generic_plan), for a statement whose best plan does not depend on its values but
 * which PostgreSQL would plan afresh for every call (admissions plan theirs once anyway). On PGlite it runs
 * as a plain statement, and the transaction commits when it ends. One name, one text: a query whose text
 * varies (a list of parameters of varying length) must not be named; pass a list as one array parameter.
 */
export async function executeNamed<Row extends Record<string, unknown>>(db: Database, name: string, query: SQL, options: { last?: boolean; genericPlan?: boolean } = {}): Promise<Row[]> {
  const inAdmission = await executeInAdmission<Row>(db, name, query, options.last ?? false);
  if (inAdmission !== undefined) return inAdmission;
  const client = (db as unknown as { $client?: object }).$client;
  const beside = client === undefined ? undefined : namedStatementPools.get(client);
  if (beside !== undefined) {
    const { sql: text, params } = dialect.sqlToQuery(query);
    const pool = options.genericPlan ? beside.genericPlan : (client as import('pg').Pool);
    return (await pool.query<Row>({ name, text, values: params })).rows;
  }
  return rowsOf<Row>(await db.execute(query));
}

/**
 * Lets the transaction `tx` commit without waiting for its WAL to reach the disk (synchronous_commit = off for
 * it alone). Only for a transaction whose caller commits another transaction synchronously before it tells
 * anyone what this one did: that commit flushes the WAL up to its own record, and this transaction's is before
 * it. Until then a crash of the database server (not of this process) may lose it, and nobody was told.
 */
export async function commitWithoutFlush(tx: Database): Promise<void> {
  if (await setLocalInAdmission(tx, 'synchronous_commit', 'off')) return;
  await tx.execute(sql`set local synchronous_commit = off`);
}

/** The rows of `db.execute`'s answer: node-postgres and PGlite give a result with `rows`, other drivers an array. */
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}

export interface DatabaseHandle {
  db: Database;
  /**
   * Where the guard's admissions run: on PostgreSQL a connection of their own (they are one at a time in a
   * process anyway), so that an admission, which holds the guard's lock, never waits for the pool behind the
   * requests that are waiting for it, and whose BEGIN and lock go out with its first statement and whose
   * COMMIT with its last (db/admission-connection.ts); on PGlite, its one connection.
   */
  admissions: LockedTransaction;
  kind: 'postgres' | 'pglite';
  /** Where it is, without credentials: fit for logs. */
  location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgresql://${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'postgresql (unparsable DATABASE_URL)';
  }
}

/** PostgreSQL limits, so that a server that stops answering or a stuck query cannot hang a request or a worker. */
export interface DatabaseTimeouts {
  /** How long to wait for a connection (pg Pool connectionTimeoutMillis). */
  connectMs: number;
  /** The longest a statement may run (statement_timeout). */
  statementMs: number;
  /** The longest a transaction may sit idle holding its locks (idle_in_transaction_session_timeout). */
  idleInTransactionMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs: 10_000, statementMs: 30_000, idleInTransactionMs: 60_000 };

export async function openDatabase(options: { databaseUrl: string | undefined; dataDir: string; timeouts?: DatabaseTimeouts | undefined } | { inMemory: true }): Promise<DatabaseHandle> {
  if ('inMemory' in options) return openPglite(undefined);
  if (options.databaseUrl !== undefined) return openPostgres(options.databaseUrl, options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS);
  const folder = join(options.dataDir, 'pglite');
  await mkdir(folder, { recursive: true });
  return openPglite(folder);
}

async function openPostgres(url: string, timeouts: DatabaseTimeouts): Promise<DatabaseHandle> {
  const { default: pg } = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const { migrate } = await import('drizzle-orm/node-postgres/migrator');
  /** `session`: a statement every new connection runs before it serves any other. */
  const newPool = (settings: { max: number; session?: string }) => {
    const { session } = settings;
    const created = new pg.Pool({
      connectionString: url,
      max: settings.max,
      ...(session === undefined ? {} : { onConnect: async (client: import('pg').ClientBase) => void (await client.query(session)) }),
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    });
    // An idle client that loses its server must not take the process down; nor must a checked-out one whose
    // session the server ends (idle_in_transaction_session_timeout): its pending query fails on its own.
    created.on('error', () => undefined);
    created.on('connect', (client) => client.on('error', () => undefined));
    return created;
  };
  const pool = newPool({ max: 10 });
  const db = drizzle(pool, { schema });
  const admissionPool = newPool({ max: 1 });
  // Two connections: its statements are coalesced (db/coalesced-queries.ts), so one runs at a time.
  const genericPlanPool = newPool({ max: 2, session: 'set plan_cache_mode = force_generic_plan' });
  namedStatementPools.set(pool, { genericPlan: genericPlanPool });
  let client: import('pg').PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await Promise.all([pool, admissionPool, genericPlanPool].map((p) => p.end().catch(() => undefined)));
    throw new Error(`PostgreSQL at ${describeDatabaseUrl(url)} did not accept a connection within ${timeouts.connectMs} ms: ${(error as Error).message}`, { cause: error });
  }
  try {
    // Waiting for another process's migrations, and the migrations themselves, may take longer than a
    // request's statement: no statement timeout on this one session.
    await client.query('set statement_timeout = 0');
    // Several workers may start at once against one database: migrate under an advisory lock.
    await client.query('select pg_advisory_lock(7133001)');
    await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query('select pg_advisory_unlock(7133001)').catch(() => undefined);
    // Back to the pool's statement timeout for whoever gets this connection next.
    await client.query('reset statement_timeout').catch(() => undefined);
    client.release();
  }
  return {
    db: db as unknown as Database,
    admissions: pipelinedAdmissions(admissionPool, (queryable) => drizzle(queryable as import('pg').PoolClient, { schema }) as unknown as Database),
    kind: 'postgres',
    location: describeDatabaseUrl(url),
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      await Promise.all([pool.end(), admissionPool.end(), genericPlanPool.end()]);
    },
  };
}

async function openPglite(folder: string | undefined): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const client = folder === undefined ? new PGlite() : new PGlite(folder);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db: db as unknown as Database,
    admissions: lockedTransactionOn(db as unknown as Database),
    kind: 'pglite',
    location: folder ?? 'memory',
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      await client.close();
    },
  };
}
