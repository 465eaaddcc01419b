// A Redfish conversation for one operation: the service root, then a session (POST .../Sessions, X-Auth-Token,
// DELETE at the end) or, when the service offers none, refuses it or has no room for it, HTTP basic auth on every
// request. Session hygiene (issue 8): the login is never retried (a retry after a timeout may leave a second
// session behind), a session created without a usable token is deleted at once, and close() deletes the session
// whatever happened before. Answers of 202 with a task monitor (DSP0266 "Asynchronous operations") are polled
// until the operation is done.
import { BmcError, type BmcErrorKind, type BmcErrorOrigin } from '../errors.js';
import { callWithRetries, RETRY_ON_NO_ANSWER, sleep, type RetryPolicy } from '../retry.js';
import type { OperationContext } from '../types.js';
import { describeRedfishAnswer, endpointUrl, sendRedfishRequest, type RedfishEndpoint, type RedfishRequest, type RedfishResponse, type TlsSettings } from './redfish-http.js';
import { isRecord, odataId, redfishErrorMessage } from './redfish-mapping.js';

export type RedfishAuthMode = 'auto' | 'session' | 'basic';

export interface RedfishConnectionSettings {
  endpoint: RedfishEndpoint;
  tls: TlsSettings;
  username: string | undefined;
  password: string | undefined;
  authMode: RedfishAuthMode;
  callTimeoutMs: number;
  retry: RetryPolicy;
  /** How long a task monitor is polled before the operation counts as not done. */
  taskTimeoutMs: number;
  taskPollMs: number;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  retryOn?: readonly BmcErrorKind[];
  /** The kind for a 404 on this request (default `unsupported`: the BMC has no such resource). */
  notFoundKind?: BmcErrorKind;
  /** These statuses come back as answers instead of errors (e.g. 412 and 428 on a PATCH, to retry it). */
  answerStatuses?: readonly number[];
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

/** iDRAC's RAC0218 (503) and other BMCs' words for "no room for another session". */
const NO_ROOM_FOR_SESSION = /maximum number of (user )?sessions|RAC0218|session limit|too many sessions|SessionLimitExceeded/i;

export class RedfishConnection {
  private authHeaders: Record<string, string> = {};
  private sessionPath: string | null = null;
  private serviceRootBody: unknown = undefined;
  /** How this connection authenticated: recorded with each call description. */
  authMethod: 'session' | 'basic' | 'none' = 'none';
  /** Why the connection uses basic auth although the service offers sessions (for the probe and the record). */
  basicReason: string | null = null;

  constructor(
    private readonly settings: RedfishConnectionSettings,
    private readonly origin: BmcErrorOrigin,
  ) {}

  get serviceRoot(): unknown {
    return this.serviceRootBody;
  }

  /** How messages name this BMC: its vendor and product when the service root says, and its URL. */
  describeBmc(): string {
    const root = isRecord(this.serviceRootBody) ? this.serviceRootBody : {};
    const oem = isRecord(root['Oem']) ? Object.keys(root['Oem'])[0] : undefined;
    const vendor = typeof root['Vendor'] === 'string' ? root['Vendor'] : oem;
    const product = typeof root['Product'] === 'string' ? root['Product'] : undefined;
    const name = [vendor, product].filter((part) => part !== undefined && part !== '').join(' ');
    return `${name === '' ? 'Redfish service' : name} at ${endpointUrl(this.settings.endpoint)}`;
  }

