// `npm run worker` has no API server: it answers Prometheus itself, on RESCUED_WORKER_METRICS_ADDRESS, with
// the same exposition and the same rule as the API's /metrics (a viewer token, or public when
// RESCUED_METRICS_PUBLIC=true). Only GET /metrics; anything else is a 404.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { roleAllows, type Role } from '../db/repositories/tokens.js';
import { bearerTokenOf } from '../api/auth.js';
import { metricsExposition } from './exposition.js';
import { splitAddress } from './temporal-metrics.js';

export interface MetricsServerOptions {
  address: string;
  public: boolean;
  tokens: { authenticate(token: string): Promise<{ name: string; role: Role } | undefined> };
  temporalExporter?: string | undefined;
}

export interface MetricsServer {
  /** host:port actually bound (port 0 picks one). */
  address: string;
  stop(): Promise<void>;
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function authorized(request: IncomingMessage, options: MetricsServerOptions): Promise<{ status: number; message: string } | undefined> {
  if (options.public) return undefined;
  const header = request.headers.authorization;
  const token = header === undefined ? '' : (bearerTokenOf(header) ?? '');
  if (token === '') return { status: 401, message: '/metrics needs a bearer token with role viewer (or RESCUED_METRICS_PUBLIC=true)' };
  const caller = await options.tokens.authenticate(token);
  if (caller === undefined) return { status: 401, message: 'the bearer token is not valid' };
  if (!roleAllows(caller.role, 'viewer')) return { status: 403, message: `token "${caller.name}" has role ${caller.role}; this needs viewer` };
  return undefined;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      answer(response, 404, { error: 'not-found', message: 'this port serves only GET /metrics' });
      return;
    }
    authorized(request, options)
      .then(async (refusal) => {
        if (refusal) return answer(response, refusal.status, { error: refusal.status === 401 ? 'unauthorized' : 'forbidden', message: refusal.message }, refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
        const exposition = await metricsExposition({ temporalExporter: options.temporalExporter });
        response.writeHead(200, { 'content-type': exposition.contentType }).end(request.method === 'HEAD' ? undefined : exposition.body);
      })
      .catch((error: Error) => answer(response, 503, { error: 'unavailable', message: `the database did not answer the token check (${error.message})` }));
  });
  const [host, port] = splitAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
