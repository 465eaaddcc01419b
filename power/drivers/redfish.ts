// Native Redfish: the system resource (options.system_id, or the first member of /redfish/v1/Systems),
// ComputerSystem.Reset with a ResetType the BMC advertises, and the one-time boot override by PATCH.
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import { checkDriverOptions, OptionReader, readCommonOptions, readTrustedCertificate } from '../options.js';
import { RETRY_ON_NO_ANSWER, sleep } from '../retry.js';
import type {
  BmcDriver,
  BmcTarget,
  BootDeviceReading,
  BootDeviceRequest,
  OperationContext,
  PowerAction,
  PowerCommandReceipt,
  PowerState,
  SystemEventLogEntry,
} from '../types.js';
import { RedfishConnection, type RedfishAuthMode, type RedfishConnectionSettings } from './redfish-connection.js';
import { parseRedfishEndpoint } from './redfish-http.js';
import {
  actionInfoAllowableValues,
  allowableValues,
  bootReadingFromRedfish,
  bootSourceOverrideTarget,
  isRecord,
  odataId,
  planReset,
  powerStateFromRedfish,
} from './redfish-mapping.js';

export const REDFISH_DRIVER = 'redfish';

export interface RedfishSettings extends RedfishConnectionSettings {
  /** options.system_id: the Id under /redfish/v1/Systems; the first member when not set. */
  systemId: string | undefined;
  readbackTimeoutMs: number;
  readbackIntervalMs: number;
}

