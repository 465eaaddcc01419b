// A fleet for trigger tests: the real Temporal dev server, the API built as `npm start` builds it (webhook
// receivers, guard, automation routes), a worker with the real activities, and machines whose BMCs are
// the in-process Redfish emulator (lab/bmc/mini-redfish.ts), so every power operation is counted where it
// lands. The machines never phone home: an admitted rescue power-cycles once, waits briefly, fails, ends.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from './temporal.js';
import { startTestApi, type TestApi } from './api.js';
import type { TestDatabase } from './databases.js';
import { startMiniRedfish, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import type { RescueClient } from '../../rescue/rescue-client.js';
import { startTriggerLoops } from '../../workers/triggers.js';
import type { RescueTimings } from '../../workflows/rescue-types.js';
import type { GuardSettings } from '../../triggers/guard-settings.js';
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';

const require = createRequire(import.meta.url);
const BMC_USER = 'admin';
const BMC_PASSWORD = 'lab-password';

export interface FleetMachine {
  name: string;
  mac: string;
  ip: string;
  bmc: MiniRedfishBmc;
}

export interface TriggersLab {
  env: TestWorkflowEnvironment;
  api: TestApi;
  rescues: RescueClient;
  machines: Map<string, FleetMachine>;
  webhookToken: string;
  addMachines(count: number, options?: { prefix?: string; labels?: (index: number) => Record<string, string> }): Promise<FleetMachine[]>;
  setGuard(settings: Partial<GuardSettings>): Promise<void>;
  /** Power operations that reached any BMC, by machine. */
  powerOperations(): Map<string, string[]>;
  /** Every request any BMC received (a dry run must leave this empty). */
  bmcRequests(): number;
  startLoops(intervalMs?: number): void;
  stop(): Promise<void>;
}

export const FAILING_FAST: Partial<RescueTimings> = { phoneHomeTimeoutMs: 1500, maxPowerCycles: 1 };

export async function startTriggersLab(database: TestDatabase, options: { timings?: Partial<RescueTimings> } = {}): Promise<TriggersLab> {
  const env = await startTestTemporal();
  const taskQueue = `triggers-${randomBytes(4).toString('hex')}`;
  const api = await startTestApi(database, { temporal: { connection: env.connection, address: env.address, taskQueue }, rescueTimings: options.timings ?? FAILING_FAST });
  const rescues = api.rescues;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows/index.ts'),
    sinks: rescueMetricsSinks(),
    activities: createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: api.triggers.guard }),
    maxConcurrentActivityTaskExecutions: 200,
  });
  const running = worker.run();
  const setup: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
    ['/api/v1/profiles', { name: 'web', distro: 'deb12', rescuePolicy: 'repair' }],
    ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
  ];
  for (const [path, body] of setup) {
    const reply = await api.request('POST', path, { body });
    if (reply.status !== 201) throw new Error(`${path}: ${JSON.stringify(reply.body)}`);
  }
  const token = await api.request('POST', '/api/v1/tokens', { body: { name: 'alertmanager', role: 'webhook' } });
  const machines = new Map<string, FleetMachine>();
  let stopLoops: (() => Promise<void>) | undefined;
  let next = 0;

  const lab: TriggersLab = {
    env,
    api,
    rescues,
    machines,
    webhookToken: token.body.token as string,
    async addMachines(count, addOptions = {}) {
      const added: FleetMachine[] = [];
      const batch = async (index: number) => {
        const n = next++;
        const name = `${addOptions.prefix ?? 'node'}${String(n).padStart(3, '0')}`;
        const mac = `52:54:01:${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
        const ip = `127.1.${(n >> 8) & 255}.${n & 255}`;
        const bmc = await startMiniRedfish({ username: BMC_USER, password: BMC_PASSWORD });
        const reply = await api.request('POST', '/api/v1/systems', {
          body: {
            name,
            profile: 'web',
            interfaces: [{ mac, ip, hostname: `${name}.lab.example` }],
            labels: addOptions.labels?.(index) ?? {},
            power: [{ type: 'redfish', address: bmc.url, user: BMC_USER, password: BMC_PASSWORD, options: { retries: '0', readback_interval: '0.05', readback_timeout: '5', cycle_settle: '0.2' } }],
          },
        });
        if (reply.status !== 201) throw new Error(`machine ${name}: ${JSON.stringify(reply.body)}`);
        const machine = { name, mac, ip, bmc };
        machines.set(name, machine);
        added.push(machine);
      };
      for (let start = 0; start < count; start += 20) await Promise.all(Array.from({ length: Math.min(20, count - start) }, (_, i) => batch(start + i)));
      return added.sort((a, b) => a.name.localeCompare(b.name));
    },
    async setGuard(settings) {
      const reply = await api.request('PATCH', '/api/v1/automation/settings', { body: settings });
      if (reply.status !== 200) throw new Error(`guard settings: ${JSON.stringify(reply.body)}`);
    },
    powerOperations() {
      return new Map([...machines.values()].filter((m) => m.bmc.powerEvents.length > 0).map((m) => [m.name, [...m.bmc.powerEvents]]));
    },
    bmcRequests() {
      return [...machines.values()].reduce((sum, m) => sum + m.bmc.requests.length, 0);
    },
    startLoops(intervalMs = 200) {
      stopLoops ??= startTriggerLoops(api.inventory, api.triggers!, { admissionIntervalMs: intervalMs, log: (line) => console.error(line) });
    },
    async stop() {
      await stopLoops?.();
      // Rescues still running are terminated so the worker can stop at once.
      for await (const execution of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await env.client.workflow.getHandle(execution.workflowId).terminate('test over').catch(() => undefined);
      }
      worker.shutdown();
      await running;
      await api.close();
      for (const machine of machines.values()) await machine.bmc.stop();
      await env.teardown();
    },
  };
  return lab;
}

/** An Alertmanager v4 webhook payload (the shape prometheus/alertmanager's webhook notifier sends). */
export function alertmanagerPayload(alerts: Array<{ labels: Record<string, string>; status?: 'firing' | 'resolved'; fingerprint?: string; summary?: string }>, over: Record<string, unknown> = {}) {
  const status = alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: '{}:{alertname="NodeDown"}',
    truncatedAlerts: 0,
    status,
    receiver: 'rescued',
    groupLabels: { alertname: 'NodeDown' },
    commonLabels: { alertname: 'NodeDown' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: alerts.map((a, index) => ({
      status: a.status ?? 'firing',
      labels: { alertname: 'NodeDown', ...a.labels },
      annotations: { summary: a.summary ?? 'node is not answering' },
      startsAt: '2026-11-29T11:00:00Z',
      endsAt: a.status === 'resolved' ? '2026-11-29T11:05:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint: a.fingerprint ?? `fp${index}${Object.values(a.labels).join('')}`.replace(/[^a-z0-9]/gi, '').slice(0, 32),
    })),
    ...over,
  };
}

