// Crashes and faults in the middle of a rescue, each ending with the rescue finished and the BMC (a real
// ipmi_sim) having seen only the power operations the workflow's history accounts for:
//  - the worker process SIGKILLed at each step of one rescue in turn, and restarted each time;
//  - the embedded Temporal (the official CLI's dev server, SQLite in the data folder) stopped and started again;
//  - PostgreSQL unreachable for 10 s (a TCP proxy between rescued and the real PostgreSQL, cut and restored):
//    activities retry and succeed, the API answers 503 naming the database meanwhile, nothing is lost.
// The API and the workers share one PostgreSQL database, so this runs where DATABASE_URL is set.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { startTestApi, type TestApi } from '../support/api.js';
import type { TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { temporalCliForTests } from '../support/temporal.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { phoneHomeLate, startSimulatedMachine, type SimulatedMachine } from '../support/simulated-machine.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { createScratchDatabase } from '../support/rescued-cluster.js';
import { powerAccount, unaccountedPowerOperations } from '../support/power-accounting.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../../temporal/embedded-server.js';
import { RescueStep } from '../../temporal/search-attribute-keys.js';
import { openDatabase } from '../../db/client.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { createBrokenLabDisk, checkDiskImage } from '../../lab/vm/disks.js';
import type { RescueResult } from '../../workflows/rescue.js';
import type { RescueState } from '../../workflows/rescue-types.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const adminUrl = process.env.DATABASE_URL;

describe('a rescue through crashes and outages', { skip: adminUrl ? false : 'needs DATABASE_URL: the worker processes and the API share one PostgreSQL database' }, () => {
  let work: string;
  let temporal: EmbeddedTemporal;
  let temporalPorts: { port: number; uiPort: number };
  let connection: Connection;
  let client: Client;
  let api: TestApi;
  let proxy: TcpProxy;
  let database: { url: string; drop(): Promise<void> };
  let sshd: TestSshd;
  let disk: string;
  let worker: ChildProcess | undefined;
  const children: ChildProcess[] = [];
  const machines: Array<{ machine: SimulatedMachine; bmc: IpmiSimBmc }> = [];
  const taskQueue = 'rescue-crash-test';

  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: api.databaseUrl!,
        TEMPORAL_ADDRESS: temporal.address,
        TASK_QUEUE: taskQueue,
        SECRET_KEY_HEX: api.secretKey.toString('hex'),
        BOOT_HTTP_BASE: api.url,
        DISK_IMAGE: disk,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    worker = await new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker process did not start:\n${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready')) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker process exited (${code}):\n${output}`));
      });
    });
    return worker;
  }

  async function killWorker(): Promise<void> {
    const current = worker;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await gone;
  }

  async function addMachine(name: string, phonesHome: boolean): Promise<{ machine: SimulatedMachine; bmc: IpmiSimBmc; mac: string }> {
    const mac = `52:54:00:4c:${(machines.length + 1).toString(16).padStart(2, '0')}:01`;
    const bmc = await startIpmiSim({ initialPower: 'on' });
    const machine = await startSimulatedMachine({ apiUrl: api.url, bmc, mac, sshd, behaviour: { phonesHome, osHealthy: () => true, install: 'hang' } });
    machines.push({ machine, bmc });
    const reply = await api.request('POST', '/api/v1/systems', {
      body: {
        name,
        profile: 'web',
        interfaces: [{ mac }],
        labels: { 'rescued.verify': `tcp:127.0.0.1:${machine.osPort}` },
        power: [{ type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password: bmc.password, options: { retries: '0', readback_timeout: '20', cycle_settle: '1' } }],
      },
    });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return { machine, bmc, mac };
  }

  /** The rescue's state, or undefined while no worker answers queries. */
  /**
   * The step the server holds for the rescue (its RescueStep search attribute, set as each step starts). Read
   * from the server, not by a query: a query needs a live worker, and one that goes to the killed worker's
   * sticky queue waits out its timeout while the rescue moves on through the steps the test wants to kill in.
   */
  async function stateOf(system: string): Promise<RescueState | undefined> {
    try {
      const description = await client.workflow.getHandle(`rescue-${system}`).describe();
      return description.typedSearchAttributes.get(RescueStep) as RescueState | undefined;
    } catch {
      return undefined;
    }
  }

  async function waitForState(system: string, wanted: RescueState, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await stateOf(system)) !== wanted) {
      assert.ok(Date.now() < deadline, `${system} reaches ${wanted}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rescue-crash-'));
    temporalPorts = { port: await freePort(), uiPort: await freePort() };
    temporal = await startEmbeddedTemporal({ cliPath: await temporalCliForTests(), dataDir: work, ...temporalPorts, namespace: 'default' });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    // rescued reaches PostgreSQL only through the proxy; Temporal keeps its own SQLite.
    database = await createScratchDatabase(adminUrl!, 'rescued_crash');
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const throughProxy = new URL(database.url);
    throughProxy.host = `127.0.0.1:${proxy.port}`;
    const viaProxy: TestDatabase = {
      label: 'postgres',
      async open() {
        const handle = await openDatabase({ databaseUrl: throughProxy.toString(), dataDir: '/nonexistent', timeouts: { connectMs: 2_000, statementMs: 10_000, idleInTransactionMs: 10_000 } });
        return { ...handle, url: throughProxy.toString(), drop: () => handle.close() };
      },
    };
    api = await startTestApi(viaProxy, { temporal: { connection, address: temporal.address, taskQueue } });
    disk = (await createBrokenLabDisk('cleared-inode', { directory: work })).path;
    sshd = await startSshd();
    const setup: Array<[string, unknown]> = [
      ['/api/v1/distros', { name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
    ];
    for (const [path, body] of setup) assert.equal((await api.request('POST', path, { body })).status, 201, path);
    await startWorkerProcess();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const { machine, bmc } of machines) {
      await machine.stop();
      await bmc.stop();
    }
    await sshd?.stop();
    await proxy?.restore().catch(() => undefined);
    await api?.close();
    await proxy?.stop();
    await database?.drop();
    await connection?.close();
    await temporal?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // Each kill is noticed by Temporal only when the killed attempt times out (workflows/rescue.ts): 30 s for a quick
  // step or a heartbeat, 60 s and a 10 s retry interval for the SSH steps. Eight kills wait about 340 s of
  // timeouts (347 s measured on the development machine); the limit leaves room for a slower CI machine.
  test('the worker SIGKILLed at each step of a rescue in turn: the rescue finishes, the BMC saw only what the history accounts for', { timeout: 600_000 }, async () => {
    const { machine, bmc } = await addMachine('crash01', true);
    const killAt: RescueState[] = ['identifying', 'selecting', 'pushing', 'power-cycling', 'awaiting-phone-home', 'diagnosing', 'repairing', 'restoring'];
    const killed: RescueState[] = [];
    assert.equal((await api.request('POST', '/api/v1/rescues', { body: { system: 'crash01', reason: 'crash test' } })).status, 201);
    const handle = client.workflow.getHandle('rescue-crash01');
    const result = handle.result() as Promise<RescueResult>;
    let ended = false;
    void result.finally(() => {
      ended = true;
    });
    while (!ended) {
      const state = await stateOf('crash01');
      if (state !== undefined && killAt.includes(state) && !killed.includes(state)) {
        await killWorker();
        killed.push(state);
        await startWorkerProcess();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const done = await result;
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    console.log(`# the worker was killed at: ${killed.join(', ')}`);
    assert.ok(killed.length >= 4, `the worker was killed at several steps (${killed.join(', ')})`);
    assert.equal((await checkDiskImage(disk)).exitCode, 0, 'the disk was repaired');
    assert.equal(machine.phoneHomes, 1);
    const account = await powerAccount(client, 'rescue-crash01', bmc);
    assert.equal(unaccountedPowerOperations(account), undefined);
    // Two boot device settings (pxe, disk) and two cycles were meant. A cycle is off then on, each a no-op once
    // done, so the machine booted exactly twice even where a kill cut a power call; a cut boot-device call is
    // the only excuse for more.
    assert.equal(account.bmc.boots, 2, account.bmc.events.join(' '));
    const retried = account.history.powerCycles.attempts - 2 + account.history.bootDevices.attempts - 2;
    if (retried === 0) assert.deepEqual([account.bmc.boots, account.bmc.bootDevices], [2, 2], account.bmc.events.join(' '));
    console.log(`crashes: worker SIGKILLed at ${killed.join(', ')}; BMC saw ${account.bmc.events.join(' ')}; power calls retried after a kill: ${retried}`);
  });

  test('the embedded Temporal stopped and started again mid-rescue (SQLite kept): the rescue resumes', { timeout: 180_000 }, async () => {
    const { machine, bmc, mac } = await addMachine('crash02', false);
    assert.equal((await api.request('POST', '/api/v1/rescues', { body: { system: 'crash02', reason: 'crash test' } })).status, 201);
    await waitForState('crash02', 'awaiting-phone-home');
    await temporal.stop();
    temporal = await startEmbeddedTemporal({ cliPath: await temporalCliForTests(), dataDir: work, ...temporalPorts, namespace: 'default' });
    // The worker keeps polling through the outage; should it have given up, a new one takes over.
    if (worker?.exitCode !== null) await startWorkerProcess();
    await waitForState('crash02', 'awaiting-phone-home');
    assert.equal(await phoneHomeLate({ apiUrl: api.url, mac, sshd }), 200);
    const done = (await client.workflow.getHandle('rescue-crash02').result()) as RescueResult;
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    const account = await powerAccount(client, 'rescue-crash02', bmc);
    assert.equal(unaccountedPowerOperations(account), undefined);
    assert.deepEqual([account.bmc.boots, account.bmc.bootDevices], [2, 2], account.bmc.events.join(' '));
    assert.equal(machine.boots.filter((b) => b === 'pxe:rescue').length, 1);
  });

  test('PostgreSQL unreachable for 10 s mid-rescue: the API answers 503 naming the database, activities retry, nothing is lost', { timeout: 180_000 }, async () => {
    const { bmc, mac } = await addMachine('crash03', false);
    assert.equal((await api.request('POST', '/api/v1/rescues', { body: { system: 'crash03', reason: 'outage test' } })).status, 201);
    await waitForState('crash03', 'awaiting-phone-home');
    assert.equal(await phoneHomeLate({ apiUrl: api.url, mac, sshd }), 200);
    // Cut at once: the diagnosis and the bookkeeping after it meet the outage.
    await proxy.cut();
    const cutAt = Date.now();
    const replies: Array<{ status: number; message: string }> = [];
    while (Date.now() - cutAt < 10_000) {
      const reply = await api.request('GET', '/api/v1/systems/crash03');
      replies.push({ status: reply.status, message: String(reply.body?.message ?? '') });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await proxy.restore();
    assert.ok(replies.length >= 5, 'the API was asked during the outage');
    for (const reply of replies) {
      assert.equal(reply.status, 503, JSON.stringify(reply));
      assert.match(reply.message, /database/);
    }
    const done = (await client.workflow.getHandle('rescue-crash03').result()) as RescueResult;
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    // Nothing lost: the run recorded with its outcome and every step, the system still there.
    const runs = await api.request('GET', '/api/v1/rescues?system=crash03');
    assert.equal(runs.status, 200);
    assert.equal(runs.body.length, 1);
    assert.equal(runs.body[0].outcome, 'repaired', JSON.stringify(runs.body[0]));
    assert.deepEqual(
      runs.body[0].steps.map((s: { step: string }) => s.step),
      done.status.steps.map((s) => s.step),
    );
    assert.equal((await api.request('GET', '/api/v1/systems/crash03')).status, 200);
    // The activities that met the outage were retried (Temporal's history records the attempt each ended on).
    const retried: string[] = [];
    const scheduled = new Map<string, string>();
    for (const event of (await client.workflow.getHandle('rescue-crash03').fetchHistory()).events ?? []) {
      const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (name) scheduled.set(String(event.eventId), name);
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) retried.push(`${scheduled.get(String(started.scheduledEventId))} (attempt ${started.attempt})`);
    }
    assert.ok(retried.length > 0, 'an activity met the outage and was retried');
    console.log(`outage: 503 naming the database ${replies.length} times in 10 s; retried after it: ${retried.join(', ')}`);
    const account = await powerAccount(client, 'rescue-crash03', bmc);
    assert.equal(unaccountedPowerOperations(account), undefined);
    assert.deepEqual([account.bmc.boots, account.bmc.bootDevices], [2, 2], account.bmc.events.join(' '));
  });
});
