// The parts a process of ours is made of, each started with what it needs and returning how to stop it.
// `serve` runs them all; `api` and `worker` run one each, for the distributed deployment.
import { Client, Connection } from '@temporalio/client';
import type { RescuedConfig } from '../config/environment.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../temporal/embedded-server.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { clientConnectionOptions, describeTemporalConnection } from '../temporal/connection-settings.js';
import { temporalConnectionError } from '../temporal/connection-diagnosis.js';
import { rescuedDataConverter } from '../temporal/data-converter.js';
import { describePayloadKeys } from '../temporal/payload-codec.js';
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

/** The embedded Temporal's codec endpoint for its Web UI: ours, at the API's public URL. */
export function codecEndpoint(config: RescuedConfig): string {
  return `${config.publicUrl}/codec`;
}

export async function startTemporal(config: RescuedConfig): Promise<{ address: string; embedded: EmbeddedTemporal | undefined; stop: Stopper }> {
  if (config.temporalAddress !== undefined) return { address: config.temporalAddress, embedded: undefined, stop: async () => undefined };
  const cliPath = await locateOrBuildTemporalCli((line) => consoleLog().info(`temporal: ${line}`));
  const embedded = await startEmbeddedTemporal({
    cliPath,
    dataDir: config.dataDir,
    port: config.embeddedTemporalPort,
    uiPort: config.embeddedTemporalUiPort,
    namespace: config.temporalNamespace,
    uiCodecEndpoint: codecEndpoint(config),
  });
  return { address: embedded.address, embedded, stop: embedded.stop };
}

/** A Temporal client whose payloads go through the history's codec (encrypted on the way in, readable on the way out). */
export function rescuedClient(config: RescuedConfig, runtime: Runtime, connection: Connection): Client {
  return new Client({ connection, namespace: config.temporalNamespace, dataConverter: rescuedDataConverter(runtime.payloadCodec) });
}

/** A client connection with the TEMPORAL_* settings (TLS, API key, metadata) to `address`; a refusal says where and how we tried. */
export async function connectTemporal(config: RescuedConfig, address: string): Promise<Connection> {
  try {
    return await Connection.connect(clientConnectionOptions(config.temporal, address));
  } catch (error) {
    throw await temporalConnectionError(config.temporal, address, error);
  }
}

export async function connectClient(config: RescuedConfig, runtime: Runtime, address: string): Promise<{ connection: Connection; stop: Stopper }> {
  consoleLog().info(`temporal: connecting to ${describeTemporalConnection(config.temporal, address)}`);
  consoleLog().info(`temporal: history encryption ${describePayloadKeys(runtime.payloadKeys)}`);
  const connection = await connectTemporal(config, address);
  try {
    const { added } = await ensureSearchAttributes(connection, config.temporalNamespace);
    if (added.length > 0) consoleLog().info(`temporal: registered search attributes ${added.join(', ')}`);
  } catch (error) {
    consoleLog().warn(`temporal: could not register search attributes (${(error as Error).message}); rescues still run, the UI filters will not`);
  }
  await reconcileAuditSchedule(config, rescuedClient(config, runtime, connection));
  return { connection, stop: () => connection.close() };
}

/** The fleet audit's schedule, made to match RESCUED_AUDIT_EVERY at every start (an operator's pause is kept). */
async function reconcileAuditSchedule(config: RescuedConfig, client: Client): Promise<void> {
  const schedules = createAuditScheduleClient(client, { taskQueue: config.temporalTaskQueue, settings: { installStallMs: config.installStallMs } });
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
  const clientConnection = await connectTemporal(config, address);
  const { rescues } = createRescueServices(runtime.inventory, rescuedClient(config, runtime, clientConnection), config.temporalTaskQueue);
  const admission: RescueAdmission = createTriggers(runtime.inventory, rescues, { alertLabels: config.alertLabels, log: (line) => consoleLog().info(line) }).guard;
  const { worker, connection } = await createRescueWorker({
    settings: config.temporal,
    address,
    namespace: config.temporalNamespace,
    payloadCodec: runtime.payloadCodec,
    taskQueue: config.temporalTaskQueue,
    dependencies: {
      inventory: runtime.inventory,
      databaseKind: runtime.database.kind,
      systemPower: createInventorySystemPower(runtime.inventory),
      netboot: netboot.service,
      rescueShell: createSshRescueShell({ maxSessions: config.maxSshSessions }),
      admission,
    },
  });
  const running = worker.run();
  // The worker keeps the tables that grow with every boot and every change bounded.
  const stopRetention = startRetention(runtime.inventory, {
    bootFetchRetentionMs: config.bootFetchRetentionMs,
    eventRetentionMs: config.eventRetentionMs,
    alertRetentionMs: config.alertRetentionMs,
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
    temporal: { client: rescuedClient(config, runtime, connection), connection, address, namespace: config.temporalNamespace, taskQueue: config.temporalTaskQueue },
    codec: { payloadCodec: runtime.payloadCodec, corsOrigins: config.codecCorsOrigins },
    database: { describe: () => ({ kind: runtime.database.kind, location: runtime.database.location }), check: () => runtime.database.ping() },
    alertLabels: config.alertLabels,
    auditSettings: { installStallMs: config.installStallMs },
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
  const { reconciler } = createRescueServices(runtime.inventory, rescuedClient(config, runtime, connection), config.temporalTaskQueue);
  return startPeriodicReconcile(reconciler, { intervalMs: config.reconcileIntervalMs, log: (line) => consoleLog().info(line) });
}
