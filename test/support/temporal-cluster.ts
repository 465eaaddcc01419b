// A real Temporal server (not the dev server) on PostgreSQL for the cluster tests and benches: the server
// built from its Go module (temporal/server-binary.ts), two fresh databases (persistence and visibility) set
// up with the server's own schema tool, the module's config/development-postgres12.yaml with free ports, the
// `default` namespace and rescued's search attributes registered. stop() stops it and drops both databases.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { locateOrBuildTemporalServer, TEMPORAL_SERVER_VERSION } from '../../temporal/server-binary.js';
import { ensureSearchAttributes, RESCUE_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { createServer } from 'node:net';

const execFileAsync = promisify(execFile);

export interface TemporalCluster {
  address: string;
  namespace: string;
  version: string;
  /** The persistence and visibility databases' names. */
  databases: { persistence: string; visibility: string };
  /** The server's log file. */
  logFile: string;
  stop(): Promise<void>;
}

interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  adminUrl: string;
}

function postgresTarget(adminUrl: string): PostgresTarget {
  const url = new URL(adminUrl);
  return { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), adminUrl };
}

/** The schema tool on one database: create it, lay the base schema, bring it to the module's newest version. */
async function setUpDatabase(sqlTool: string, target: PostgresTarget, database: string, versionedSchemaDir: string): Promise<void> {
  // The password goes through the tool's SQL_PASSWORD variable, never on its command line.
  const env = { ...process.env, SQL_PASSWORD: target.password };
  const base = ['--plugin', 'postgres12', '--ep', target.host, '-p', String(target.port), '-u', target.user, '--db', database];
  const steps = [['create-database'], ['setup-schema', '-v', '0.0'], ['update-schema', '-d', versionedSchemaDir]];
  for (const step of steps) {
    try {
      await execFileAsync(sqlTool, [...base, ...step], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const failure = error as Error & { stderr?: string; stdout?: string };
      throw new Error(`temporal-sql-tool ${step[0]} on ${database}: ${(failure.stderr || failure.stdout || failure.message).trim().split('\n').slice(-3).join('\n')}`);
    }
  }
}

async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const name of names) await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the server's config, navigated by known keys

/** The module's development-postgres12.yaml, pointed at our databases, free ports and our dynamic config file. */
async function serverConfig(moduleDir: string, target: PostgresTarget, databases: { persistence: string; visibility: string }, ports: Record<string, number>, dynamicConfigPath: string): Promise<string> {
  const config = parse(await readFile(join(moduleDir, 'config', 'development-postgres12.yaml'), 'utf8')) as Yaml;
  const expect = (value: unknown, what: string) => {
    if (value === undefined || value === null) throw new Error(`development-postgres12.yaml of ${TEMPORAL_SERVER_VERSION} has no ${what}: its shape changed`);
  };
  config.log = { stdout: true, level: 'warn' };
  for (const [store, name] of [['postgres-default', databases.persistence], ['postgres-visibility', databases.visibility]] as const) {
    const sql = config.persistence?.datastores?.[store]?.sql;
    expect(sql, `persistence.datastores.${store}.sql`);
    Object.assign(sql, { databaseName: name, connectAddr: `${target.host}:${target.port}`, user: target.user, password: target.password });
  }
  config.global.pprof = { port: 0 };
  config.global.metrics.prometheus.listenAddress = `127.0.0.1:${ports.metrics}`;
  for (const service of ['frontend', 'matching', 'history', 'worker']) {
    const rpc = config.services?.[service]?.rpc;
    expect(rpc, `services.${service}.rpc`);
    rpc.grpcPort = ports[`${service}Grpc`];
    rpc.membershipPort = ports[`${service}Membership`];
  }
  config.services.frontend.rpc.httpPort = ports.frontendHttp;
  config.clusterMetadata.clusterInformation.active.rpcAddress = `127.0.0.1:${ports.frontendGrpc}`;
  config.dynamicConfigClient = { filepath: dynamicConfigPath, pollInterval: '10s' };
  return stringify(config);
}

async function waitForNamespace(address: string, namespace: string, deadline: number, server: ChildProcess, logFile: string): Promise<Connection> {
  let lastError: unknown;
  let registered = false;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`temporal-server exited with code ${server.exitCode} while starting (log: ${logFile})`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        if (!registered) {
          await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') }).catch((error: Error & { code?: number }) => {
            // ALREADY_EXISTS (6): a retry after a registration that went through.
            if (error.code !== 6) throw error;
          });
          registered = true;
        }
        await connection.workflowService.describeNamespace({ namespace });
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(`temporal-server at ${address} did not serve namespace ${namespace} in time: ${(lastError as Error | undefined)?.message ?? 'no answer'} (log: ${logFile})`);
}

