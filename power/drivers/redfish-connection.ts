// A Redfish conversation for one operation: the service root, then a session (POST .../Sessions, X-Auth-Token,
// DELETE at the end) or, when the service offers none or refuses it, HTTP basic auth on every request.
import { BmcError, type BmcErrorKind, type BmcErrorOrigin } from '../errors.js';
import { callWithRetries, RETRY_ON_NO_ANSWER, type RetryPolicy } from '../retry.js';
import type { OperationContext } from '../types.js';
import { describeRedfishAnswer, sendRedfishRequest, type RedfishEndpoint, type RedfishRequest, type RedfishResponse, type TlsSettings } from './redfish-http.js';
import { isRecord, odataId } from './redfish-mapping.js';

export type RedfishAuthMode = 'auto' | 'session' | 'basic';

export interface RedfishConnectionSettings {
  endpoint: RedfishEndpoint;
  tls: TlsSettings;
  username: string | undefined;
  password: string | undefined;
  authMode: RedfishAuthMode;
  callTimeoutMs: number;
  retry: RetryPolicy;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  retryOn?: readonly BmcErrorKind[];
  /** The kind for a 404 on this request (default `unsupported`: the BMC has no such resource). */
  notFoundKind?: BmcErrorKind;
}

/** The kind of failure an HTTP status means, or null for a success. */
export function kindForStatus(status: number, notFoundKind: BmcErrorKind = 'unsupported'): BmcErrorKind | null {
  if (status >= 200 && status < 300) return null;
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return notFoundKind;
  if (status === 405 || status === 501) return 'unsupported';
  if (status === 429 || status === 502 || status === 503 || status === 504) return 'unreachable';
  return 'rejected';
}

export class RedfishConnection {
  private authHeaders: Record<string, string> = {};
  private sessionPath: string | null = null;
  private serviceRootBody: unknown = undefined;
  /** How this connection authenticated: recorded with each call description. */
  authMethod: 'session' | 'basic' | 'none' = 'none';

  constructor(
    private readonly settings: RedfishConnectionSettings,
    private readonly origin: BmcErrorOrigin,
  ) {}

  get serviceRoot(): unknown {
    return this.serviceRootBody;
  }

  /** The session's X-Auth-Token while the session is open: a secret, scrubbed from records (power/redact.ts). */
  get sessionToken(): string | undefined {
    return this.authHeaders['X-Auth-Token'];
  }

  async open(context: OperationContext): Promise<void> {
    // The service root answers without credentials (DMTF DSP0266); some BMCs want them anyway.
    const root = await this.exchange('GET', '/redfish/v1/', context, { retryOn: RETRY_ON_NO_ANSWER });
    this.serviceRootBody = root.status === 200 ? root.body : undefined;
    if (this.settings.username === undefined) return;

    const basic = `Basic ${Buffer.from(`${this.settings.username}:${this.settings.password ?? ''}`).toString('base64')}`;
    const sessionsPath = this.sessionsPath();
    if (this.settings.authMode === 'basic' || (this.settings.authMode === 'auto' && sessionsPath === null)) {
      this.useBasic(basic);
      return;
    }
    const path = sessionsPath ?? '/redfish/v1/SessionService/Sessions';
    const created = await this.exchange('POST', path, context, {
      body: { UserName: this.settings.username, Password: this.settings.password ?? '' },
    });
    const token = headerValue(created.headers['x-auth-token']);
    if (created.status >= 200 && created.status < 300 && token) {
      this.authHeaders = { 'X-Auth-Token': token };
      this.authMethod = 'session';
      this.sessionPath = sessionLocation(created);
      return;
    }
    if (this.settings.authMode === 'session') {
      throw new BmcError(kindForStatus(created.status) ?? 'rejected', this.origin, `POST ${path}: no session created`, describeRedfishAnswer(created));
    }
    // auto: a service that refuses sessions may still take basic auth; if the credentials are wrong, the next
    // request says so with a 401.
    this.useBasic(basic);
  }

  async close(context: OperationContext): Promise<void> {
    if (this.sessionPath === null) return;
    const path = this.sessionPath;
    this.sessionPath = null;
    try {
      await this.request('DELETE', path, context, { retryOn: [] });
    } finally {
      this.authHeaders = {};
    }
  }

  /** One request with auth, retried when nothing answered; a non-2xx answer is thrown as a BmcError. */
  async request(method: RedfishRequest['method'], path: string, context: OperationContext, options: RequestOptions = {}): Promise<RedfishResponse> {
    return this.exchange(method, path, context, options, true);
  }

  /**
   * One exchange, retried when nothing answered or the BMC said it is busy. Authenticated exchanges throw any
   * other non-2xx answer as a BmcError (recorded with the call); the session login gets every answer back.
   */
  private async exchange(
    method: RedfishRequest['method'],
    path: string,
    context: OperationContext,
    options: RequestOptions,
    authenticated = false,
  ): Promise<RedfishResponse> {
    return callWithRetries(context, this.origin, `${method} ${path}`, this.settings.retry, async () => {
      const response = await sendRedfishRequest(this.settings.endpoint, this.settings.tls, this.origin, {
        method,
        path,
        headers: { ...(authenticated ? this.authHeaders : {}), ...options.headers },
        body: options.body,
        timeoutMs: this.settings.callTimeoutMs,
        signal: context.signal,
      });
      const kind = kindForStatus(response.status, options.notFoundKind);
      if (kind === 'unreachable') {
        throw new BmcError('unreachable', this.origin, `${method} ${path}: the BMC is busy`, describeRedfishAnswer(response));
      }
      if (authenticated && kind !== null) {
        const hint = kind === 'auth' ? ` (authenticated by ${this.authMethod})` : '';
        throw new BmcError(kind, this.origin, `${method} ${path}${hint}`, describeRedfishAnswer(response));
      }
      return response;
    }, options.retryOn ?? RETRY_ON_NO_ANSWER);
  }

  private sessionsPath(): string | null {
    const root = this.serviceRootBody;
    if (!isRecord(root)) return null;
    const fromLinks = isRecord(root['Links']) ? odataId(root['Links']['Sessions']) : null;
    if (fromLinks) return fromLinks;
    return odataId(root['SessionService']) ? '/redfish/v1/SessionService/Sessions' : null;
  }

  private useBasic(header: string): void {
    this.authHeaders = { Authorization: header };
    this.authMethod = 'basic';
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The session's own URI, from Location (absolute or not) or the body's @odata.id. */
function sessionLocation(response: RedfishResponse): string | null {
  const location = headerValue(response.headers['location']);
  if (location) {
    try {
      return new URL(location, 'https://bmc.invalid').pathname;
    } catch {
      return null;
    }
  }
  return odataId(response.body);
}
