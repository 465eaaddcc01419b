// The parts a process of ours is made of, each started with what it needs and returning how to stop it.
// `serve` runs them all; `api` and `worker` run one each, for the distributed deployment.
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { RescuedConfig } from '../config/environment.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../temporal/embedded-server.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { clientConnectionOptions, describeTemporalConnection } from '../temporal/connection-settings.js';
import { TemporalConnectionError, temporalConnectionError } from '../temporal/connection-diagnosis.js';
import { callTemporal } from '../temporal/unavailable.js';
import { retryUntilSuccess, type RetriedUntilSuccess } from '../concurrency/retry-until-success.js';
import { untilAborted } from '../concurrency/until-aborted.js';
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

/** The process's client connection to Temporal, and whether Temporal answered when the process started. */
export interface TemporalClientConnection {
  connection: Connection;
  reachable: boolean;
  stop: Stopper;
}

/**
 * A Temporal that is not there (yet) does not stop the process: its connection is made at the first call (the
 * API answers 503 naming Temporal until then), and what is set up in Temporal at start is retried in the
 * background until it succeeds. A Temporal that refuses our settings stops the start, as waiting will not help.
 */
export async function connectClient(config: RescuedConfig, runtime: Runtime, address: string): Promise<TemporalClientConnection> {
  consoleLog().info(`temporal: connecting to ${describeTemporalConnection(config.temporal, address)}`);
  consoleLog().info(`temporal: history encryption ${describePayloadKeys(runtime.payloadKeys)}`);
  let connection: Connection;
  let reachable = true;
  try {
    connection = await connectTemporal(config, address);
  } catch (error) {
    if (!(error instanceof TemporalConnectionError) || error.failure === 'refused') throw error;
    consoleLog().warn(`temporal: ${error.message}; starting without it, what needs Temporal waits for it`);
    connection = Connection.lazy(clientConnectionOptions(config.temporal, address));
    reachable = false;
  }
  const setups = [registerSearchAttributes(config, address), reconcileAuditSchedule(config, runtime, address)];
  // With Temporal there, the process reports itself running once both are done (or failed once), as before.
  if (reachable) await Promise.all(setups.map((setup) => setup.firstTry));
  return {
    connection,
    reachable,
    stop: async () => {
      await Promise.all(setups.map((setup) => setup.stop()));
      await connection.close();
    },
  };
}

/** Log lines of what is set up in Temporal, marked as Temporal's. */
const temporalLog = {
  info: (line: string) => consoleLog().info(`temporal: ${line}`),
  warn: (line: string) => consoleLog().warn(`temporal: ${line}`),
};

/**
 * One try of a start-up setup, on a connection of its own: without the client's gRPC retries (the backoff is
 * the caller's), fresh for each try (so gRPC's own reconnect backoff never delays the try after Temporal is
 * back), under the API's deadline, and cut short by `signal`.
 */
async function overOwnConnection<T>(config: RescuedConfig, address: string, signal: AbortSignal, run: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = Connection.lazy({ ...clientConnectionOptions(config.temporal, address), interceptors: [] });
  try {
    return await connection.withAbortSignal(signal, () => callTemporal(connection, () => run(connection)));
  } finally {
    await connection.close();
  }
}

/** rescued's search attributes, added to the namespace when it lacks them (the UI's filters need them). */
function registerSearchAttributes(config: RescuedConfig, address: string): RetriedUntilSuccess {
  return retryUntilSuccess({
    what: 'register the search attributes',
    meanwhile: 'rescues run, the UI cannot filter them',
    log: temporalLog,
    attempt: async (signal) => {
      const { added } = await overOwnConnection(config, address, signal, (connection) => ensureSearchAttributes(connection, config.temporalNamespace));
      return added.length > 0 ? `registered search attributes ${added.join(', ')}` : undefined;
    },
  });
}

/** The fleet audit's schedule, made to match RESCUED_AUDIT_EVERY at every start (an operator's pause is kept). */
function reconcileAuditSchedule(config: RescuedConfig, runtime: Runtime, address: string): RetriedUntilSuccess {
  return retryUntilSuccess({
    what: 'reconcile the fleet audit schedule',
    meanwhile: 'audits run only when asked (rescuectl audit run)',
    log: temporalLog,
    attempt: async (signal) => {
      const { action, schedule, scheduleId } = await overOwnConnection(config, address, signal, async (connection) => {
        const schedules = createAuditScheduleClient(rescuedClient(config, runtime, connection), { taskQueue: config.temporalTaskQueue, settings: { installStallMs: config.installStallMs } });
        return { ...(await schedules.reconcileSchedule(config.auditEveryMs)), scheduleId: schedules.scheduleId };
      });
      if (schedule) return `fleet audit schedule ${schedule.scheduleId} ${action}: every ${schedule.every}${schedule.paused ? `, paused (${schedule.note ?? 'no note'})` : ''}`;
      return action === 'deleted' ? `fleet audit schedule ${scheduleId} deleted (RESCUED_AUDIT_EVERY=off)` : undefined;
    },
  });
}

/** A worker polling our task queue, and how it ends. */
interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  running: Promise<void>;
}

/**
 * `temporal`: the process's client connection (audits send their broken machines to the same guard as alerts,
 * whose state is in the database, so the API's and the worker's instances decide as one). When Temporal was not
 * there at start, the worker starts in the background once it is.
 */
export async function startWorker(config: RescuedConfig, runtime: Runtime, address: string, netboot: Netboot, temporal: TemporalClientConnection): Promise<Stopper> {
  const { rescues } = createRescueServices(runtime.inventory, rescuedClient(config, runtime, temporal.connection), config.temporalTaskQueue);
  const admission: RescueAdmission = createTriggers(runtime.inventory, rescues, { alertLabels: config.alertLabels, log: (line) => consoleLog().info(line) }).guard;
  let started: RunningWorker | undefined;
  const startRescueWorker = async (): Promise<RunningWorker> => {
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
    return { worker, connection, running: worker.run() };
  };
  const waitingForTemporal = temporal.reachable
    ? undefined
    : retryUntilSuccess({
        what: 'start the rescue worker',
        meanwhile: 'this process runs no rescue and no audit',
        log: temporalLog,
        attempt: async (signal) => {
          started = await untilAborted(startRescueWorker(), signal, stopRescueWorker);
          return `rescue worker polling task queue ${config.temporalTaskQueue}`;
        },
      });
  if (temporal.reachable) started = await startRescueWorker();
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
    await waitingForTemporal?.stop();
    if (started !== undefined) await stopRescueWorker(started);
  };
}

async function stopRescueWorker(started: RunningWorker): Promise<void> {
  if (started.worker.getState() === 'RUNNING') started.worker.shutdown();
  await started.running;
  await started.connection.close();
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
