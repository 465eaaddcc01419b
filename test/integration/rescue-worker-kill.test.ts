// A worker PROCESS killed with SIGKILL mid-rescue, and another one started: the rescue finishes, and the
// power cycle that had completed before the kill is not repeated (Temporal replays it from history).
// Both worker processes and the API share one PostgreSQL database, so this runs where DATABASE_URL is set
// (.ci/run sets it); the in-process variant in rescue-workflow.test.ts runs everywhere.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { freePort } from '../support/ports.js';
import { temporalCliForTests } from '../support/temporal.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { phoneHomeLate, startSimulatedMachine, type SimulatedMachine } from '../support/simulated-machine.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../../temporal/embedded-server.js';
import type { RescueClient } from '../../rescue/rescue-client.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { createBrokenLabDisk, checkDiskImage } from '../../lab/vm/disks.js';
import type { RescueResult } from '../../workflows/rescue.js';
import type { RescueStatus } from '../../workflows/rescue-types.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const postgres = testDatabases().find((d) => d.label === 'postgres');

describe('a worker process killed mid-rescue', { skip: postgres ? false : 'needs DATABASE_URL: the killed worker, its successor and the API share one database' }, () => {
  let work: string;
  let temporal: EmbeddedTemporal;
  let connection: Connection;
  let rescues: RescueClient;
  let api: TestApi;
  let bmc: IpmiSimBmc;
  let sshd: TestSshd;
  let machine: SimulatedMachine;
  let disk: string;
  const children: ChildProcess[] = [];
  const taskQueue = 'rescue-kill-test';
  const mac = '52:54:00:4b:11:01';

  function startWorkerProcess(): Promise<ChildProcess> {
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
    return new Promise((resolve, reject) => {
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
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rescue-kill-'));
    temporal = await startEmbeddedTemporal({ cliPath: await temporalCliForTests(), dataDir: work, port: await freePort(), uiPort: await freePort(), namespace: 'default' });
    connection = await Connection.connect({ address: temporal.address });
    api = await startTestApi(postgres!, { temporal: { connection, address: temporal.address, taskQueue } });
    rescues = api.rescues;
    disk = (await createBrokenLabDisk('cleared-inode', { directory: work })).path;
    bmc = await startIpmiSim({ initialPower: 'on' });
    sshd = await startSshd();
    machine = await startSimulatedMachine({ apiUrl: api.url, bmc, mac, sshd, behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    const setup: Array<[string, unknown]> = [
      ['/api/v1/distros', { name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
      [
        '/api/v1/systems',
        {
          name: 'kill01',
          profile: 'web',
          interfaces: [{ mac }],
          labels: { 'rescued.verify': `tcp:127.0.0.1:${machine.osPort}` },
          power: [{ type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password: bmc.password, options: { retries: '0', readback_timeout: '20', cycle_settle: '1' } }],
        },
      ],
    ];
    for (const [path, body] of setup) assert.equal((await api.request('POST', path, { body })).status, 201, path);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await machine?.stop();
    await sshd?.stop();
    await bmc?.stop();
    await api?.close();
    await connection?.close();
    await temporal?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('SIGKILL the worker while the rescue waits; a new worker process finishes it with one power cycle', async () => {
    const first = await startWorkerProcess();
    await rescues.start({ system: 'kill01', reason: 'test', requestedBy: 'test' });
    const handle = new Client({ connection }).workflow.getHandle('rescue-kill01');
    const deadline = Date.now() + 60_000;
    while ((await handle.query<RescueStatus>('status')).state !== 'awaiting-phone-home') {
      assert.ok(Date.now() < deadline, 'the rescue reaches awaiting-phone-home');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(bmc.readEvents().filter((e) => e.action === 'power-on' && e.bootDevice === 'pxe').length, 1);
    const killed = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await killed;

    await startWorkerProcess();
    assert.equal(await phoneHomeLate({ apiUrl: api.url, mac, sshd }), 200);
    const done = (await handle.result()) as RescueResult;
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    assert.equal(bmc.readEvents().filter((e) => e.action === 'power-on' && e.bootDevice === 'pxe').length, 1, 'the completed power cycle was not repeated');
    assert.equal((await checkDiskImage(disk)).exitCode, 0);
  });
});
