// The parts a process of ours is made of, each started with what it needs and returning how to stop it.
// `serve` runs them all; `api` and `worker` run one each, for the distributed deployment.
import { Client, Connection } from '@temporalio/client';
import type { RescuedConfig } from '../config/environment.js';
import { buildApiServer } from '../api/server.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../temporal/embedded-server.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { createTemporalHealthCheck } from '../temporal/health.js';
import type { Runtime } from './runtime.js';
import { createRescueWorker } from './temporal-worker.js';
import type { Netboot } from './netboot.js';
import { createInventorySystemPower } from './system-power.js';
import { createSshRescueShell } from './rescue-shell.js';
import { registerPowerRoutes } from '../api/routes/power.js';
import { registerRescueRoutes } from '../api/routes/rescues.js';
import { createRescueClient } from '../rescue/rescue-client.js';
import { registerBootRoutes } from '../api/routes/boot.js';
import { registerNetbootRoutes } from '../api/routes/netboot.js';
import { registerHookRoutes } from '../api/routes/hooks.js';
import { registerAutomationRoutes } from '../api/routes/automation.js';
import type { FastifyInstance } from 'fastify';
import type { Inventory } from '../db/inventory.js';
import type { RescueClient } from '../rescue/rescue-client.js';
import { createTriggers, startTriggerLoops, type Triggers } from './triggers.js';

export type Stopper = () => Promise<void>;

export async function startTemporal(config: RescuedConfig): Promise<{ address: string; embedded: EmbeddedTemporal | undefined; stop: Stopper }> {
  if (config.temporalAddress !== undefined) return { address: config.temporalAddress, embedded: undefined, stop: async () => undefined };
  const cliPath = await locateOrBuildTemporalCli((line) => console.log(`temporal: ${line}`));
  const embedded = await startEmbeddedTemporal({
    cliPath,
    dataDir: config.dataDir,
    port: config.embeddedTemporalPort,
    uiPort: config.embeddedTemporalUiPort,
    namespace: config.temporalNamespace,
  });
  return { address: embedded.address, embedded, stop: embedded.stop };
}

export async function connectClient(config: RescuedConfig, address: string): Promise<{ connection: Connection; stop: Stopper }> {
  const connection = await Connection.connect({ address });
  try {
    const { added } = await ensureSearchAttributes(connection, config.temporalNamespace);
    if (added.length > 0) console.log(`temporal: registered search attributes ${added.join(', ')}`);
  } catch (error) {
    console.warn(`temporal: could not register search attributes (${(error as Error).message}); rescues still run, the UI filters will not`);
  }
  return { connection, stop: () => connection.close() };
}

export async function startWorker(config: RescuedConfig, runtime: Runtime, address: string, netboot: Netboot): Promise<Stopper> {
  const { worker, connection } = await createRescueWorker({
    address,
    namespace: config.temporalNamespace,
    taskQueue: config.temporalTaskQueue,
    dependencies: {
      inventory: runtime.inventory,
      databaseKind: runtime.database.kind,
      systemPower: createInventorySystemPower(runtime.inventory),
      netboot: netboot.service,
      rescueShell: createSshRescueShell(),
    },
  });
  const running = worker.run();
  return async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
  };
}

export type RouteGroup = (app: FastifyInstance) => void | Promise<void>;

/** Every route group beyond the inventory's, as `npm start` serves them (tests build theirs here too). */
export function apiRouteGroups(dependencies: { inventory: Inventory; netboot: Netboot; rescues?: RescueClient | undefined; triggers?: Triggers | undefined }): RouteGroup[] {
  const { inventory, netboot, rescues, triggers } = dependencies;
  return [
    (app) => registerBootRoutes(app, { netboot: netboot.service, tracker: netboot.tracker, recorder: netboot.recorder, urls: netboot.urls, tftpRoot: netboot.tftpRoot }),
    (app) => registerNetbootRoutes(app, { inventory, netboot: netboot.service, tracker: netboot.tracker, urls: netboot.urls, tftpRoot: netboot.tftpRoot }),
    (app) => registerPowerRoutes(app, createInventorySystemPower(inventory)),
    ...(rescues ? [(app: FastifyInstance) => registerRescueRoutes(app, { inventory, rescues, ...(triggers ? { automation: triggers.automation } : {}) })] : []),
    ...(triggers
      ? [
          (app: FastifyInstance) => registerHookRoutes(app, { intake: triggers.intake, tokens: inventory.tokens }),
          (app: FastifyInstance) => registerAutomationRoutes(app, { alerts: inventory.alerts, guard: inventory.guard, automation: triggers.automation }),
        ]
      : []),
  ];
}

export async function startApi(config: RescuedConfig, runtime: Runtime, connection: Connection, address: string, netboot: Netboot): Promise<Stopper> {
  const rescues = createRescueClient(new Client({ connection, namespace: config.temporalNamespace }), { taskQueue: config.temporalTaskQueue });
  const log = (line: string) => console.log(line);
  const triggers = createTriggers(runtime.inventory, rescues, { alertLabels: config.alertLabels, log });
  const api = await buildApiServer({
    inventory: runtime.inventory,
    logLevel: config.logLevel,
    routeGroups: apiRouteGroups({ inventory: runtime.inventory, netboot, rescues, triggers }),
    health: {
      database: { describe: () => ({ kind: runtime.database.kind, location: runtime.database.location }), check: () => runtime.database.ping() },
      temporal: createTemporalHealthCheck(connection, { address, namespace: config.temporalNamespace, taskQueue: config.temporalTaskQueue }),
    },
  });
  await api.listen({ host: config.apiHost, port: config.apiPort });
  const stopLoops = startTriggerLoops(runtime.inventory, triggers, {
    admissionIntervalMs: config.admissionIntervalMs,
    alertmanager: config.alertmanagerUrl ? { url: config.alertmanagerUrl, intervalMs: config.alertmanagerPollMs, filter: config.alertmanagerFilter } : undefined,
    log,
  });
  return async () => {
    await stopLoops();
    await api.close();
  };
}
