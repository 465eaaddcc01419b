// A small Redfish service for tests and benchmarks, shaped after the DMTF schemas (DSP0266, ComputerSystem,
// Manager, LogService, SessionService, ActionInfo, Task) for what the redfish driver uses and sushy-tools does
// not offer: sessions (X-Auth-Token, DELETE), a Reset action, ETag/If-Match on PATCH, log services with paged
// entries, task monitors. A personality (lab/bmc/redfish/personalities.ts) gives it the quirks of one vendor's
// BMC; without one it is the plain DMTF service it always was.
// It keeps a log of what it was asked, so tests can check that sessions are deleted and how requests authenticated.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GENERIC, type RedfishPersonality, type SystemSeed } from './redfish/personalities.js';

export interface MiniRedfishOptions {
  username: string;
  password: string;
  /** Serve HTTPS with this certificate and key (PEM files); plain HTTP otherwise. */
  tls?: { certificatePath: string; keyPath: string };
  /** Accept HTTP basic auth as well as sessions (default: the personality's, true). */
  basicAuth?: boolean;
  /** Offer the SessionService (default: the personality's, true). */
  sessions?: boolean;
  resetTypes?: string[];
  personality?: RedfishPersonality;
  /** Called as a reset is applied to a system, with the boot override in force at that moment. */
  onReset?: (system: EmulatedSystem, resetType: string) => void;
}

export interface MiniRedfishRequest {
  method: string;
  path: string;
  /** The query string, without "?" ('' when none). */
  query: string;
  auth: 'session' | 'basic' | 'none' | 'rejected';
  /** The If-Match header of a PATCH. */
  ifMatch?: string;
  /** The JSON body of a PATCH or an action POST (never the login's). */
  body?: Record<string, unknown>;
  status: number;
}

export interface EmulatedBoot {
  target: string;
  enabled: string;
  mode: string;
}

export interface EmulatedSystem {
  seed: SystemSeed;
  power: 'On' | 'Off';
  boot: EmulatedBoot;
  etag: number;
  powerEvents: string[];
}

export interface MiniRedfishBmc {
  url: string;
  personality: RedfishPersonality;
  /** The first system's power state and boot override. */
  power: 'On' | 'Off';
  boot: EmulatedBoot;
  systems: Map<string, EmulatedSystem>;
  requests: MiniRedfishRequest[];
  /** Sessions currently open. */
  openSessions(): number;
  sessionsCreated: number;
  /** The most sessions that were open at once. */
  peakSessions: number;
  /** The first system's power events (ResetTypes applied). */
  powerEvents: string[];
  /** Someone else changed the system (its ETag moves on). */
  bumpEtag(systemId?: string): void;
  /** Appends entries to the main log service of the first system, newest last by time. */
  addLogEntries(count: number): void;
  /** Someone else changes the system between the client's GET and its next PATCH (that PATCH gets a 412). */
  bumpEtagBeforeNextPatch(): void;
  /** The next task (202 reset) ends in TaskState Exception with this message. */
  failNextTask(message: string): void;
  /** The next login takes this long before it answers (the session is created at once). */
  delayNextLogin(ms: number): void;
  /** Forgets every session, as the BMC's idle timeout would. */
  expireSessions(): void;
  /** GET of a system answers more than 4 MiB. */
  oversizedReplies: boolean;
  stop(): Promise<void>;
}

interface LogEntry {
  Id: string;
  Created: string;
  EntryType: string;
  SensorType: string;
  Message: string;
  Severity: string;
  /** Listed by @odata.id only (the client must GET it). */
  linkOnly?: boolean;
}

const SYSTEMS = '/redfish/v1/Systems';
const MANAGERS = '/redfish/v1/Managers';
const TASK_MONITORS = '/redfish/v1/TaskService/TaskMonitors';

