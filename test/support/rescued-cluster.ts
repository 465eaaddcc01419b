// rescued deployed as a cluster for tests and benches: API processes (api/main.ts) and worker processes
// (workers/worker.ts), the entry points `npm run api` and `npm run worker` run, spawned as real processes
// over one PostgreSQL database and one Temporal, and a fleet of simulated machines, each with its own real
// BMC (ipmi_sim, or for hundreds of them an in-process Redfish emulator), booting through those APIs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './ports.js';
import { startSimulatedMachine, type ChassisEventSource, type MachineBehaviour, type SimulatedMachine } from './simulated-machine.js';
import { startEmulatedRedfishBmc, type EmulatedRedfishBmc } from './emulated-redfish-bmc.js';
import type { TestSshd } from './sshd.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { ADMIN_TOKEN_FILE } from '../../workers/runtime.js';
import type { DataConverter } from '@temporalio/common';
import { keyFromConfiguredSecret } from '../../secrets/key.js';
import { createEncryptionCodec, payloadKeyRing } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY_POINTS = { api: 'api/main.ts', worker: 'workers/worker.ts' } as const;
const READY_LINE = { api: /rescued-api: http/, worker: /rescued-worker: polling/ } as const;

export interface RescuedProcess {
  kind: 'api' | 'worker';
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 15 s), and wait until it is gone. */
  stop(): Promise<void>;
}

