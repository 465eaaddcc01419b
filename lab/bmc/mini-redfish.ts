// A small Redfish service for tests, shaped after the DMTF schemas for what the redfish driver uses and
// sushy-tools does not offer: SessionService sessions (X-Auth-Token, DELETE), a Reset action described by an
// ActionInfo resource (with PowerCycle), ETag/If-Match on PATCH, and a SEL LogService with entries.
// It keeps a log of what it was asked, so tests can check that sessions are deleted and how requests authenticated.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface MiniRedfishOptions {
  username: string;
  password: string;
  /** Serve HTTPS with this certificate and key (PEM files); plain HTTP otherwise. */
  tls?: { certificatePath: string; keyPath: string };
  /** Accept HTTP basic auth as well as sessions (default true). */
  basicAuth?: boolean;
  /** Offer the SessionService (default true). */
  sessions?: boolean;
  resetTypes?: string[];
}

export interface MiniRedfishRequest {
  method: string;
  path: string;
  auth: 'session' | 'basic' | 'none' | 'rejected';
  /** The If-Match header of a PATCH. */
  ifMatch?: string;
}

export interface MiniRedfishBmc {
  url: string;
  power: 'On' | 'Off';
  boot: { target: string; enabled: string; mode: string };
  requests: MiniRedfishRequest[];
  /** Sessions currently open. */
  openSessions(): number;
  sessionsCreated: number;
  powerEvents: string[];
  stop(): Promise<void>;
}

const SYSTEM = '/redfish/v1/Systems/1';

