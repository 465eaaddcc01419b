// The parts a process of ours is made of, each started with what it needs and returning how to stop it.
// `serve` runs them all; `api` and `worker` run one each, for the distributed deployment.
import { Client, Connection } from '@temporalio/client';
import type { RescuedConfig } from '../config/environment.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../temporal/embedded-server.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import type { Runtime } from './runtime.js';
import { createRescueWorker } from './temporal-worker.js';
import { startRetention } from './retention.js';
import type { Netboot } from './netboot.js';
import { createInventorySystemPower } from './system-power.js';
import { createSshRescueShell } from './rescue-shell.js';
import { createAuditScheduleClient } from '../triggers/audit-client.js';
import type { RescueAdmission } from '../triggers/admission.js';
import { buildRescuedApi, createRescueServices } from './api-server.js';
import { startPeriodicReconcile } from '../rescue/reconcile.js';
import { createTriggers, startTriggerLoops } from './triggers.js';
import { consoleLog } from '../observability/console.js';

export type Stopper = () => Promise<void>;

export async function startTemporal(config: RescuedConfig): Promise<{ address: string; embedded: EmbeddedTemporal | undefined; stop: Stopper }> {
  if (config.temporalAddress !== undefined) return { address: config.temporalAddress, embedded: undefined, stop: async () => undefined };
  const cliPath = await locateOrBuildTemporalCli((line) => consoleLog().info(`temporal: ${line}`));
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
    if (added.length > 0) consoleLog().info(`temporal: registered search attributes ${added.join(', ')}`);
  } catch (error) {
    consoleLog().warn(`temporal: could not register search attributes (${(error as Error).message}); rescues still run, the UI filters will not`);
  }
  await reconcileAuditSchedule(config, new Client({ connection, namespace: config.temporalNamespace }));
  return { connection, stop: () => connection.close() };
}

/** The fleet audit's schedule, made to match RESCUED_AUDIT_EVERY at every start (an operator's pause is kept). */
async function reconcileAuditSchedule(config: RescuedConfig, client: Client): Promise<void> {
  const schedules = createAuditScheduleClient(client, { taskQueue: config.temporalTaskQueue });
  try {
    const { action, schedule } = await schedules.reconcileSchedule(config.auditEveryMs);
    if (schedule) consoleLog().info(`temporal: fleet audit schedule ${schedule.scheduleId} ${action}: every ${schedule.every}${schedule.paused ? `, paused (${schedule.note ?? 'no note'})` : ''}`);
    else if (action === 'deleted') consoleLog().info(`temporal: fleet audit schedule ${schedules.scheduleId} deleted (RESCUED_AUDIT_EVERY=off)`);
  } catch (error) {
    consoleLog().warn(`temporal: could not reconcile the fleet audit schedule (${(error as Error).message}); audits run only when asked (rescuectl audit run)`);
  }
}

/**
 * `admission`: the guard every automatic rescue start goes through. Until one is wired in, audits record their
 * verdicts and every broken machine is refused with a reason that says there is no guard.
 */
export async function startWorker(config: RescuedConfig, runtime: Runtime, address: string, netboot: Netboot): Promise<Stopper> {
  // Audits send their broken machines to the same guard as alerts (its state is in the database, so the
  // API's and the worker's instances decide as one).
  const clientConnection = await Connection.connect({ address });
  const { rescues } = createRescueServices(runtime.inventory, new Client({ connection: clientConnection, namespace: config.temporalNamespace }), config.temporalTaskQueue);
  const admission: RescueAdmission = createTriggers(runtime.inventory, rescues, { alertLabels: config.alertLabels, log: (line) => consoleLog().info(line) }).guard;
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
      admission,
    },
  });
  const running = worker.run();
  // The worker keeps the tables that grow with every boot and every change bounded.
  const stopRetention = startRetention(runtime.inventory, {
    bootFetchRetentionMs: config.bootFetchRetentionMs,
    eventRetentionMs: config.eventRetentionMs,
    intervalMs: config.pruneIntervalMs,
    log: (line) => consoleLog().info(line),
  });
  return async () => {
    await stopRetention();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
    await clientConnection.close();
  };
}

/** `temporalExporter`: the Temporal SDK's metrics exporter of this process (it runs a worker too), which /metrics includes. */
export async function startApi(config: RescuedConfig, runtime: Runtime, connection: Connection, address: string, netboot: Netboot, temporalExporter?: string): Promise<Stopper> {
  const log = (line: string) => consoleLog().info(line);
  const { app, triggers } = await buildRescuedApi({
    inventory: runtime.inventory,
    netboot,
    logLevel: config.logLevel,
    logStream: consoleLog().stream,
    metrics: { public: config.metricsPublic, temporalExporter },
    temporal: { client: new Client({ connection, namespace: config.temporalNamespace }), connection, address, namespace: config.temporalNamespace, taskQueue: config.temporalTaskQueue },
    database: { describe: () => ({ kind: runtime.database.kind, location: runtime.database.location }), check: () => runtime.database.ping() },
    alertLabels: config.alertLabels,
    log,
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  const stopLoops = startTriggerLoops(runtime.inventory, triggers, {
    admissionIntervalMs: config.admissionIntervalMs,
    alertmanager: config.alertmanagerUrl ? { url: config.alertmanagerUrl, intervalMs: config.alertmanagerPollMs, filter: config.alertmanagerFilter } : undefined,
    log,
  });
  return async () => {
    await stopLoops();
    await app.close();
  };
}

/** Rescue runs reconciled with Temporal now and every RESCUED_RECONCILE_MINUTES (runs left open by a workflow that ended). */
export function startReconciler(config: RescuedConfig, runtime: Runtime, connection: Connection): Stopper {
  const { reconciler } = createRescueServices(runtime.inventory, new Client({ connection, namespace: config.temporalNamespace }), config.temporalTaskQueue);
  return startPeriodicReconcile(reconciler, { intervalMs: config.reconcileIntervalMs, log: (line) => consoleLog().info(line) });
}
