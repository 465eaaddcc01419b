// Everything a rescue needs, real and on loopback: the Temporal dev server (official CLI), a database,
// the API with the rescue and boot routes, an ipmi_sim BMC, an OpenSSH server standing in for the rescue
// environment's sshd, a worker with the real activities, and a simulated machine that boots through them.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from './temporal.js';
import { startTestApi, type TestApi } from './api.js';
import { testDatabases, type TestDatabase } from './databases.js';
import { startSshd, type TestSshd } from './sshd.js';
import { startSimulatedMachine, type MachineBehaviour, type SimulatedMachine } from './simulated-machine.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { createActivities } from '../../activities/index.js';
import type { RescueShell } from '../../activities/rescue-shell.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import type { RescueClient } from '../../rescue/rescue-client.js';
import type { RescueAdmission } from '../../triggers/admission.js';
import { createRefusingAdmission } from './refusing-admission.js';
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';
import type { PayloadCodec } from '@temporalio/common';
import { rescuedDataConverter } from '../../temporal/data-converter.js';

const require = createRequire(import.meta.url);

export interface RescueLab {
  env: TestWorkflowEnvironment;
  api: TestApi;
  rescues: RescueClient;
  taskQueue: string;
  /** A worker on the lab's task queue; stop it with its shutdown() (the kill-and-restart test does). */
  startWorker(): Promise<{ worker: Worker; done: Promise<void> }>;
  /** Stops every worker (in-flight workflows stay in Temporal, waiting for the next worker). */
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

/** The lab over the given database (default PGlite); the API is built as `npm start` builds it. */
export async function startRescueLab(
  rescueShell: RescueShell,
  database: TestDatabase = testDatabases()[0]!,
  options: { admission?: RescueAdmission; payloadCodec?: { codec: PayloadCodec; corsOrigins: string[] } } = {},
): Promise<RescueLab> {
  const env = await startTestTemporal();
  const taskQueue = `rescue-${randomBytes(4).toString('hex')}`;
  const api = await startTestApi(database, { temporal: { connection: env.connection, address: env.address, taskQueue }, ...(options.payloadCodec ? { payloadCodec: options.payloadCodec } : {}) });
  const rescues = api.rescues;
  const workers: Array<{ worker: Worker; done: Promise<void> }> = [];
  const lab: RescueLab = {
    env,
    api,
    rescues,
    taskQueue,
    async startWorker() {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowsPath: require.resolve('../../workflows/index.ts'),
        sinks: rescueMetricsSinks(),
        ...(options.payloadCodec ? { dataConverter: rescuedDataConverter(options.payloadCodec.codec) } : {}),
        activities: createActivities({ inventory: api.inventory, databaseKind: database.label === 'postgres' ? 'postgres' : 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell, admission: options.admission ?? createRefusingAdmission() }),
      });
      const running = { worker, done: worker.run() };
      workers.push(running);
      return running;
    },
    async stopWorkers() {
      for (const running of workers.splice(0)) {
        if (running.worker.getState() === 'RUNNING') running.worker.shutdown();
        await running.done.catch(() => undefined);
      }
    },
    async stop() {
      await lab.stopWorkers();
      await api.close();
      await env.teardown();
    },
  };
  return lab;
}

export interface LabMachine {
  name: string;
  mac: string;
  bmc: IpmiSimBmc;
  sshd: TestSshd;
  machine: SimulatedMachine;
  stop(): Promise<void>;
}

/** A system in the inventory with its own BMC, sshd and simulated hardware. */
export async function addLabMachine(
  lab: RescueLab,
  options: {
    name: string;
    profile: string;
    behaviour: MachineBehaviour;
    bmcPassword?: string;
    labels?: Record<string, string>;
    rescuePolicy?: string;
    /** false: no rescued.verify label (and no IP), so nothing can check that the OS came back. */
    verifiable?: boolean;
  },
): Promise<LabMachine> {
  const mac = `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const bmc = await startIpmiSim({ initialPower: 'on' });
  const sshd = await startSshd();
  const machine = await startSimulatedMachine({ apiUrl: lab.api.url, bmc, mac, sshd, behaviour: options.behaviour });
  const reply = await lab.api.request('POST', '/api/v1/systems', {
    body: {
      name: options.name,
      profile: options.profile,
      interfaces: [{ mac }],
      labels: { ...(options.verifiable === false ? {} : { 'rescued.verify': `tcp:127.0.0.1:${machine.osPort}` }), ...options.labels },
      ...(options.rescuePolicy ? { rescuePolicy: options.rescuePolicy } : {}),
      power: [{ type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password: options.bmcPassword ?? bmc.password, options: { retries: '0', readback_timeout: '20', cycle_settle: '1' } }],
    },
  });
  if (reply.status !== 201) throw new Error(`lab machine ${options.name}: ${JSON.stringify(reply.body)}`);
  return {
    name: options.name,
    mac,
    bmc,
    sshd,
    machine,
    async stop() {
      await machine.stop();
      await sshd.stop();
      await bmc.stop();
    },
  };
}
