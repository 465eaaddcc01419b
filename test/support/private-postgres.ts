// A PostgreSQL cluster of the test's own (initdb in a temporary folder, Debian's binaries, on 127.0.0.1 at a free
// port), for what cannot be done to a shared server: crashing it. `crash()` is `pg_ctl stop -m immediate`, which
// PostgreSQL's documentation describes as quitting "without a complete shutdown ... recovery on next startup":
// its processes are told to quit at once and the shared memory, WAL buffers included, is dropped, so a commit
// that did not wait for its WAL to be written (synchronous_commit = off) can be gone after `start()`, and one that
// waited cannot. Runs the server as the `postgres` user when the test runs as root (initdb refuses root).
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const BINARIES_ROOT = '/usr/lib/postgresql';

export interface PrivatePostgres {
  /** postgresql://…@127.0.0.1:PORT/postgres (trust on loopback: a throwaway cluster). */
  url: string;
  /** `pg_ctl stop -m immediate`: a crash, recovered at the next start. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops it (fast) and removes its folder. */
  stop(): Promise<void>;
}

async function binaries(): Promise<string> {
  const versions = (await readdir(BINARIES_ROOT).catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  if (newest === undefined) throw new Error(`no PostgreSQL server binaries under ${BINARIES_ROOT} (Debian's postgresql package)`);
  return join(BINARIES_ROOT, newest, 'bin');
}

/** Whether a private cluster can be made here: the server's binaries, and a user other than root to run them. */
export async function privatePostgresAvailable(): Promise<string | undefined> {
  try {
    await binaries();
  } catch (error) {
    return (error as Error).message;
  }
  if (userInfo().uid === 0) {
    try {
      await run('id', ['-u', 'postgres']);
    } catch {
      return 'running as root, and no `postgres` user to run PostgreSQL as';
    }
  }
  return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binaries();
  const folder = await mkdtemp(join(tmpdir(), 'rescued-private-pg-'));
  const data = join(folder, 'data');
  const asRoot = userInfo().uid === 0;
  // As root: the folder is the postgres user's, and every binary runs as that user.
  const command = (program: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args]) : run(join(bin, program), args));
  const owner = asRoot ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()), gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()) } : undefined;
  if (owner) await chown(folder, owner.uid, owner.gid);
  await chmod(folder, 0o700);
  const port = await freePort();
  const pgCtl = (args: string[]) => command('pg_ctl', ['-D', data, '-w', '-t', '60', ...args]);
  let running = false;
  try {
    await command('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-instructions', '-E', 'UTF8', '--locale=C']);
    // Loopback only, the socket in the folder (not /var/run), and the defaults PostgreSQL ships for durability.
    await writeFile(join(data, 'postgresql.auto.conf'), [`listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${folder}'`, `max_connections = 50`, ''].join('\n'));
    if (owner) await chown(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
    const start = async () => {
      await pgCtl(['-l', join(folder, 'server.log'), 'start']);
      running = true;
    };
    await start();
    return {
      url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      async crash() {
        await pgCtl(['-m', 'immediate', 'stop']);
        running = false;
      },
      start,
      async stop() {
        if (running) await pgCtl(['-m', 'fast', 'stop']).catch(() => undefined);
        running = false;
        await rm(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (running) await pgCtl(['-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}
