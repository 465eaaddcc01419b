// HTTPS to a Redfish service with node:https: TLS verification on unless the BMC's options say otherwise,
// one request at a time, every failure turned into a BmcError of the right kind.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import { redfishErrorMessage } from './redfish-mapping.js';

export interface RedfishEndpoint {
  protocol: 'https:' | 'http:';
  /** Host name or IP, IPv6 without brackets. */
  host: string;
  port: number;
}

/**
 * `host`, `host:port`, `[v6]:port` or a URL. Plain http only when the address says `http://` explicitly
 * (test benches); `port` (the target's own field) wins over a port in the address.
 */
export function parseRedfishEndpoint(address: string, port: number | undefined): RedfishEndpoint | null {
  const trimmed = address.trim();
  let url: URL;
  try {
    if (/^https?:\/\//i.test(trimmed)) url = new URL(trimmed);
    else if (trimmed.includes(':') && !trimmed.startsWith('[') && (trimmed.match(/:/g) ?? []).length > 1) url = new URL(`https://[${trimmed}]`);
    else url = new URL(`https://${trimmed}`);
  } catch {
    return null;
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '' || url.password !== '') return null;
  const protocol = url.protocol === 'http:' ? 'http:' : 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return null;
  const portInUrl = url.port === '' ? undefined : Number(url.port);
  return { protocol, host, port: port ?? portInUrl ?? (protocol === 'https:' ? 443 : 80) };
}

export function endpointUrl(endpoint: RedfishEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.protocol}//${host}:${endpoint.port}`;
}

export interface TlsSettings {
  /** false accepts any certificate (self-signed BMCs); set per system, never globally. */
  verify: boolean;
  /** PEM text of the CA (or the BMC's own certificate) to trust, from options.ca_file. */
  ca: string | undefined;
}

export interface RedfishResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there is none or it is not JSON. */
  body: unknown;
  text: string;
}

export interface RedfishRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  signal: AbortSignal;
}

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'INVALID_CA', 'HOSTNAME_MISMATCH',
]);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'EHOSTDOWN']);

/** A socket-level failure as a BmcError; the TLS verification failures say how to accept the certificate. */
export function transportError(error: NodeJS.ErrnoException, endpoint: RedfishEndpoint, origin: BmcErrorOrigin): BmcError {
  const code = error.code ?? '';
  const where = endpointUrl(endpoint);
  if (TLS_VERIFY_CODES.has(code)) {
    return new BmcError(
      'tls',
      origin,
      `TLS certificate of ${where} is not trusted (${code}: ${error.message}); to accept it set the option verify_tls=false for this BMC, or ca_file=<name of a PEM file in the server's RESCUED_CA_DIR>`,
    );
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new BmcError('tls', origin, `TLS handshake with ${where} failed (${code}: ${error.message})`);
  }
  if (code === 'ETIMEDOUT') return new BmcError('timeout', origin, `connection to ${where} timed out`);
  if (UNREACHABLE_CODES.has(code)) return new BmcError('unreachable', origin, `cannot reach ${where} (${code})`);
  return new BmcError('unreachable', origin, `request to ${where} failed (${code || error.message})`);
}

/** No Redfish resource the drivers read comes near this; a larger answer is refused, not buffered. */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** One HTTP exchange. Resolves for every HTTP status; rejects with a BmcError when no answer came. */
export function sendRedfishRequest(
  endpoint: RedfishEndpoint,
  tls: TlsSettings,
  origin: BmcErrorOrigin,
  request: RedfishRequest,
): Promise<RedfishResponse> {
  return new Promise((resolve, reject) => {
    if (request.signal.aborted) {
      reject(request.signal.reason);
      return;
    }
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'OData-Version': '4.0',
      Connection: 'close',
      ...request.headers,
    };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const options = {
      method: request.method,
      host: endpoint.host,
      port: endpoint.port,
      path: request.path,
      headers,
      agent: false as const,
    };
    let settled = false;
    const fail = (error: BmcError | unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(error);
    };
    const outgoing = endpoint.protocol === 'https:'
      ? httpsRequest({ ...options, rejectUnauthorized: tls.verify, ...(tls.ca ? { ca: tls.ca } : {}) })
      : httpRequest(options);
    const timer = setTimeout(() => {
      outgoing.destroy();
      fail(new BmcError('timeout', origin, `${request.method} ${request.path}: no answer from ${endpointUrl(endpoint)} within ${request.timeoutMs / 1000} s`));
    }, request.timeoutMs);
    const onAbort = (): void => {
      outgoing.destroy();
      fail(request.signal.reason);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error: NodeJS.ErrnoException) => fail(transportError(error, endpoint, origin)));
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      let received = 0;
      incoming.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_REPLY_BYTES) {
          outgoing.destroy();
          fail(new BmcError('internal', origin, `${request.method} ${request.path}: the answer from ${endpointUrl(endpoint)} is larger than ${MAX_REPLY_BYTES / 1024 / 1024} MiB; not read`));
          return;
        }
        chunks.push(chunk);
      });
      incoming.on('error', (error: NodeJS.ErrnoException) => fail(transportError(error, endpoint, origin)));
      incoming.on('end', () => {
        if (settled) return;
        settled = true;
        cleanup();
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body, text });
      });
    });
    outgoing.end(payload);
  });
}

/** What the BMC said in an error answer: the Redfish error message, or the start of the body. */
export function describeRedfishAnswer(response: RedfishResponse): string {
  const message = redfishErrorMessage(response.body);
  if (message !== '') return `HTTP ${response.status}: ${message}`;
  const text = response.text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return text === '' ? `HTTP ${response.status}` : `HTTP ${response.status}: ${text}`;
}
