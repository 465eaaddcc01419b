// The databases every inventory test runs against: an in-memory PGlite always, and a fresh database on
// the PostgreSQL named by DATABASE_URL when it is set (created per test file, dropped after).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';

export interface TestDatabase {
  label: string;
  /** `url`: for PostgreSQL, where another process can reach the same database. */
  open(): Promise<DatabaseHandle & { url?: string; drop(): Promise<void> }>;
}

export function testDatabases(): TestDatabase[] {
  const targets: TestDatabase[] = [
    {
      label: 'pglite',
      async open() {
        const handle = await openDatabase({ inMemory: true });
        return { ...handle, drop: () => handle.close() };
      },
    },
  ];
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    targets.push({
      label: 'postgres',
      async open() {
        const name = `rescued_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        await admin.query(`create database ${name}`);
        await admin.end();
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        const handle = await openDatabase({ databaseUrl: url.toString(), dataDir: '/nonexistent' });
        return {
          ...handle,
          url: url.toString(),
          async drop() {
            await handle.close();
            const cleanup = new pg.Client({ connectionString: adminUrl });
            await cleanup.connect();
            await cleanup.query(`drop database if exists ${name} with (force)`);
            await cleanup.end();
          },
        };
      },
    });
  }
  return targets;
}