/** Our search attributes, added and then visible (the server applies them asynchronously). */
async function registerSearchAttributes(connection: Connection, namespace: string, deadline: number): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await ensureSearchAttributes(connection, namespace);
      const listed = await connection.operatorService.listSearchAttributes({ namespace });
      if (RESCUE_SEARCH_ATTRIBUTES.every((key) => key.name in (listed.customAttributes ?? {}))) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`search attributes not registered in time: ${(lastError as Error | undefined)?.message ?? 'not listed yet'}`);
}

/**
 * A free TCP port below 32768: the server stores its members' ports in a PostgreSQL smallint column
 * (cluster_membership.rpc_port), which the ephemeral range the kernel hands out would overflow.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port between 20000 and 32000');
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts the server on the PostgreSQL named by `adminUrl` (a role that may create databases; default
 * DATABASE_URL). Several minutes the first time (the build), then about 15 s (schemas and start).
 */
export async function startTemporalCluster(options: { adminUrl?: string; namespace?: string; startTimeoutMs?: number } = {}): Promise<TemporalCluster> {
  const adminUrl = options.adminUrl ?? process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('startTemporalCluster needs a PostgreSQL URL (DATABASE_URL)');
  const target = postgresTarget(adminUrl);
  const namespace = options.namespace ?? 'default';
  const binaries = await locateOrBuildTemporalServer((line) => console.error(line));
  const suffix = randomBytes(5).toString('hex');
  const databases = { persistence: `temporal_${suffix}`, visibility: `temporal_vis_${suffix}` };
  const root = await mkdtemp(join(tmpdir(), 'rescued-temporal-cluster-'));
  const logFile = join(root, 'temporal-server.log');
  let server: ChildProcess | undefined;
  let log: ReturnType<typeof createWriteStream> | undefined;
  let outputClosed: Promise<void> | undefined;

  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      if (!(await waitForExit(server, 15_000))) {
        server.kill('SIGKILL');
        await waitForExit(server, 5_000);
      }
    }
    if (outputClosed) await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    log?.end();
    await dropDatabases(adminUrl, [databases.persistence, databases.visibility]).catch((error: Error) => console.error(`could not drop ${databases.persistence}, ${databases.visibility}: ${error.message}`));
    await rm(root, { recursive: true, force: true });
  };

  try {
    const schemaRoot = join(binaries.moduleDir, 'schema', 'postgresql', 'v12');
    await setUpDatabase(binaries.sqlTool, target, databases.persistence, join(schemaRoot, 'temporal', 'versioned'));
    await setUpDatabase(binaries.sqlTool, target, databases.visibility, join(schemaRoot, 'visibility', 'versioned'));

    const ports: Record<string, number> = {};
    const taken = new Set<number>();
    for (const name of ['frontendGrpc', 'frontendMembership', 'frontendHttp', 'historyGrpc', 'historyMembership', 'matchingGrpc', 'matchingMembership', 'workerGrpc', 'workerMembership', 'metrics']) {
      ports[name] = await freeLowPort(taken);
    }
    const dynamicConfigPath = join(root, 'dynamicconfig.yaml');
    const dynamicConfig = (await readFile(join(binaries.moduleDir, 'config', 'dynamicconfig', 'development-sql.yaml'), 'utf8')).replace('http://localhost:7243/', `http://127.0.0.1:${ports.frontendHttp}/`);
    await writeFile(dynamicConfigPath, dynamicConfig);
    await mkdir(join(root, 'config'), { recursive: true });
    await writeFile(join(root, 'config', 'development.yaml'), await serverConfig(binaries.moduleDir, target, databases, ports, dynamicConfigPath), { mode: 0o600 });

    log = createWriteStream(logFile, { flags: 'a' });
    server = spawn(binaries.server, ['--root', root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Two sources into one file: neither may end it (pipe's default), or the other's last lines are written
    // after its end ("write after end", once in CI). stop() ends it once both have closed.
    server.stdout!.pipe(log, { end: false });
    server.stderr!.pipe(log, { end: false });
    outputClosed = new Promise((resolve) => server!.once('close', () => resolve()));
    const address = `127.0.0.1:${ports.frontendGrpc}`;
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
    const connection = await waitForNamespace(address, namespace, deadline, server, logFile);
    try {
      await registerSearchAttributes(connection, namespace, deadline);
    } finally {
      await connection.close();
    }
    return { address, namespace, version: TEMPORAL_SERVER_VERSION, databases, logFile, stop };
  } catch (error) {
    const tail = await readFile(logFile, 'utf8').then((text) => text.split('\n').slice(-15).join('\n'), () => '');
    await stop();
    throw new Error(`${(error as Error).message}${tail ? `\n--- temporal-server log ---\n${tail}` : ''}`);
  }
}