export function readRedfishSettings(target: BmcTarget): RedfishSettings {
  const origin = { systemName: target.systemName, driver: REDFISH_DRIVER };
  checkDriverOptions(REDFISH_DRIVER, target.options, origin);
  const reader = new OptionReader(target.options, origin);
  const common = readCommonOptions(reader, 20);
  const endpoint = parseRedfishEndpoint(target.address, target.port);
  if (!endpoint) throw new BmcError('invalid-config', origin, `address ${JSON.stringify(target.address)} is not a host, host:port or http(s)://host[:port]`);
  // verify_tls=false and insecure=true both accept any certificate; both default to verifying.
  const verify = reader.boolean('verify_tls', true) && !reader.boolean('insecure', false);
  const ca = readTrustedCertificate(reader, origin);
  const systemId = reader.string('system_id');
  if (systemId !== undefined && /[/?#]/.test(systemId)) throw new BmcError('invalid-config', origin, `option system_id=${JSON.stringify(systemId)} is not a resource Id`);
  return {
    endpoint,
    tls: { verify, ca },
    username: target.username,
    password: target.password,
    authMode: reader.choice<RedfishAuthMode>('auth', ['auto', 'session', 'basic'], 'auto'),
    callTimeoutMs: common.callTimeoutMs ?? 20000,
    retry: { retries: common.retries, delayMs: common.retryDelayMs },
    systemId,
    readbackTimeoutMs: common.readbackTimeoutMs,
    readbackIntervalMs: common.readbackIntervalMs,
  };
}

export function createRedfishDriver(target: BmcTarget): BmcDriver {
  const settings = readRedfishSettings(target);
  const origin: BmcErrorOrigin = { systemName: target.systemName, driver: REDFISH_DRIVER };
  let connection: RedfishConnection | null = null;
  let systemPath: string | null = null;

  function opened(): RedfishConnection {
    if (!connection) throw new BmcError('internal', origin, 'used before open()');
    return connection;
  }

  async function openConnection(context: OperationContext): Promise<void> {
    const fresh = new RedfishConnection(settings, origin);
    connection = fresh;
    await fresh.open(context);
    systemPath = await discoverSystem(fresh, context);
  }

  async function discoverSystem(redfish: RedfishConnection, context: OperationContext): Promise<string> {
    const root = redfish.serviceRoot;
    const collectionPath = (isRecord(root) ? odataId(root['Systems']) : null) ?? '/redfish/v1/Systems';
    if (settings.systemId !== undefined) return `${collectionPath.replace(/\/$/, '')}/${encodeURIComponent(settings.systemId)}`;
    const collection = await redfish.request('GET', collectionPath, context, { notFoundKind: 'invalid-config' });
    const members = isRecord(collection.body) && Array.isArray(collection.body['Members']) ? collection.body['Members'] : [];
    const first = odataId(members[0]);
    if (!first) throw new BmcError('invalid-config', origin, `${collectionPath} lists no system`);
    return first;
  }

  async function readSystem(context: OperationContext): Promise<{ body: Record<string, unknown>; etag: string | undefined }> {
    const path = systemPath ?? '';
    const response = await opened().request('GET', path, context, { notFoundKind: 'invalid-config' });
    if (!isRecord(response.body)) throw new BmcError('internal', origin, `GET ${path}: the answer is not a JSON object`, response.text.slice(0, 200));
    const etag = response.headers['etag'];
    return { body: response.body, etag: Array.isArray(etag) ? etag[0] : etag };
  }

  function powerStateOf(system: Record<string, unknown>): PowerState {
    const state = powerStateFromRedfish(system['PowerState']);
    if (!state) throw new BmcError('internal', origin, `${systemPath ?? ''} reports PowerState ${JSON.stringify(system['PowerState'])}`);
    return state;
  }

  async function allowedResetTypes(action: unknown, context: OperationContext): Promise<string[] | null> {
    const inline = allowableValues(action, 'ResetType');
    if (inline) return inline;
    const infoPath = isRecord(action) && typeof action['@Redfish.ActionInfo'] === 'string' ? action['@Redfish.ActionInfo'] : null;
    if (!infoPath) return null;
    const info = await opened().request('GET', infoPath, context);
    return actionInfoAllowableValues(info.body, 'ResetType');
  }

  async function waitForState(wanted: PowerState, context: OperationContext): Promise<void> {
    const deadline = performance.now() + settings.readbackTimeoutMs;
    for (;;) {
      const state = powerStateOf((await readSystem(context)).body);
      if (state === wanted) return;
      if (performance.now() >= deadline) {
        throw new BmcError('state-not-reached', origin, `waited ${settings.readbackTimeoutMs / 1000} s for ${wanted} between two reset steps, still ${state}`);
      }
      await sleep(settings.readbackIntervalMs, context.signal);
    }
  }

  return {
    name: REDFISH_DRIVER,

    async open(context) {
      await openConnection(context);
    },

    async close(context) {
      const current = connection;
      connection = null;
      if (current) await current.close(context);
    },

    knownSecrets() {
      return connection?.sessionToken === undefined ? [] : [connection.sessionToken];
    },

    async getPowerState(context): Promise<PowerState> {
      return powerStateOf((await readSystem(context)).body);
    },

    async setPowerState(action: PowerAction, context): Promise<PowerCommandReceipt> {
      const system = (await readSystem(context)).body;
      const actions = isRecord(system['Actions']) ? system['Actions'] : {};
      const reset = actions['#ComputerSystem.Reset'];
      const target = isRecord(reset) && typeof reset['target'] === 'string' ? reset['target'] : null;
      if (!target) throw new BmcError('unsupported', origin, `${systemPath ?? ''} offers no #ComputerSystem.Reset action`);
      const allowed = await allowedResetTypes(reset, context);
      const steps = planReset(action, allowed);
      if (!steps) {
        throw new BmcError('unsupported', origin, `power ${action}: no suitable ResetType among those the BMC allows (${(allowed ?? []).join(', ')})`);
      }
      const commands: string[] = [];
      let observedOff = false;
      for (const step of steps) {
        // ForceRestart and PowerCycle must not run twice: not retried.
        const repeatable = step.resetType !== 'ForceRestart' && step.resetType !== 'PowerCycle' && step.resetType !== 'GracefulRestart';
        try {
          await opened().request('POST', target, context, { body: { ResetType: step.resetType }, retryOn: repeatable ? RETRY_ON_NO_ANSWER : [] });
        } catch (error) {
          // Some BMCs answer 400/409 to On when on (or ForceOff when off): "already there" is not an error.
          const already = action === 'on' ? 'on' : action === 'off' || action === 'soft' ? 'off' : null;
          if (!(error instanceof BmcError) || error.kind !== 'rejected' || already === null) throw error;
          if (powerStateOf((await readSystem(context)).body) !== already) throw error;
          continue;
        }
        commands.push(`ResetType=${step.resetType}`);
        if (step.thenWaitFor) {
          await waitForState(step.thenWaitFor, context);
          if (step.thenWaitFor === 'off') observedOff = true;
        }
      }
      return { commands, observedOff };
    },

    async setBootDevice(request: BootDeviceRequest, context): Promise<void> {
      const { body: system, etag } = await readSystem(context);
      const boot = isRecord(system['Boot']) ? system['Boot'] : {};
      const targetName = bootSourceOverrideTarget(request.device);
      const allowedTargets = allowableValues(boot, 'BootSourceOverrideTarget');
      if (allowedTargets && !allowedTargets.includes(targetName)) {
        throw new BmcError('unsupported', origin, `boot device ${targetName} is not among ${allowedTargets.join(', ')}`);
      }
      const mode = request.uefi ? 'UEFI' : 'Legacy';
      const allowedModes = allowableValues(boot, 'BootSourceOverrideMode');
      if (allowedModes && !allowedModes.includes(mode)) {
        throw new BmcError('unsupported', origin, `boot mode ${mode} is not among ${allowedModes.join(', ')}`);
      }
      const patch: Record<string, string> = { BootSourceOverrideTarget: targetName, BootSourceOverrideEnabled: 'Once' };
      // Only BMCs that know the property get it: others reject a PATCH with an unknown property.
      if ('BootSourceOverrideMode' in boot || allowedModes) patch['BootSourceOverrideMode'] = mode;
      await opened().request('PATCH', systemPath ?? '', context, {
        body: { Boot: patch },
        headers: etag ? { 'If-Match': etag } : {},
      });
    },

    async getBootDevice(context): Promise<BootDeviceReading> {
      return bootReadingFromRedfish((await readSystem(context)).body['Boot']);
    },

    async readSystemEventLog(context): Promise<SystemEventLogEntry[]> {
      const system = (await readSystem(context)).body;
      const servicesPath = odataId(system['LogServices']);
      if (!servicesPath) throw new BmcError('unsupported', origin, `${systemPath ?? ''} has no LogServices`);
      const services = await opened().request('GET', servicesPath, context);
      const members = isRecord(services.body) && Array.isArray(services.body['Members']) ? services.body['Members'] : [];
      const paths = members.map(odataId).filter((path): path is string => path !== null);
      // The SEL when the BMC names one, else its first log.
      const selPath = paths.find((path) => /\/SEL$/i.test(path)) ?? paths[0];
      if (!selPath) throw new BmcError('unsupported', origin, `${servicesPath} lists no log service`);
      const service = await opened().request('GET', selPath, context);
      const entriesPath = isRecord(service.body) ? odataId(service.body['Entries']) : null;
      if (!entriesPath) throw new BmcError('unsupported', origin, `${selPath} has no Entries`);
      const entries = await opened().request('GET', entriesPath, context);
      const listed = isRecord(entries.body) && Array.isArray(entries.body['Members']) ? entries.body['Members'] : [];
      const result: SystemEventLogEntry[] = [];
      for (const member of listed.slice(0, 500)) {
        let entry: unknown = member;
        const path = odataId(member);
        if (path && isRecord(member) && !('Message' in member)) entry = (await opened().request('GET', path, context)).body;
        if (isRecord(entry)) result.push(logEntryFromRedfish(entry));
      }
      return result;
    },
  };
}

function logEntryFromRedfish(entry: Record<string, unknown>): SystemEventLogEntry {
  const text = (key: string): string => (typeof entry[key] === 'string' ? (entry[key] as string) : '');
  return {
    id: text('Id'),
    timestamp: text('Created') || null,
    sensor: text('SensorType') || text('EntryType'),
    event: text('Message'),
    state: text('Severity') || null,
  };
}
