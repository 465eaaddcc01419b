// A real API server on 127.0.0.1 over a test database, with an admin token, for API and CLI tests.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetbootService } from '../../boot/netboot.js';
import { createInstallTracker } from '../../boot/install-status.js';
import { createFetchRecorder } from '../../boot/fetch-recorder.js';
import { createStatusTokens } from '../../boot/status-tokens.js';
import type { Netboot } from '../../workers/netboot.js';
import type { RescueClient } from '../../rescue/rescue-client.js';
import { apiRouteGroups } from '../../workers/components.js';
import { createTriggers, type Triggers } from '../../workers/triggers.js';
import { DEFAULT_ALERT_LABELS } from '../../triggers/alert-labels.js';
import type { RescueTimings } from '../../workflows/rescue-types.js';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../../api/server.js';
import { createInventory, type Inventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import type { TestDatabase } from './databases.js';

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
  /** With a rescue client: the guard, the alert intake and automation controls the routes use. */
  triggers: Triggers | undefined;
  app: FastifyInstance;
  /** Everything the server logged, to check that no secret reached a log line. */
  logs: string[];
  request(method: string, path: string, options?: { body?: unknown; token?: string | null; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; body: JsonReply }>;
  close(): Promise<void>;
}

export async function startTestApi(database: TestDatabase, options: { rescues?: RescueClient; rescueTimings?: Partial<RescueTimings>; alertLabels?: string[] } = {}): Promise<TestApi> {
  const handle = await database.open();
  const secretKey = randomBytes(32);
  const inventory = createInventory(handle.db, createSecretCipher(secretKey));
  const tftpRoot = await mkdtemp(join(tmpdir(), 'rescued-tftproot-'));
  const { token: adminToken } = await inventory.tokens.create({ name: 'test-admin', role: 'admin' }, { name: 'test' });
  // The boot URLs are only known once the server listens; the services read them at each request.
  const urls = { httpBase: 'http://127.0.0.1' };
  const statusTokens = createStatusTokens(secretKey);
  const service = createNetbootService({ inventory, urls, statusTokens });
  const netboot: Netboot = {
    service,
    tracker: createInstallTracker({ inventory, statusTokens, netboot: service, stallAfterMs: 60_000 }),
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
  const triggers = options.rescues
    ? createTriggers(inventory, options.rescues, { alertLabels: options.alertLabels ?? [...DEFAULT_ALERT_LABELS], ...(options.rescueTimings ? { rescueTimings: options.rescueTimings } : {}) })
    : undefined;
  const app = await buildApiServer({
    inventory,
    logLevel: 'info',
    logStream,
    routeGroups: apiRouteGroups({ inventory, netboot, rescues: options.rescues, triggers }),
    health: {
      database: { describe: () => ({ kind: handle.kind }), check: () => handle.ping() },
      temporal: { describe: () => ({ address: 'none in this test' }), check: async () => Promise.reject(new Error('no Temporal in this test')) },
    },
  });
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
    triggers,
    app,
    logs,
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
      await handle.drop();
      await rm(tftpRoot, { recursive: true, force: true });
    },
  };
}
