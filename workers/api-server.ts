// The API server with every route group, built the same way by `npm start`, `npm run api` and the tests
// (test/support/api.ts): what the tests exercise is what runs.
import type { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../api/server.js';
import type { HealthCheck } from '../api/routes/health.js';
import { registerBootRoutes } from '../api/routes/boot.js';
import { registerNetbootRoutes } from '../api/routes/netboot.js';
import { registerPowerRoutes } from '../api/routes/power.js';
import { registerRescueRoutes } from '../api/routes/rescues.js';
import { registerAuditRoutes } from '../api/routes/audits.js';
import { registerHookRoutes } from '../api/routes/hooks.js';
import { registerAutomationRoutes } from '../api/routes/automation.js';
import { registerCodecRoutes } from '../api/routes/codec.js';
import type { PayloadCodec } from '@temporalio/common';
import { createTriggers, type Triggers } from './triggers.js';
import type { RescueTimings } from '../workflows/rescue-types.js';
import { createAuditClient } from '../triggers/audit-client.js';
import type { FleetAuditSettings } from '../workflows/audit-types.js';
import type { Inventory } from '../db/inventory.js';
import { createRescueClient, type RescueClient } from '../rescue/rescue-client.js';
import { createRescueReconciler, statusFromRun, type RescueReconciler } from '../rescue/reconcile.js';
import { createTemporalHealthCheck } from '../temporal/health.js';
import { InventoryError } from '../inventory/errors.js';
import type { Netboot } from './netboot.js';
import { createInventorySystemPower } from './system-power.js';

export interface RescuedApiParts {
  inventory: Inventory;
  netboot: Netboot;
  temporal: { client: Client; connection: Connection; address: string; namespace: string; taskQueue: string };
  database: HealthCheck;
  logLevel?: string;
  /** Where log lines go (default standard output). */
  logStream?: NodeJS.WritableStream;
  /** GET /metrics: public or behind a viewer token, and the Temporal SDK exporter of this process it includes. */
  metrics?: { public: boolean; temporalExporter?: string | undefined };
  /** Overrides of the fleet audit's batch sizes and limits (tests and benchmarks). */
  auditSettings?: Partial<FleetAuditSettings>;
  /** The alert labels that may name a machine, tried in order (RESCUED_ALERT_LABELS). */
  alertLabels: readonly string[];
  /** Rescue timings for automatic rescues (labs and tests shorten them). */
  rescueTimings?: Partial<RescueTimings>;
  log?: (line: string) => void;
  /** The history's payload codec behind /codec/decode and /codec/encode, and the browser origins (Temporal UIs) that may call it. */
  codec?: { payloadCodec: PayloadCodec; corsOrigins: readonly string[] };
}

export interface RescuedApi {
  app: FastifyInstance;
  rescues: RescueClient;
  reconciler: RescueReconciler;
  /** The guard, the alert intake and the automation controls the routes use (their loops: startTriggerLoops). */
  triggers: Triggers;
}

/** The rescue client and its reconciler over one Temporal client and one inventory. */
export function createRescueServices(inventory: Inventory, client: Client, taskQueue: string): { rescues: RescueClient; reconciler: RescueReconciler } {
  let reconciler: RescueReconciler | undefined;
  const rescues = createRescueClient(client, {
    taskQueue,
    reconcileSystem: (system) => reconciler!.reconcileSystem(system),
    closedRunStatus: async (workflowId, runId) => {
      try {
        return statusFromRun(await inventory.rescues.get(workflowId, runId));
      } catch (error) {
        if (error instanceof InventoryError && error.kind === 'not-found') return undefined;
        throw error;
      }
    },
  });
  reconciler = createRescueReconciler({ inventory, temporal: rescues });
  return { rescues, reconciler };
}

export async function buildRescuedApi(parts: RescuedApiParts): Promise<RescuedApi> {
  const { inventory, netboot, temporal } = parts;
  const { rescues, reconciler } = createRescueServices(inventory, temporal.client, temporal.taskQueue);
  const triggers = createTriggers(inventory, rescues, {
    alertLabels: parts.alertLabels,
    ...(parts.rescueTimings ? { rescueTimings: parts.rescueTimings } : {}),
    ...(parts.log ? { log: parts.log } : {}),
  });
  const app = await buildApiServer({
    inventory,
    ...(parts.logLevel ? { logLevel: parts.logLevel } : {}),
    ...(parts.logStream ? { logStream: parts.logStream } : {}),
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
    routeGroups: [
      (server) => registerBootRoutes(server, { netboot: netboot.service, tracker: netboot.tracker, recorder: netboot.recorder, urls: netboot.urls, tftpRoot: netboot.tftpRoot }),
      (server) => registerNetbootRoutes(server, { inventory, netboot: netboot.service, tracker: netboot.tracker, urls: netboot.urls, tftpRoot: netboot.tftpRoot }),
      (server) => registerPowerRoutes(server, createInventorySystemPower(inventory)),
      (server) => registerRescueRoutes(server, { inventory, rescues, reconciler, automation: triggers.automation }),
      (server) => registerHookRoutes(server, { intake: triggers.intake, tokens: inventory.tokens }),
      (server) => registerAutomationRoutes(server, { alerts: inventory.alerts, guard: inventory.guard, automation: triggers.automation }),
      (server) =>
        registerAuditRoutes(server, {
          inventory,
          audits: createAuditClient(temporal.client, { taskQueue: temporal.taskQueue, audits: inventory.audits, ...(parts.auditSettings ? { settings: parts.auditSettings } : {}) }),
          temporalAddress: temporal.address,
          temporalConnection: temporal.connection,
        }),
      ...(parts.codec ? [(server: FastifyInstance) => registerCodecRoutes(server, { codec: parts.codec!.payloadCodec, namespace: temporal.namespace, corsOrigins: parts.codec!.corsOrigins })] : []),
    ],
    health: {
      database: parts.database,
      temporal: createTemporalHealthCheck(temporal.connection, { address: temporal.address, namespace: temporal.namespace, taskQueue: temporal.taskQueue }),
    },
  });
  return { app, rescues, reconciler, triggers };
}