function seedLog(personality: RedfishPersonality): LogEntry[] {
  if (personality === GENERIC) {
    return [
      { Id: '1', Created: '2026-01-02T03:04:05Z', EntryType: 'SEL', SensorType: 'Memory', Message: 'Correctable ECC', Severity: 'Warning' },
      { Id: '2', Created: '2026-01-02T03:05:00Z', EntryType: 'SEL', SensorType: 'Temperature', Message: 'Upper Critical going high', Severity: 'Critical', linkOnly: true },
    ];
  }
  return [
    { Id: '1', Created: '2026-01-02T03:00:00Z', EntryType: 'SEL', SensorType: 'Event Logging Disabled', Message: 'Log area reset/cleared', Severity: 'OK' },
    { Id: '2', Created: '2026-01-02T03:04:05Z', EntryType: 'SEL', SensorType: 'Memory', Message: 'Correctable ECC', Severity: 'Warning' },
    { Id: '3', Created: '2026-01-02T03:05:00Z', EntryType: 'SEL', SensorType: 'Temperature', Message: 'Upper Critical going high', Severity: 'Critical', linkOnly: true },
  ];
}

export async function startMiniRedfish(options: MiniRedfishOptions): Promise<MiniRedfishBmc> {
  const personality = options.personality ?? GENERIC;
  const offerSessions = options.sessions ?? personality.sessions.offered;
  const basicAllowed = options.basicAuth ?? personality.basicAuth;
  const resetTypes = options.resetTypes ?? personality.reset.types;
  const sessionsPath = personality.sessions.path;
  const managerPath = `${MANAGERS}/${personality.managerId}`;
  const sessions = new Map<string, string>(); // token -> session id
  const sessionIds = new Set<string>();
  let nextSession = 1;
  let nextTask = 1;
  let loginDelayMs = 0;
  const tasks = new Map<string, { done: boolean; failure: string | null }>();
  let bumpBeforePatch = false;
  let nextTaskFailure: string | null = null;
  let offUntilBusyEnds = 0;
  let unknownReadsLeft = 0;
  let lastLogId = 0;
  const systems = new Map<string, EmulatedSystem>();
  for (const seed of personality.systems) {
    systems.set(seed.id, { seed, power: 'Off', boot: { target: 'None', enabled: 'Disabled', mode: 'UEFI' }, etag: 1, powerEvents: [] });
  }
  const firstSystem = (): EmulatedSystem => [...systems.values()][0] as EmulatedSystem;
  const log = seedLog(personality);
  lastLogId = log.length;

  const state: MiniRedfishBmc = {
    url: '',
    personality,
    get power() {
      return firstSystem().power;
    },
    set power(value) {
      firstSystem().power = value;
    },
    get boot() {
      return firstSystem().boot;
    },
    set boot(value) {
      firstSystem().boot = value;
    },
    systems,
    requests: [],
    openSessions: () => sessionIds.size,
    sessionsCreated: 0,
    peakSessions: 0,
    get powerEvents() {
      return firstSystem().powerEvents;
    },
    bumpEtag: (systemId) => {
      const system = systemId ? systems.get(systemId) : firstSystem();
      if (system) system.etag += 1;
    },
    addLogEntries: (count) => {
      const start = Date.parse('2026-02-01T00:00:00Z');
      for (let index = 0; index < count; index += 1) {
        lastLogId += 1;
        log.push({
          Id: String(lastLogId),
          Created: new Date(start + lastLogId * 60000).toISOString().replace('.000', ''),
          EntryType: 'SEL',
          SensorType: 'Processor',
          Message: `event ${lastLogId}`,
          Severity: 'OK',
        });
      }
    },
    bumpEtagBeforeNextPatch: () => {
      bumpBeforePatch = true;
    },
    failNextTask: (message) => {
      nextTaskFailure = message;
    },
    delayNextLogin: (ms) => {
      loginDelayMs = ms;
    },
    expireSessions: () => {
      sessions.clear();
      sessionIds.clear();
    },
    oversizedReplies: false,
    stop: async () => undefined,
  };

  const etagOf = (system: EmulatedSystem): string => (personality.etag.weak ? `W/"${system.etag}"` : `"${system.etag}"`);

  const send = (response: ServerResponse, record: MiniRedfishRequest | null, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    if (record) record.status = status;
    const text = body === undefined ? '' : JSON.stringify(body);
    response.writeHead(status, { ...(text ? { 'Content-Type': 'application/json' } : {}), 'OData-Version': '4.0', ...headers });
    response.end(text);
  };
  /** A DSP0266 error body: error.code, error.message and one @Message.ExtendedInfo entry. */
  const error = (response: ServerResponse, record: MiniRedfishRequest | null, status: number, message: string, messageId = 'Base.1.8.GeneralError', extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void =>
    send(response, record, status, {
      error: { code: 'Base.1.8.GeneralError', message, '@Message.ExtendedInfo': [{ MessageId: messageId, Message: message, Severity: 'Warning', ...extra }] },
    }, headers);

  const authenticate = (request: IncomingMessage): MiniRedfishRequest['auth'] => {
    const token = request.headers['x-auth-token'];
    if (typeof token === 'string') return sessions.has(token) ? 'session' : 'rejected';
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      if (!basicAllowed) return 'rejected';
      const [user, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString().split(':');
      return user === options.username && rest.join(':') === options.password ? 'basic' : 'rejected';
    }
    return 'none';
  };

  const readPowerState = (system: EmulatedSystem): string => {
    if (unknownReadsLeft > 0 && personality.unknownPowerStateValue !== null) {
      unknownReadsLeft -= 1;
      return personality.unknownPowerStateValue;
    }
    return system.power;
  };

  const bootResource = (system: EmulatedSystem, forSettings: boolean): Record<string, unknown> | undefined => {
    const boot = personality.boot;
    if (!boot) return undefined;
    const reportedTarget = system.boot.target === 'Pxe' && system.boot.mode === 'UEFI' && system.boot.enabled !== 'Disabled' ? boot.pxeReportedAs : system.boot.target;
    const resource: Record<string, unknown> = {
      BootSourceOverrideTarget: reportedTarget,
      BootSourceOverrideEnabled: system.boot.enabled,
      ...(boot.mode !== 'absent' ? { BootSourceOverrideMode: system.boot.mode } : {}),
      ...(reportedTarget === 'UefiTarget' ? { UefiTargetBootSourceOverride: '' } : {}),
    };
    const targets = boot.settingsResource && forSettings
      ? ['None', 'Pxe', 'Floppy', 'Cd', 'Hdd', 'BiosSetup', 'Utilities', 'UefiTarget', 'SDCard', 'UefiHttp']
      : boot.targets;
    if (targets && (!boot.settingsResource || forSettings)) resource['BootSourceOverrideTarget@Redfish.AllowableValues'] = targets;
    if (boot.modeAllowable) resource['BootSourceOverrideMode@Redfish.AllowableValues'] = boot.modeAllowable;
    return resource;
  };

  const resetAction = (path: string): Record<string, unknown> => {
    const action: Record<string, unknown> = { target: `${path}/Actions/ComputerSystem.Reset` };
    switch (personality.reset.advertised) {
      case 'inline':
        action['ResetType@Redfish.AllowableValues'] = resetTypes;
        break;
      case 'empty-inline':
        action['ResetType@Redfish.AllowableValues'] = [];
        break;
      case 'action-info':
      case 'broken-action-info':
        action['@Redfish.ActionInfo'] = `${path}/ResetActionInfo`;
        break;
      case 'none':
        break;
    }
    return action;
  };

  const systemResource = (system: EmulatedSystem): Record<string, unknown> => {
    const path = `${SYSTEMS}/${system.seed.id}`;
    const holdsLogs = personality.log.holder !== 'manager' && personality.log.systemServices.length > 0;
    const boot = bootResource(system, false);
    return {
      '@odata.id': path,
      '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
      ...(personality.etag.where !== 'header' ? { '@odata.etag': etagOf(system) } : {}),
      Id: system.seed.id,
      Name: personality.model,
      Manufacturer: personality.manufacturer,
      Model: personality.model,
      SerialNumber: system.seed.serial,
      UUID: system.seed.uuid,
      BiosVersion: '2.19.1',
      PowerState: readPowerState(system),
      ...(boot ? { Boot: boot } : {}),
      ...(personality.boot?.settingsResource ? { '@Redfish.Settings': { '@odata.type': '#Settings.v1_3_5.Settings', SettingsObject: { '@odata.id': `${path}/Settings` } } } : {}),
      Actions: { '#ComputerSystem.Reset': resetAction(path) },
      ...(holdsLogs ? { LogServices: { '@odata.id': `${path}/LogServices` } } : {}),
      EthernetInterfaces: { '@odata.id': `${path}/EthernetInterfaces` },
      Links: { ManagedBy: [{ '@odata.id': managerPath }] },
    };
  };

  const applyReset = (system: EmulatedSystem, resetType: string): void => {
    system.powerEvents.push(resetType);
    options.onReset?.(system, resetType);
    if (personality.unknownPowerStateReads > 0) unknownReadsLeft = personality.unknownPowerStateReads;
    const offThenOn = (): void => {
      system.power = 'Off';
      setTimeout(() => {
        system.power = 'On';
      }, personality.reset.cycleOffMs).unref();
    };
    switch (resetType) {
      case 'On':
      case 'ForceOn':
        system.power = 'On';
        break;
      case 'ForceOff':
        system.power = 'Off';
        offUntilBusyEnds = Date.now() + personality.reset.busyAfterOffMs;
        break;
      case 'GracefulShutdown':
        system.power = 'Off';
        break;
      case 'PushPowerButton':
        system.power = system.power === 'On' ? 'Off' : 'On';
        break;
      case 'PowerCycle':
      case 'ForceRestart':
      case 'GracefulRestart':
        if (system.power === 'On') offThenOn();
        break;
      default:
        break;
    }
  };

  /** The log services of a holder: [id, base path]. */
  const logServices = (): Array<{ id: string; path: string; main: boolean }> => {
    const found: Array<{ id: string; path: string; main: boolean }> = [];
    const systemPath = `${SYSTEMS}/${firstSystem().seed.id}`;
    if (personality.log.holder !== 'manager') {
      personality.log.systemServices.forEach((id, index) => found.push({ id, path: `${systemPath}/LogServices/${id}`, main: index === 0 && personality.log.holder === 'system' }));
    }
    if (personality.log.holder !== 'system') {
      personality.log.managerServices.forEach((id, index) => found.push({ id, path: `${managerPath}/LogServices/${id}`, main: index === 0 }));
    }
    if (personality.log.holder === 'system') {
      personality.log.managerServices.forEach((id) => found.push({ id, path: `${managerPath}/LogServices/${id}`, main: false }));
    }
    if (personality.log.holder === 'both') {
      // iLO: the IML (system) is the hardware log; XCC: the manager's SEL. Both logs carry the entries here.
      for (const service of found) service.main = true;
    }
    return found;
  };

  const entriesPage = (basePath: string, query: URLSearchParams): Record<string, unknown> => {
    const ordered = personality.log.newestFirst ? [...log].reverse() : log;
    const skip = Number(query.get('$skip') ?? '0') || 0;
    const top = Math.min(Number(query.get('$top') ?? String(personality.log.pageSize)) || personality.log.pageSize, personality.log.pageSize);
    const page = ordered.slice(skip, skip + top);
    const members = page.map((entry) => {
      const id = `${basePath}/${entry.Id}`;
      if (entry.linkOnly) return { '@odata.id': id };
      const { linkOnly: _linkOnly, ...fields } = entry;
      return { '@odata.id': id, ...fields };
    });
    return {
      '@odata.id': basePath,
      Name: 'Log Entries',
      'Members@odata.count': ordered.length,
      Members: members,
      ...(skip + top < ordered.length ? { 'Members@odata.nextLink': `${basePath}?$skip=${skip + top}&$top=${top}` } : {}),
    };
  };

  const patchBoot = (system: EmulatedSystem, response: ServerResponse, record: MiniRedfishRequest, boot: Record<string, unknown>): boolean => {
    const quirks = personality.boot;
    if (!quirks) {
      error(response, record, 400, 'The property Boot is not a known property of the resource.', 'Base.1.8.PropertyUnknown');
      return false;
    }
    const dell = personality.manufacturer.startsWith('Dell');
    if ('BootSourceOverrideMode' in boot && quirks.mode === 'read-only') {
      if (dell) {
        error(response, record, 400, 'Unable to modify the attribute because the attribute is read-only and depends on other attributes.', 'IDRAC.1.6.SYS410', { RelatedProperties: ['BootSourceOverrideMode'] });
      } else {
        error(response, record, 400, 'The property BootSourceOverrideMode is a read only property and cannot be assigned a value.', 'Base.1.4.PropertyNotWritable', { RelatedProperties: ['#/Boot/BootSourceOverrideMode'] });
      }
      return false;
    }
    if ('BootSourceOverrideMode' in boot && quirks.mode === 'absent') {
      error(response, record, 400, 'The property BootSourceOverrideMode is not in the list of valid properties for the resource.', 'Base.1.8.PropertyUnknown');
      return false;
    }
    const target = boot['BootSourceOverrideTarget'];
    const allowedTargets = quirks.targets ?? ['None', 'Pxe', 'Floppy', 'Cd', 'Hdd', 'BiosSetup', 'Utilities', 'UefiTarget', 'SDCard', 'UefiHttp'];
    if (typeof target === 'string' && !allowedTargets.includes(target)) {
      error(response, record, 400, `The value ${target} for the property BootSourceOverrideTarget is not in the list of acceptable values.`, 'Base.1.8.PropertyValueNotInList');
      return false;
    }
    if (typeof target === 'string') system.boot.target = target;
    if (typeof boot['BootSourceOverrideEnabled'] === 'string') system.boot.enabled = boot['BootSourceOverrideEnabled'];
    if (typeof boot['BootSourceOverrideMode'] === 'string') system.boot.mode = boot['BootSourceOverrideMode'];
    else if (quirks.mode === 'required') system.boot.mode = 'Legacy';
    system.etag += 1;
    return true;
  };

  const checkIfMatch = (system: EmulatedSystem, request: IncomingMessage, response: ServerResponse, record: MiniRedfishRequest): boolean => {
    if (bumpBeforePatch) {
      bumpBeforePatch = false;
      system.etag += 1;
    }
    const ifMatch = request.headers['if-match'];
    if (ifMatch === undefined) {
      if (!personality.etag.required) return true;
      // Shape of the answer: stmcginnis/gofish#171 (Lenovo, "PreconditionHeaderMissing").
      error(response, record, 428, 'The request did not provide the required precondition, such as an If-Match or If-None-Match header.', 'Base.1.8.PreconditionRequired');
      return false;
    }
    if (ifMatch === '*') return true;
    // strongComparison: the service compares its opaque tag strongly (RFC 7232 §3.1) even when its web server
    // hands the tag out weakened (W/"..."), as front ends that compress replies do; a weak If-Match never matches.
    const strip = (tag: string): string => tag.trim().replace(/^W\//, '');
    const matches = personality.etag.strongComparison ? ifMatch.trim() === `"${system.etag}"` : strip(ifMatch) === `"${system.etag}"`;
    if (!matches) {
      error(response, record, 412, 'The ETag supplied did not match the ETag required to change this resource.', 'Base.1.8.PreconditionFailed');
      return false;
    }
    return true;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, bodyText: string): Promise<void> => {
    const [rawPath = '/', rawQuery = ''] = (request.url ?? '/').split('?');
    const path = rawPath.replace(/\/$/, '') || '/';
    const query = new URLSearchParams(rawQuery);
    const method = request.method ?? 'GET';
    let body: Record<string, unknown> = {};
    try {
      body = bodyText ? (JSON.parse(bodyText) as Record<string, unknown>) : {};
    } catch {
      error(response, null, 400, 'malformed JSON', 'Base.1.8.MalformedJSON');
      return;
    }
    if (path === '/redfish/v1' && method === 'GET') {
      const record: MiniRedfishRequest = { method, path, query: rawQuery, auth: 'none', status: 0 };
      state.requests.push(record);
      send(response, record, 200, {
        '@odata.id': '/redfish/v1/',
        '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
        Id: 'RootService',
        RedfishVersion: personality.redfishVersion,
        ...(personality.vendor ? { Vendor: personality.vendor } : {}),
        ...(personality.product ? { Product: personality.product } : {}),
        UUID: personality.systems[0]?.uuid,
        Systems: { '@odata.id': SYSTEMS },
        Managers: { '@odata.id': MANAGERS },
        ...(offerSessions ? { SessionService: { '@odata.id': '/redfish/v1/SessionService' }, Links: { Sessions: { '@odata.id': sessionsPath } } } : {}),
      });
      return;
    }
    if (offerSessions && path === sessionsPath && method === 'POST') {
      const record: MiniRedfishRequest = { method, path, query: rawQuery, auth: 'none', status: 0 };
      state.requests.push(record);
      if (body['UserName'] !== options.username || body['Password'] !== options.password) {
        error(response, record, 401, 'Invalid username or password', 'Base.1.8.NoValidSession');
        return;
      }
      if (personality.sessions.max !== null && sessionIds.size >= personality.sessions.max) {
        // iDRAC: 503 with IDRAC.2.x.RAC0218 (stmcginnis/gofish#75, bb-Ricardo/check_redfish#89).
        error(response, record, 503, 'The maximum number of user sessions is reached.', 'IDRAC.2.4.RAC0218', { Resolution: 'Close one or more sessions before opening another session.' });
        return;
      }
      const id = String(nextSession++);
      const token = randomBytes(16).toString('hex');
      sessions.set(token, id);
      sessionIds.add(id);
      state.sessionsCreated += 1;
      state.peakSessions = Math.max(state.peakSessions, sessionIds.size);
      if (loginDelayMs > 0) {
        const delay = loginDelayMs;
        loginDelayMs = 0;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      send(response, record, 201, { '@odata.id': `${sessionsPath}/${id}`, Id: id, UserName: options.username }, {
        ...(personality.sessions.tokenInReply ? { 'X-Auth-Token': token } : {}),
        Location: `${sessionsPath}/${id}`,
      });
      return;
    }

    const auth = authenticate(request);
    const ifMatchHeader = request.headers['if-match'];
    const record: MiniRedfishRequest = {
      method, path, query: rawQuery, auth, status: 0,
      ...(typeof ifMatchHeader === 'string' ? { ifMatch: ifMatchHeader } : {}),
      ...(method === 'PATCH' || method === 'POST' ? { body } : {}),
    };
    state.requests.push(record);
    if (auth === 'none' || auth === 'rejected') {
      error(response, record, 401, 'Authentication required', 'Base.1.8.NoValidSession');
      return;
    }

    if (method === 'DELETE' && path.startsWith(`${sessionsPath}/`)) {
      const id = path.slice(sessionsPath.length + 1);
      if (!sessionIds.has(id)) {
        error(response, record, 404, `no session ${id}`, 'Base.1.8.ResourceMissingAtURI');
        return;
      }
      sessionIds.delete(id);
      for (const [token, sessionId] of sessions) if (sessionId === id) sessions.delete(token);
      send(response, record, 204);
      return;
    }
    if (path === SYSTEMS && method === 'GET') {
      const members = [...systems.keys()].map((id) => ({ '@odata.id': `${SYSTEMS}/${id}` }));
      send(response, record, 200, { '@odata.id': SYSTEMS, 'Members@odata.count': members.length, Members: members });
      return;
    }
    if (path === MANAGERS && method === 'GET') {
      send(response, record, 200, { '@odata.id': MANAGERS, 'Members@odata.count': 1, Members: [{ '@odata.id': managerPath }] });
      return;
    }
    if (path === managerPath && method === 'GET') {
      send(response, record, 200, {
        '@odata.id': managerPath,
        Id: personality.managerId,
        ManagerType: 'BMC',
        Model: personality.vendor === 'Dell' || personality.manufacturer.startsWith('Dell') ? '14G Monolithic' : personality.name,
        FirmwareVersion: personality.managerFirmware,
        ...(personality.log.managerServices.length > 0 ? { LogServices: { '@odata.id': `${managerPath}/LogServices` } } : {}),
      });
      return;
    }
    if (path === `${managerPath}/LogServices` && method === 'GET') {
      const members = personality.log.managerServices.map((id) => ({ '@odata.id': `${path}/${id}` }));
      send(response, record, 200, { '@odata.id': path, 'Members@odata.count': members.length, Members: members });
      return;
    }
    for (const service of logServices()) {
      if (path === service.path && method === 'GET') {
        send(response, record, 200, { '@odata.id': path, Id: service.id, Name: `${service.id} log`, Entries: { '@odata.id': `${path}/Entries` } });
        return;
      }
      if (path === `${service.path}/Entries` && method === 'GET') {
        if (!service.main) {
          send(response, record, 200, { '@odata.id': path, 'Members@odata.count': 1, Members: [{ '@odata.id': `${path}/1`, Id: '1', Created: '2026-01-01T00:00:00Z', EntryType: 'Oem', Message: `${service.id}: user login`, Severity: 'OK' }] });
          return;
        }
        send(response, record, 200, entriesPage(path, query));
        return;
      }
      if (path.startsWith(`${service.path}/Entries/`) && method === 'GET') {
        const entry = log.find((candidate) => candidate.Id === path.slice(service.path.length + 9));
        if (!entry) break;
        const { linkOnly: _linkOnly, ...fields } = entry;
        send(response, record, 200, { '@odata.id': path, ...fields });
        return;
      }
    }
    const monitor = path.startsWith(`${TASK_MONITORS}/`) ? tasks.get(path.slice(TASK_MONITORS.length + 1)) : undefined;
    if (monitor && method === 'GET') {
      if (!monitor.done) {
        send(response, record, 202, { '@odata.type': '#Task.v1_5_0.Task', TaskState: 'Running', PercentComplete: 50 }, { Location: path, 'Retry-After': '1' });
        return;
      }
      if (monitor.failure !== null) {
        tasks.delete(path.slice(TASK_MONITORS.length + 1));
        send(response, record, 200, { '@odata.type': '#Task.v1_5_0.Task', TaskState: 'Exception', TaskStatus: 'Critical', Messages: [{ MessageId: 'Base.1.8.InternalError', Message: monitor.failure }] });
        return;
      }
      tasks.delete(path.slice(TASK_MONITORS.length + 1));
      send(response, record, 204);
      return;
    }

    const systemMatch = /^\/redfish\/v1\/Systems\/([^/]+)(\/.*)?$/.exec(path);
    const system = systemMatch ? systems.get(decodeURIComponent(systemMatch[1] ?? '')) : undefined;
    if (system) {
      const sub = systemMatch?.[2] ?? '';
      const systemPath = `${SYSTEMS}/${system.seed.id}`;
      const etagHeaders = (): Record<string, string> => (personality.etag.where !== 'body' ? { ETag: etagOf(system) } : {});
      if (sub === '' && method === 'GET') {
        if (state.oversizedReplies) {
          send(response, record, 200, { ...systemResource(system), Oem: { Padding: 'x'.repeat(5 * 1024 * 1024) } });
          return;
        }
        send(response, record, 200, systemResource(system), etagHeaders());
        return;
      }
      if (sub === '' && method === 'PATCH') {
        const boot = body['Boot'];
        if (typeof boot !== 'object' || boot === null) {
          error(response, record, 400, 'only Boot can be patched', 'Base.1.8.PropertyNotWritable');
          return;
        }
        if (personality.boot?.settingsResource) {
          // iDRAC 10 (ansible-collections/community.general#11297, dsx-ai-factory/libredfish#33).
          error(response, record, 400, 'The property Boot is a read-only property and cannot be assigned a value.', 'Base.1.18.PropertyNotWritable', { MessageArgs: ['Boot'], RelatedProperties: ['#/Boot'] });
          return;
        }
        if (!checkIfMatch(system, request, response, record)) return;
        if (!patchBoot(system, response, record, boot as Record<string, unknown>)) return;
        send(response, record, 204);
        return;
      }
      if (sub === '/Settings' && personality.boot?.settingsResource && method === 'GET') {
        send(response, record, 200, { '@odata.id': path, '@odata.etag': etagOf(system), Id: 'Settings', Boot: bootResource(system, true) }, etagHeaders());
        return;
      }
      if (sub === '/Settings' && personality.boot?.settingsResource && method === 'PATCH') {
        const boot = body['Boot'];
        if (typeof boot !== 'object' || boot === null) {
          error(response, record, 400, 'only Boot can be patched here', 'Base.1.8.PropertyNotWritable');
          return;
        }
        if (!checkIfMatch(system, request, response, record)) return;
        if (!patchBoot(system, response, record, boot as Record<string, unknown>)) return;
        send(response, record, 200, { '@Message.ExtendedInfo': [{ MessageId: 'Base.1.18.Success', Message: 'Successfully Completed Request' }] });
        return;
      }
      if (sub === '/ResetActionInfo' && method === 'GET' && (personality.reset.advertised === 'action-info' || personality.reset.advertised === 'broken-action-info')) {
        if (personality.reset.advertised === 'broken-action-info') {
          error(response, record, 404, `no resource ${path}`, 'Base.1.8.ResourceMissingAtURI');
          return;
        }
        send(response, record, 200, {
          '@odata.id': path,
          '@odata.type': '#ActionInfo.v1_3_0.ActionInfo',
          Id: 'ResetActionInfo',
          Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: resetTypes }],
        });
        return;
      }
      if (sub === '/Actions/ComputerSystem.Reset' && method === 'POST') {
        const resetType = body['ResetType'];
        if (typeof resetType !== 'string' || !resetTypes.includes(resetType)) {
          error(response, record, 400, `The value ${String(resetType)} for the parameter ResetType is not in the list of acceptable values.`, 'Base.1.8.ActionParameterValueNotInList');
          return;
        }
        if ((resetType === 'On' || resetType === 'ForceOn') && Date.now() < offUntilBusyEnds) {
          // metal-operator#170: iDRAC answers 503 ServiceTemporarilyUnavailable with a retry time for a while.
          error(response, record, 503, 'The service is temporarily unavailable.  Retry in 1 seconds.', 'Base.1.12.ServiceTemporarilyUnavailable', {}, { 'Retry-After': '1' });
          return;
        }
        if (personality.reset.asyncTask) {
          const id = String(nextTask++);
          const task = { done: false, failure: nextTaskFailure };
          nextTaskFailure = null;
          tasks.set(id, task);
          setTimeout(() => {
            if (task.failure === null) applyReset(system, resetType);
            task.done = true;
          }, 150).unref();
          send(response, record, 202, { '@odata.type': '#Task.v1_5_0.Task', Id: id, TaskState: 'Running' }, { Location: `${TASK_MONITORS}/${id}` });
          return;
        }
        applyReset(system, resetType);
        send(response, record, 204);
        return;
      }
      if (sub === '/EthernetInterfaces' && method === 'GET') {
        const members = system.seed.macs.map((_mac, index) => ({ '@odata.id': `${systemPath}/EthernetInterfaces/NIC${index + 1}` }));
        send(response, record, 200, { '@odata.id': path, 'Members@odata.count': members.length, Members: members });
        return;
      }
      const nic = /^\/EthernetInterfaces\/NIC(\d+)$/.exec(sub);
      const mac = nic ? system.seed.macs[Number(nic[1]) - 1] : undefined;
      if (mac && method === 'GET') {
        send(response, record, 200, { '@odata.id': path, Id: `NIC${nic?.[1] ?? ''}`, MACAddress: mac.toUpperCase(), PermanentMACAddress: mac.toUpperCase() });
        return;
      }
      if (sub === '/LogServices' && method === 'GET' && personality.log.holder !== 'manager') {
        const members = personality.log.systemServices.map((id) => ({ '@odata.id': `${path}/${id}` }));
        send(response, record, 200, { '@odata.id': path, 'Members@odata.count': members.length, Members: members });
        return;
      }
    }
    error(response, record, 404, `no resource ${path}`, 'Base.1.8.ResourceMissingAtURI');
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      handle(request, response, Buffer.concat(chunks).toString()).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
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