// Whatever happens to the test (a failure between spawn and ready included), no process of ours outlives it.
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function gone(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One of our processes with the given environment (nothing inherited but PATH and HOME), once it says it is ready. */
export async function startRescuedProcess(kind: 'api' | 'worker', env: Record<string, string>, timeoutMs = 90_000): Promise<RescuedProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY_POINTS[kind]], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let output = '';
  const read = (chunk: Buffer) => {
    output = `${output}${chunk.toString()}`.slice(-200_000);
  };
  child.stdout!.on('data', read);
  child.stderr!.on('data', read);
  const process_: RescuedProcess = {
    kind,
    child,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await gone(child);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await gone(child);
        clearTimeout(killer);
      }
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!READY_LINE[kind].test(output)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${ENTRY_POINTS[kind]} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await process_.kill();
      throw new Error(`${ENTRY_POINTS[kind]} was not ready within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process_;
}

export interface RescuedCluster {
  apiUrls: string[];
  adminToken: string;
  databaseUrl: string;
  taskQueue: string;
  /** What its processes encrypt history with (the key derived from its secret key): a client that reads results needs it. */
  dataConverter: DataConverter;
  apis: RescuedProcess[];
  /** The worker processes now running (a restarted one replaces the killed one at its index). */
  workers: RescuedProcess[];
  /**
   * SIGKILL worker `index` and start a new one in its place: resolves once the old one is gone, with
   * `restarted`, which resolves once the new one polls.
   */
  killAndRestartWorker(index: number): Promise<{ restarted: Promise<void> }>;
  /** Every worker process ever started, killed ones included (for their output and exit codes). */
  allWorkers: RescuedProcess[];
  stop(): Promise<void>;
}

/** A fresh PostgreSQL database for rescued next to the admin URL's; dropped by the returned function. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/**
 * `apis` API processes and `workers` worker processes on Temporal at `temporalAddress` and the PostgreSQL
 * database `databaseUrl`. The first API starts alone (it creates the schema and the admin token), the rest
 * together. Worker i renders boot URLs that point at API i mod apis, so both APIs serve machines.
 */
export async function startRescuedCluster(options: { temporalAddress: string; databaseUrl: string; apis: number; workers: number; extraEnv?: Record<string, string> }): Promise<RescuedCluster> {
  const secretKey = randomBytes(32).toString('hex');
  const taskQueue = `rescued-cluster-${randomBytes(3).toString('hex')}`;
  const folders: string[] = [];
  const common = (dataDir: string): Record<string, string> => ({
    DATABASE_URL: options.databaseUrl,
    TEMPORAL_ADDRESS: options.temporalAddress,
    RESCUED_TASK_QUEUE: taskQueue,
    RESCUED_SECRET_KEY: secretKey,
    RESCUED_DATA_DIR: dataDir,
    RESCUED_TFTP_PORT: 'off',
    RESCUED_AUDIT_EVERY: 'off',
    // info: the ready lines (READY_LINE) are info lines.
    RESCUED_LOG_LEVEL: 'info',
    ...options.extraEnv,
  });
  const folder = async () => {
    const path = await mkdtemp(join(tmpdir(), 'rescued-cluster-'));
    folders.push(path);
    return path;
  };
  const apis: RescuedProcess[] = [];
  const workers: RescuedProcess[] = [];
  const allWorkers: RescuedProcess[] = [];
  const apiUrls: string[] = [];
  const stop = async () => {
    await Promise.all([...allWorkers, ...apis].map((p) => p.stop()));
    await Promise.all(folders.map((path) => rm(path, { recursive: true, force: true })));
  };
  try {
    const startApi = async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const dataDir = await folder();
      apis.push(await startRescuedProcess('api', { ...common(dataDir), RESCUED_API_HOST: '127.0.0.1', RESCUED_API_PORT: String(port), RESCUED_PUBLIC_URL: url }));
      apiUrls.push(url);
      return dataDir;
    };
    const firstDataDir = await startApi();
    const adminToken = (await readFile(join(firstDataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
    for (let index = 1; index < options.apis; index++) await startApi();
    const startWorker = async (index: number) => {
      const worker = await startRescuedProcess('worker', { ...common(await folder()), RESCUED_PUBLIC_URL: apiUrls[index % apiUrls.length]! });
      allWorkers.push(worker);
      workers[index] = worker;
    };
    await Promise.all(Array.from({ length: options.workers }, (_, index) => startWorker(index)));
    return {
      apiUrls,
      adminToken,
      databaseUrl: options.databaseUrl,
      taskQueue,
      dataConverter: rescuedDataConverter(createEncryptionCodec(payloadKeyRing({ keys: undefined, file: undefined }, keyFromConfiguredSecret(secretKey)))),
      apis,
      workers,
      allWorkers,
      async killAndRestartWorker(index) {
        await workers[index]!.kill();
        return { restarted: startWorker(index) };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface FleetMachine<Bmc = IpmiSimBmc> {
  name: string;
  mac: string;
  bmc: Bmc;
  machine: SimulatedMachine;
  stop(): Promise<void>;
}

/** Calls one of the cluster's APIs as admin. */
export async function clusterRequest(cluster: Pick<RescuedCluster, 'adminToken'>, apiUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests navigate replies
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${cluster.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed };
}

/** The distro, profile and rescue environment every fleet machine uses. */
export async function addFleetBasics(cluster: Pick<RescuedCluster, 'adminToken' | 'apiUrls'>): Promise<void> {
  const setup: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
    ['/api/v1/profiles', { name: 'web', distro: 'deb12' }],
    ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
  ];
  for (const [path, body] of setup) {
    const reply = await clusterRequest(cluster, cluster.apiUrls[0]!, 'POST', path, body);
    if (reply.status !== 201) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
}

/**
 * A simulated machine (test/support/simulated-machine.ts) with a real ipmi_sim BMC, booting through `apiUrl`,
 * whose rescue environment is `sshd` and whose only disk is the image `disk` (label rescued.devices, so no
 * probe ever looks at this host's own disks).
 */
export async function addFleetMachine(cluster: Pick<RescuedCluster, 'adminToken' | 'apiUrls'>, options: { name: string; apiUrl: string; sshd: TestSshd; disk: string; behaviour?: MachineBehaviour }): Promise<FleetMachine> {
  const bmc = await startIpmiSim({ initialPower: 'on' });
  // ipmi_sim runs a node process per chassis command: on a loaded machine an answer can take seconds, so
  // ipmitool waits longer per try (-N 5) than our 2 s default before it retransmits.
  const power = { type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password: bmc.password, options: { ipmi_timeout: '5', readback_timeout: '20', cycle_settle: '1' } };
  return addMachineWithBmc(cluster, options, bmc, bmc, power, () => bmc.stop());
}

/**
 * The same machine with a Redfish emulator in this process as its BMC (test/support/emulated-redfish-bmc.ts),
 * reached by rescued's Redfish driver: hundreds of them cost next to nothing.
 */
export async function addRedfishFleetMachine(cluster: Pick<RescuedCluster, 'adminToken' | 'apiUrls'>, options: { name: string; apiUrl: string; sshd: TestSshd; disk: string; behaviour?: MachineBehaviour }): Promise<FleetMachine<EmulatedRedfishBmc>> {
  const bmc = await startEmulatedRedfishBmc(options.name);
  const power = { type: 'redfish', address: bmc.url, user: bmc.username, password: bmc.password, options: { system_id: bmc.systemId, readback_timeout: '20', cycle_settle: '1' } };
  return addMachineWithBmc(cluster, options, bmc, bmc, power, () => bmc.stop());
}

async function addMachineWithBmc<Bmc>(cluster: Pick<RescuedCluster, 'adminToken' | 'apiUrls'>, options: { name: string; apiUrl: string; sshd: TestSshd; disk: string; behaviour?: MachineBehaviour }, bmc: Bmc, events: ChassisEventSource, power: Record<string, unknown>, stopBmc: () => Promise<void>): Promise<FleetMachine<Bmc>> {
  const mac = `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const machine = await startSimulatedMachine({ apiUrl: options.apiUrl, bmc: events, mac, sshd: options.sshd, behaviour: options.behaviour ?? { phonesHome: true, osHealthy: () => true, install: 'hang' } });
  const reply = await clusterRequest(cluster, cluster.apiUrls[0]!, 'POST', '/api/v1/systems', {
    name: options.name,
    profile: 'web',
    interfaces: [{ mac }],
    labels: { 'rescued.verify': `tcp:127.0.0.1:${machine.osPort}`, 'rescued.devices': options.disk },
    power: [power],
  });
  if (reply.status !== 201) {
    await machine.stop();
    await stopBmc();
    throw new Error(`fleet machine ${options.name}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return {
    name: options.name,
    mac,
    bmc,
    machine,
    async stop() {
      await machine.stop();
      await stopBmc();
    },
  };
}