  sessionsOffered(): boolean {
    return this.sessionsPath() !== null;
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
      this.useBasic(basic, this.settings.authMode === 'basic' ? 'auth=basic' : 'the service offers no sessions');
      return;
    }
    const path = sessionsPath ?? '/redfish/v1/SessionService/Sessions';
    // Never retried: a login that timed out may have created a session we cannot name, and a second try would
    // leave it behind (iDRAC keeps 8, for ~20 minutes each).
    const created = await this.exchange('POST', path, context, {
      body: { UserName: this.settings.username, Password: this.settings.password ?? '' },
      retryOn: [],
    });
    const token = headerValue(created.headers['x-auth-token']);
    const succeeded = created.status >= 200 && created.status < 300;
    if (succeeded && token) {
      this.authHeaders = { 'X-Auth-Token': token };
      this.authMethod = 'session';
      this.sessionPath = sessionLocation(created);
      return;
    }
    if (succeeded) {
      // A session was made but we cannot use it: delete it (with basic auth) so that it does not take a slot.
      this.useBasic(basic, `the login at ${path} answered without an X-Auth-Token`);
      const orphan = sessionLocation(created);
      if (orphan) await this.request('DELETE', orphan, context, { retryOn: RETRY_ON_NO_ANSWER, answerStatuses: [404] });
      if (this.settings.authMode === 'session') {
        throw new BmcError('unsupported', this.origin, `${this.describeBmc()}: POST ${path} created a session without an X-Auth-Token (deleted it); auth=session cannot be honoured, use auth=auto or basic`);
      }
      return;
    }
    const said = describeRedfishAnswer(created);
    const noRoom = created.status === 503 || NO_ROOM_FOR_SESSION.test(redfishErrorMessage(created.body));
    if (this.settings.authMode === 'session') {
      const kind = noRoom ? 'unreachable' : (kindForStatus(created.status) ?? 'rejected');
      throw new BmcError(kind, this.origin, `${this.describeBmc()}: POST ${path}: no session created`, said);
    }
    // auto: a service that refuses sessions or has no room left may still take basic auth; if the credentials
    // are wrong, the next request says so with a 401.
    this.useBasic(basic, noRoom ? `no session available (${said})` : `the login was refused (${said})`);
  }

  async close(context: OperationContext): Promise<void> {
    if (this.sessionPath === null) return;
    const path = this.sessionPath;
    this.sessionPath = null;
    try {
      // DELETE is idempotent: retried when nothing answered; a 404 means it is gone already.
      await this.request('DELETE', path, context, { retryOn: RETRY_ON_NO_ANSWER, answerStatuses: [404] });
    } finally {
      this.authHeaders = {};
    }
  }

  /** One request with auth, retried when nothing answered; a non-2xx answer is thrown as a BmcError. */
  async request(method: RedfishRequest['method'], path: string, context: OperationContext, options: RequestOptions = {}): Promise<RedfishResponse> {
    const response = await this.exchange(method, path, context, options, true);
    if (response.status === 202 && method !== 'GET') return this.followTask(method, path, response, context);
    return response;
  }

  /**
   * A 202 with a Location is a task monitor: GET it until it stops answering 202; its last answer is the
   * operation's (DSP0266 "Asynchronous operations"). A Task body in state Exception/Killed/Cancelled is a failure.
   */
  private async followTask(method: string, path: string, accepted: RedfishResponse, context: OperationContext): Promise<RedfishResponse> {
    const location = headerValue(accepted.headers['location']) ?? odataId(accepted.body);
    if (!location) return accepted;
    let monitor: string;
    try {
      monitor = new URL(location, 'https://bmc.invalid').pathname;
    } catch {
      return accepted;
    }
    const deadline = performance.now() + this.settings.taskTimeoutMs;
    for (;;) {
      const answer = await this.exchange('GET', monitor, context, { notFoundKind: 'rejected' }, true);
      const state = isRecord(answer.body) && typeof answer.body['TaskState'] === 'string' ? answer.body['TaskState'] : null;
      if (state !== null && /^(Exception|Killed|Cancelled|Interrupted)$/.test(state)) {
        throw new BmcError('rejected', this.origin, `${this.describeBmc()}: ${method} ${path}: the task ${monitor} ended ${state}`, taskMessages(answer.body));
      }
      if (answer.status !== 202 && state !== 'Running' && state !== 'New' && state !== 'Starting' && state !== 'Pending') return answer;
      if (performance.now() >= deadline) {
        throw new BmcError('timeout', this.origin, `${this.describeBmc()}: ${method} ${path}: the task ${monitor} was not done within ${this.settings.taskTimeoutMs / 1000} s`, taskMessages(answer.body));
      }
      const retryAfter = Number(headerValue(answer.headers['retry-after']));
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 5000, this.settings.taskPollMs * 8) : this.settings.taskPollMs;
      await sleep(wait, context.signal);
    }
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
      if (options.answerStatuses?.includes(response.status)) return response;
      const kind = kindForStatus(response.status, options.notFoundKind);
      if (kind === 'unreachable' && (authenticated || method === 'GET')) {
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

  private useBasic(header: string, reason: string): void {
    this.authHeaders = { Authorization: header };
    this.authMethod = 'basic';
    this.basicReason = reason;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function taskMessages(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body['Messages'])) return '';
  return body['Messages'].map((message) => (isRecord(message) && typeof message['Message'] === 'string' ? message['Message'] : '')).filter((text) => text !== '').join(' / ');
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
