// A real API server on 127.0.0.1 over a test database, with an admin token, for API and CLI tests.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createNetbootService } from '../../boot/netboot.js';
import { createInstallTracker } from '../../boot/install-status.js';
import { createFetchRecorder } from '../../boot/fetch-recorder.js';
import type { Netboot } from '../../workers/netboot.js';
import { buildRescuedApi } from '../../workers/api-server.js';
import type { RescueClient } from '../../rescue/rescue-client.js';
import type { RescueReconciler } from '../../rescue/reconcile.js';
import type { FleetAuditSettings } from '../../workflows/audit-types.js';
import type { Triggers } from '../../workers/triggers.js';
import { DEFAULT_ALERT_LABELS } from '../../triggers/alert-labels.js';
import type { RescueTimings } from '../../workflows/rescue-types.js';
import type { FastifyInstance } from 'fastify';
import { createInventory, type Inventory } from '../../db/inventory.js';
import type { Database } from '../../db/client.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import type { TestDatabase } from './databases.js';
import type { PayloadCodec } from '@temporalio/common';
import { rescuedDataConverter } from '../../temporal/data-converter.js';
import { createEncryptionCodec } from '../../temporal/payload-codec.js';

/** Where the test API finds Temporal: a real server, or (default) an address where nothing listens. */
export interface TestApiTemporal {
  connection: Connection;
  address: string;
  namespace?: string;
  taskQueue: string;
}

/** A reply body as tests read it: whatever JSON the route sent, navigated by the test's own assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into arbitrary replies
export type JsonReply = any;

export interface TestApi {
  url: string;
  /** The key the inventory's secrets are encrypted with, for another process over the same database. */
  secretKey: Buffer;
  /** Set for PostgreSQL: the database another process can open. */
  databaseUrl: string | undefined;
  netboot: Netboot;
  tftpRoot: string;
  adminToken: string;
  inventory: Inventory;
  /** The database itself, for tests that check what is stored. */
  db: Database;
  /** The guard, the alert intake and automation controls the routes use. */
  triggers: Triggers;
  app: FastifyInstance;
  /** The rescue client and reconciler the API's routes use (production's, over the test's Temporal). */
  rescues: RescueClient;
  reconciler: RescueReconciler;
  /** Closes the database under the running server (to see what the API answers when it is down). */
  closeDatabase(): Promise<void>;
  /** Everything the server logged, to check that no secret reached a log line. */
  logs: string[];
  request(method: string, path: string, options?: { body?: unknown; token?: string | null; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; body: JsonReply }>;
  close(): Promise<void>;
}

/**
 * The API as `npm start` builds it (workers/api-server.ts), over a test database and, when given, a real
 * Temporal server; without one its Temporal is an address where nothing listens, as when Temporal is down.
 */
export async function startTestApi(
  database: TestDatabase,
  options: {
    temporal?: TestApiTemporal;
    auditSettings?: Partial<FleetAuditSettings>;
    rescueTimings?: Partial<RescueTimings>;
    alertLabels?: string[];
    metrics?: { public: boolean; temporalExporter?: string };
    /** Encrypt the history as production does: the API's client uses it, and /codec serves it to these origins. */
    payloadCodec?: { codec: PayloadCodec; corsOrigins: string[] };
  } = {},
): Promise<TestApi> {
  const handle = await database.open();
  const secretKey = randomBytes(32);
  const inventory = createInventory(handle.db, createSecretCipher(secretKey), { admissions: handle.admissions });
  const tftpRoot = await mkdtemp(join(tmpdir(), 'rescued-tftproot-'));
  const { token: adminToken } = await inventory.tokens.create({ name: 'test-admin', role: 'admin' }, { name: 'test' });
  // The boot URLs are only known once the server listens; the services read them at each request.
  const urls = { httpBase: 'http://127.0.0.1' };
  const service = createNetbootService({ inventory, urls });
  const netboot: Netboot = {
    service,
    tracker: createInstallTracker({ inventory, netboot: service, stallAfterMs: 60_000 }),
    recorder: createFetchRecorder(inventory),
    urls,
    tftpRoot,
  };
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  // No Temporal given: an address where nothing listens, without the client's retries (each call fails at once).
  const temporal = options.temporal ?? { connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '2 seconds', interceptors: [] }), address: '127.0.0.1:1', taskQueue: 'none' };
  const namespace = temporal.namespace ?? 'default';
  const built = await buildRescuedApi({
    inventory,
    netboot,
    logLevel: 'info',
    logStream,
    temporal: {
      client: new Client({ connection: temporal.connection, namespace, ...(options.payloadCodec ? { dataConverter: rescuedDataConverter(options.payloadCodec.codec) } : {}) }),
      connection: temporal.connection,
      address: temporal.address,
      namespace,
      taskQueue: temporal.taskQueue,
    },
    // /codec is registered always, so the route table is production's; the history is encrypted only with payloadCodec.
    codec: options.payloadCodec
      ? { payloadCodec: options.payloadCodec.codec, corsOrigins: options.payloadCodec.corsOrigins }
      : { payloadCodec: createEncryptionCodec({ keys: [{ id: 'test-api', key: randomBytes(32) }], source: 'test' }), corsOrigins: ['http://127.0.0.1:8233'] },
    database: { describe: () => ({ kind: handle.kind }), check: () => handle.ping() },
    ...(options.auditSettings ? { auditSettings: options.auditSettings } : {}),
    alertLabels: options.alertLabels ?? [...DEFAULT_ALERT_LABELS],
    ...(options.rescueTimings ? { rescueTimings: options.rescueTimings } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const app = built.app;
  let databaseOpen = true;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  urls.httpBase = url;
  return {
    url,
    secretKey,
    databaseUrl: handle.url,
    netboot,
    tftpRoot,
    adminToken,
    inventory,
    db: handle.db,
    triggers: built.triggers,
    app,
    rescues: built.rescues,
    reconciler: built.reconciler,
    logs,
    async closeDatabase() {
      databaseOpen = false;
      await handle.close();
    },
    async request(method, path, options = {}) {
      const token = options.token === undefined ? adminToken : options.token;
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(options.body !== undefined || options.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      });
      const text = await response.text();
      let body: JsonReply = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      return { status: response.status, body };
    },
    async close() {
      await app.close();
      if (!options.temporal) await temporal.connection.close().catch(() => undefined);
      if (databaseOpen) await handle.drop();
      else await handle.drop().catch(() => undefined);
      await rm(tftpRoot, { recursive: true, force: true });
    },
  };
}
