// The guard's admissions on PostgreSQL: a connection of their own whose transaction takes as few round trips
// as its statements allow. An admission holds the guard's lock from its BEGIN to its COMMIT, and each round
// trip in between is time every other delivery waits for, on a loaded machine a millisecond or more. So BEGIN
// and the lock go out in front of the transaction's first statement, and a statement that says it is the last
// carries the COMMIT: a batch of the guard (its facts, then its writes) is two round trips, not four.
// node-postgres sends one statement per extended-protocol message, but a simple query may carry several; the
// named statements are therefore prepared once per connection (PREPARE) and run with EXECUTE, their
// parameters written as literals the way node-postgres would send them, and quoted by its escapeLiteral.
import { createRequire } from 'node:module';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { SQL } from 'drizzle-orm';
import type { Database, LockedTransaction } from './client.js';

const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue(value: unknown): string | Buffer | null;
  escapeLiteral(text: string): string;
};
const dialect = new PgDialect();

/** What an admission connection is doing: its prepared statements, and the transaction of the admission on it. */
interface AdmissionConnection {
  client: PoolClient;
  /** drizzle over this connection, through `send`: its statements follow the opening too. */
  tx: Database;
  /** The text each PREPAREd name stands for on this connection: one name, one text. */
  prepared: Map<string, string>;
  /** BEGIN and the lock, until they go out in front of the transaction's first statement. */
  opening: string[] | undefined;
  /** An admission's transaction is on it: statements may go out. */
  open: boolean;
  /** The last statement committed the transaction: nothing may follow it. */
  committed: boolean;
}

/** The admission connections, by the client object their drizzle holds (`$client`). */
const connections = new WeakMap<object, AdmissionConnection>();

const STATEMENT_NAME = /^[a-z_][a-z0-9_]*$/;

/** One parameter as a literal: the text node-postgres would send for it, quoted. */
function literalOf(value: unknown): string {
  const text = pgUtils.prepareValue(value);
  if (text === null) return 'null';
  if (typeof text !== 'string') throw new Error('a binary parameter cannot be written into an admission statement');
  return pgUtils.escapeLiteral(text);
}

/** Throws when no statement may go out on the connection now. */
function assertUsable(connection: AdmissionConnection): void {
  if (!connection.open) throw new Error('the admission transaction has ended: its statements must run inside it');
  if (connection.committed) throw new Error('the admission transaction was committed by its last statement: no statement may follow it');
}

/** What must go out in front of the next statement: BEGIN and the lock, the first time. */
function takeOpening(connection: AdmissionConnection): string[] {
  assertUsable(connection);
  const opening = connection.opening ?? [];
  connection.opening = undefined;
  return opening;
}

function connectionOf(client: PoolClient, over: (queryable: object) => Database): AdmissionConnection {
  const existing = connections.get(client);
  if (existing !== undefined) return existing;
  // What drizzle's statements go through: the opening first, if it has not gone out yet.
  const send = {
    async query(...args: unknown[]): Promise<unknown> {
      const opening = takeOpening(connection);
      if (opening.length > 0) await client.query(opening.join('; '));
      return (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
    },
  };
  const connection: AdmissionConnection = { client, tx: over(send), prepared: new Map(), opening: undefined, open: false, committed: false };
  connections.set(client, connection);
  connections.set(send, connection);
  return connection;
}

/** The admission connection `db` runs on, or undefined when `db` is not an admission transaction. */
function admissionConnectionOf(db: Database): AdmissionConnection | undefined {
  const client = (db as unknown as { $client?: object }).$client;
  return client === undefined ? undefined : connections.get(client);
}

/**
 * `executeNamed` inside an admission transaction: `last` commits the transaction in the same round trip.
 * Undefined when `db` is not an admission transaction.
 */
export async function executeInAdmission<Row>(db: Database, name: string, query: SQL, last: boolean): Promise<Row[] | undefined> {
  const connection = admissionConnectionOf(db);
  if (connection === undefined) return undefined;
  if (!STATEMENT_NAME.test(name)) throw new Error(`a prepared statement's name is a lower-case identifier, not "${name}"`);
  const { sql: text, params } = dialect.sqlToQuery(query);
  const prepared = connection.prepared.get(name);
  if (prepared !== undefined && prepared !== text) throw new Error(`the prepared statement "${name}" stands for another text on this connection`);
  assertUsable(connection);
  if (prepared === undefined) {
    // Once per connection; a prepared statement outlives a transaction that rolls back.
    await connection.client.query(`prepare ${name} as ${text}`);
    connection.prepared.set(name, text);
  }
  const opening = takeOpening(connection);
  const statements = [...opening, params.length === 0 ? `execute ${name}` : `execute ${name}(${params.map(literalOf).join(', ')})`, ...(last ? ['commit'] : [])];
  const results = (await connection.client.query(statements.join('; '))) as unknown as QueryResult | QueryResult[];
  if (last) connection.committed = true;
  const result = Array.isArray(results) ? results[opening.length]! : results;
  return result.rows as Row[];
}

/**
 * `SET LOCAL name = value` inside an admission transaction: in front of its first statement when that has not
 * gone out yet (no round trip of its own), else as a statement. False when `db` is not an admission transaction.
 */
export async function setLocalInAdmission(db: Database, name: string, value: string): Promise<boolean> {
  const connection = admissionConnectionOf(db);
  if (connection === undefined) return false;
  assertUsable(connection);
  const statement = `set local ${name} = ${value}`;
  if (connection.opening !== undefined) connection.opening.push(statement);
  else await connection.client.query(statement);
  return true;
}

/**
 * Admissions over `pool` (one connection: they are one at a time in a process anyway): each a transaction
 * that holds the advisory lock `lockKey` from its first statement on. `over` builds drizzle over a connection.
 */
export function pipelinedAdmissions(pool: Pool, over: (queryable: object) => Database): LockedTransaction {
  return async (lockKey, run) => {
    if (!Number.isSafeInteger(lockKey)) throw new Error(`an advisory lock key is an integer, not ${lockKey}`);
    const client = await pool.connect();
    const connection = connectionOf(client, over);
    // The lock is a statement of its own, so the transaction's next statements see what the lock's last holder
    // committed. No JIT: an admission reads a few rows, but a batch's many names can put its plan's estimate
    // over jit_above_cost, and an LLVM compile (about 50 ms measured here) would then hold the guard's lock.
    // Generic plans for its prepared statements: the facts statement is then planned once per connection, not
    // 0.7 ms per batch under the lock, and its parameters (the batch's names, the time) do not change its best
    // plan. Measured on a storm's tables with 500,000 older decisions and 300,000 released slots besides:
    // 0.8 ms a run with the generic plan, 1.4 ms with PostgreSQL's default choice.
    connection.opening = ['begin', 'set local jit = off', 'set local plan_cache_mode = force_generic_plan', `select pg_advisory_xact_lock(${lockKey})`];
    connection.open = true;
    connection.committed = false;
    let unusable: Error | undefined;
    try {
      const result = await run(connection.tx);
      // Nothing went out: no transaction was begun. Else it ends here, unless its last statement ended it.
      if (connection.opening === undefined && !connection.committed) await client.query('commit');
      return result;
    } catch (error) {
      if (connection.opening === undefined && !connection.committed) {
        await client.query('rollback').catch((rollbackError: Error) => {
          unusable = rollbackError;
        });
      }
      throw error;
    } finally {
      connection.opening = undefined;
      connection.open = false;
      // A connection that could not even roll back is not given to the next admission.
      client.release(unusable);
    }
  };
}
