// One stack for the end-to-end rescues of test/integration/e2e-*.test.ts: the real Temporal dev server, the API
// as `npm start` builds it (webhook receiver and guard included), our TFTP server, a worker with the real
// activities, and the virtual lab of lab/fleet (QEMU machines network-booting through that TFTP and HTTP, their
// power through ipmitool to ipmi_sim, registered through the API). Machines are created off; a case breaks one,
// which boots it broken, then fires an Alertmanager alert at the webhook, as monitoring would.
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from './temporal.js';
import { startTestApi, type TestApi } from './api.js';
import { testDatabases } from './databases.js';
import { alertmanagerPayload } from './triggers-lab.js';
import { rescueOutcome } from './rescue-outcome.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';
import { createApiClient } from '../../cli/api-client.js';
import { labBreak, labDown, labUp, type LabMachineSpec } from '../../lab/fleet/virtual-lab.js';
import { readLabState, type LabFault, type LabMachineState } from '../../lab/fleet/lab-state.js';
import type { RescueResult } from '../../workflows/rescue.js';
import type { RescueTimings } from '../../workflows/rescue-types.js';

const require = createRequire(import.meta.url);

export interface EndToEndLab {
  env: TestWorkflowEnvironment;
  api: TestApi;
  labDirectory: string;
  machine(name: string): LabMachineState;
  /** Breaks the machine through the lab (as `npm run lab -- break` does); it then boots broken. */
  breakMachine(name: string, fault: LabFault): Promise<string>;
  /** An Alertmanager webhook delivery naming the machine, with the webhook-role token. */
  fireAlert(name: string): Promise<{ status: number; body: unknown }>;
  outcome(name: string): Promise<RescueResult>;
  /** The VM's serial console, every boot. */
  console(name: string): string;
  stop(): Promise<void>;
}

/** Timings for the lab: a TCG VM phones home 12 to 30 s after its power cycle on a loaded 2-core machine, a UEFI one (OVMF, iPXE EFI) 25 to 60 s. */
export const LAB_RESCUE_TIMINGS: Partial<RescueTimings> = { phoneHomeTimeoutMs: 70_000, maxPowerCycles: 2, verifyTimeoutMs: 120_000, approvalTimeoutMs: 120_000, installTimeoutMs: 300_000 };

export async function startEndToEndLab(machines: LabMachineSpec[], options: { timings?: Partial<RescueTimings> } = {}): Promise<EndToEndLab> {
  const stoppers: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop().catch((error: Error) => console.error(`e2e lab: while stopping: ${error.message}`));
  };
  try {
    const env = await startTestTemporal();
    stoppers.push(() => env.teardown());
    const taskQueue = `e2e-${randomBytes(4).toString('hex')}`;
    const api = await startTestApi(testDatabases()[0]!, { temporal: { connection: env.connection, address: env.address, taskQueue }, rescueTimings: options.timings ?? LAB_RESCUE_TIMINGS });
    stoppers.push(() => api.close());
    // The guest reaches the host's 127.0.0.1 as 10.0.2.2 (QEMU user networking).
    api.netboot.urls.httpBase = api.url.replace('127.0.0.1', '10.0.2.2');
    const tftp: TftpServer = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)] });
    const tftpPort = (await tftp.listen()).port;
    stoppers.push(() => tftp.close());
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows/index.ts'),
      sinks: rescueMetricsSinks(),
      activities: createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: api.triggers.guard }),
    });
    const running = worker.run();
    stoppers.push(async () => {
      for await (const execution of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await env.client.workflow.getHandle(execution.workflowId).terminate('test over').catch(() => undefined);
      }
      worker.shutdown();
      await running;
    });
    // A small fleet, all of it alerting at some point: the guard's brakes are for real fleets.
    const settings = await api.request('PATCH', '/api/v1/automation/settings', { body: { maxInFlight: 10, cooldownMs: 0, brakeShare: 1 } });
    if (settings.status !== 200) throw new Error(`guard settings: ${JSON.stringify(settings.body)}`);
    const token = await api.request('POST', '/api/v1/tokens', { body: { name: 'alertmanager', role: 'webhook' } });
    const webhookToken = token.body.token as string;

    const labDirectory = await mkdtemp(join(tmpdir(), 'rescued-e2e-lab-'));
    stoppers.push(() => rm(labDirectory, { recursive: true, force: true }));
    const client = await createApiClient({ server: api.url, token: api.adminToken });
    stoppers.push(() => labDown(labDirectory));
    await labUp({ directory: labDirectory, api: client, machines, tftpRoot: api.tftpRoot, tftpPort, powerOn: false });

    const machine = (name: string) => {
      const found = readLabState(labDirectory)?.machines.find((m) => m.name === name);
      if (!found) throw new Error(`no lab machine ${name}`);
      return found;
    };
    return {
      env,
      api,
      labDirectory,
      machine,
      breakMachine: (name, fault) => labBreak(labDirectory, client, name, fault),
      fireAlert: (name) =>
        api.request('POST', '/hooks/alertmanager', { token: webhookToken, body: alertmanagerPayload([{ labels: { alertname: 'NodeDown', instance: `${name}:9100`, severity: 'critical' }, summary: `${name} stopped answering` }]) }),
      outcome: (name) => rescueOutcome(env.client, api.rescues, name),
      console: (name) => { try { return readFileSync(join(machine(name).vmDirectory, 'serial.log'), 'utf8'); } catch { return ''; } },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