export async function startMiniRedfish(options: MiniRedfishOptions): Promise<MiniRedfishBmc> {
  const sessions = new Map<string, string>(); // token -> session id
  let nextSession = 1;
  let etagCounter = 1;
  const offerSessions = options.sessions ?? true;
  const state: MiniRedfishBmc = {
    url: '',
    power: 'Off',
    boot: { target: 'None', enabled: 'Disabled', mode: 'UEFI' },
    requests: [],
    openSessions: () => sessions.size,
    sessionsCreated: 0,
    powerEvents: [],
    stop: async () => undefined,
  };

  const send = (response: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    response.writeHead(status, { ...(text ? { 'Content-Type': 'application/json' } : {}), ...headers });
    response.end(text);
  };
  const error = (response: ServerResponse, status: number, message: string): void =>
    send(response, status, { error: { code: 'Base.1.8.GeneralError', message, '@Message.ExtendedInfo': [{ MessageId: 'Base.1.8.GeneralError', Message: message }] } });

  const authenticate = (request: IncomingMessage): MiniRedfishRequest['auth'] => {
    const token = request.headers['x-auth-token'];
    if (typeof token === 'string') return sessions.has(token) ? 'session' : 'rejected';
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      if (options.basicAuth === false) return 'rejected';
      const [user, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString().split(':');
      return user === options.username && rest.join(':') === options.password ? 'basic' : 'rejected';
    }
    return 'none';
  };

  const systemResource = (): Record<string, unknown> => ({
    '@odata.id': SYSTEM,
    '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
    Id: '1',
    Name: 'Mini system',
    PowerState: state.power,
    Boot: {
      BootSourceOverrideTarget: state.boot.target,
      BootSourceOverrideEnabled: state.boot.enabled,
      BootSourceOverrideMode: state.boot.mode,
      'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'],
    },
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${SYSTEM}/Actions/ComputerSystem.Reset`,
        '@Redfish.ActionInfo': `${SYSTEM}/ResetActionInfo`,
      },
    },
    LogServices: { '@odata.id': `${SYSTEM}/LogServices` },
  });

  const reset = (resetType: string): boolean => {
    const allowed = options.resetTypes ?? ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];
    if (!allowed.includes(resetType)) return false;
    state.powerEvents.push(resetType);
    if (resetType === 'On' || resetType === 'ForceOn') state.power = 'On';
    else if (resetType === 'ForceOff' || resetType === 'GracefulShutdown') state.power = 'Off';
    else if (resetType === 'PowerCycle' || resetType === 'ForceRestart') {
      state.power = 'Off';
      setTimeout(() => {
        state.power = 'On';
      }, 300).unref();
    }
    return true;
  };

  const handle = (request: IncomingMessage, response: ServerResponse, bodyText: string): void => {
    const path = (request.url ?? '/').split('?')[0]?.replace(/\/$/, '') || '/';
    const method = request.method ?? 'GET';
    let body: Record<string, unknown> = {};
    try {
      body = bodyText ? (JSON.parse(bodyText) as Record<string, unknown>) : {};
    } catch {
      error(response, 400, 'malformed JSON');
      return;
    }
    if (path === '/redfish/v1' && method === 'GET') {
      state.requests.push({ method, path, auth: 'none' });
      send(response, 200, {
        '@odata.id': '/redfish/v1/',
        '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
        Id: 'RootService',
        RedfishVersion: '1.15.0',
        Systems: { '@odata.id': '/redfish/v1/Systems' },
        ...(offerSessions ? { SessionService: { '@odata.id': '/redfish/v1/SessionService' }, Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } } } : {}),
      });
      return;
    }
    if (offerSessions && path === '/redfish/v1/SessionService/Sessions' && method === 'POST') {
      state.requests.push({ method, path, auth: 'none' });
      if (body['UserName'] !== options.username || body['Password'] !== options.password) {
        error(response, 401, 'Invalid username or password');
        return;
      }
      const id = String(nextSession++);
      const token = randomBytes(16).toString('hex');
      sessions.set(token, id);
      state.sessionsCreated += 1;
      send(response, 201, { '@odata.id': `/redfish/v1/SessionService/Sessions/${id}`, Id: id, UserName: options.username }, {
        'X-Auth-Token': token,
        Location: `/redfish/v1/SessionService/Sessions/${id}`,
      });
      return;
    }

    const auth = authenticate(request);
    const ifMatchHeader = request.headers['if-match'];
    state.requests.push({ method, path, auth, ...(typeof ifMatchHeader === 'string' ? { ifMatch: ifMatchHeader } : {}) });
    if (auth === 'none' || auth === 'rejected') {
      error(response, 401, 'Authentication required');
      return;
    }

    const sessionMatch = /^\/redfish\/v1\/SessionService\/Sessions\/(\d+)$/.exec(path);
    if (sessionMatch && method === 'DELETE') {
      for (const [token, id] of sessions) if (id === sessionMatch[1]) sessions.delete(token);
      send(response, 204);
      return;
    }
    if (path === '/redfish/v1/Systems' && method === 'GET') {
      send(response, 200, { '@odata.id': '/redfish/v1/Systems', 'Members@odata.count': 1, Members: [{ '@odata.id': SYSTEM }] });
      return;
    }
    if (path === SYSTEM && method === 'GET') {
      send(response, 200, systemResource(), { ETag: `W/"${etagCounter}"` });
      return;
    }
    if (path === SYSTEM && method === 'PATCH') {
      const ifMatch = request.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== `W/"${etagCounter}"`) {
        error(response, 412, 'ETag does not match');
        return;
      }
      const boot = body['Boot'] as Record<string, unknown> | undefined;
      if (!boot) {
        error(response, 400, 'only Boot can be patched');
        return;
      }
      if (typeof boot['BootSourceOverrideTarget'] === 'string') state.boot.target = boot['BootSourceOverrideTarget'];
      if (typeof boot['BootSourceOverrideEnabled'] === 'string') state.boot.enabled = boot['BootSourceOverrideEnabled'];
      if (typeof boot['BootSourceOverrideMode'] === 'string') state.boot.mode = boot['BootSourceOverrideMode'];
      etagCounter += 1;
      send(response, 204);
      return;
    }
    if (path === `${SYSTEM}/ResetActionInfo` && method === 'GET') {
      send(response, 200, {
        '@odata.id': `${SYSTEM}/ResetActionInfo`,
        '@odata.type': '#ActionInfo.v1_3_0.ActionInfo',
        Id: 'ResetActionInfo',
        Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: options.resetTypes ?? ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] }],
      });
      return;
    }
    if (path === `${SYSTEM}/Actions/ComputerSystem.Reset` && method === 'POST') {
      if (typeof body['ResetType'] !== 'string' || !reset(body['ResetType'])) {
        error(response, 400, `ResetType ${String(body['ResetType'])} is not supported`);
        return;
      }
      send(response, 204);
      return;
    }
    if (path === `${SYSTEM}/LogServices` && method === 'GET') {
      send(response, 200, { '@odata.id': path, Members: [{ '@odata.id': `${SYSTEM}/LogServices/SEL` }] });
      return;
    }
    if (path === `${SYSTEM}/LogServices/SEL` && method === 'GET') {
      send(response, 200, { '@odata.id': path, Id: 'SEL', Entries: { '@odata.id': `${SYSTEM}/LogServices/SEL/Entries` } });
      return;
    }
    if (path === `${SYSTEM}/LogServices/SEL/Entries` && method === 'GET') {
      send(response, 200, {
        '@odata.id': path,
        Members: [
          { '@odata.id': `${path}/1`, Id: '1', Created: '2026-01-02T03:04:05Z', EntryType: 'SEL', SensorType: 'Memory', Message: 'Correctable ECC', Severity: 'Warning' },
          { '@odata.id': `${path}/2` },
        ],
      });
      return;
    }
    if (path === `${SYSTEM}/LogServices/SEL/Entries/2` && method === 'GET') {
      send(response, 200, { '@odata.id': path, Id: '2', Created: '2026-01-02T03:05:00Z', EntryType: 'SEL', SensorType: 'Temperature', Message: 'Upper Critical going high', Severity: 'Critical' });
      return;
    }
    error(response, 404, `no resource ${path}`);
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString()));
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.certificatePath), key: readFileSync(options.tls.keyPath) }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('mini-redfish: no address');
  state.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
