// Native Redfish: the system resource (options.system_id, or chosen among the service's systems by the
// machine's UUID, serial or MACs: redfish-system.ts), ComputerSystem.Reset with a ResetType the BMC advertises
// (or the standard list when it advertises none), the one-time boot override (redfish-boot.ts), the event log
// (redfish-event-log.ts) and the probe. Vendor quirks and where they were read are in those modules and in
// lab/bmc/redfish/personalities.ts, the emulator the tests run them against.
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import { checkDriverOptions, OptionReader, readCommonOptions, readTrustedCertificate } from '../options.js';
import { RETRY_ON_NO_ANSWER, sleep } from '../retry.js';
import type {
  BmcDriver,
  BmcProbeReport,
  BmcTarget,
  BootDevice,
  BootDeviceReading,
  BootDeviceRequest,
  MachineIdentity,
  OperationContext,
  PowerAction,
  PowerCommandReceipt,
  PowerState,
  SystemEventLogEntry,
} from '../types.js';
import { applyBootOverride, etagOf, planBootOverride, settingsObjectPath, type RedfishResource } from './redfish-boot.js';
import { RedfishConnection, type RedfishAuthMode, type RedfishConnectionSettings } from './redfish-connection.js';
import { findEventLog, readEventLog } from './redfish-event-log.js';
import { parseRedfishEndpoint } from './redfish-http.js';
import {
  actionInfoAllowableValues,
  allowableValues,
  bootReadingFromRedfish,
  isRecord,
  odataId,
  planReset,
  powerStateFromRedfish,
  STANDARD_RESET_TYPES,
  type ResetStep,
} from './redfish-mapping.js';
import { discoverSystem, listSystems } from './redfish-system.js';
import { isMac, normalizeMac } from '../../inventory/mac.js';

export const REDFISH_DRIVER = 'redfish';

export interface RedfishSettings extends RedfishConnectionSettings {
  /** options.system_id: the Id under /redfish/v1/Systems. */
  systemId: string | undefined;
  /** The machine as the inventory and the options know it: picks its system on a shared BMC. */
  identity: MachineIdentity;
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
  const optionMacs = (reader.string('system_mac') ?? '').split(/[\s,]+/).filter((mac) => mac !== '');
  for (const mac of optionMacs) {
    if (!isMac(mac)) throw new BmcError('invalid-config', origin, `option system_mac: ${JSON.stringify(mac)} is not a MAC address`);
  }
  const uuid = reader.string('system_uuid') ?? target.identity?.uuid;
  const serial = reader.string('system_serial') ?? target.identity?.serial;
  const identity: MachineIdentity = {
    macs: [...new Set([...optionMacs, ...(target.identity?.macs ?? []).filter(isMac)].map(normalizeMac))],
    ...(uuid !== undefined ? { uuid } : {}),
    ...(serial !== undefined ? { serial } : {}),
  };
  return {
    endpoint,
    tls: { verify, ca },
    username: target.username,
    password: target.password,
    authMode: reader.choice<RedfishAuthMode>('auth', ['auto', 'session', 'basic'], 'auto'),
    callTimeoutMs: common.callTimeoutMs ?? 20000,
    retry: { retries: common.retries, delayMs: common.retryDelayMs },
    taskTimeoutMs: common.readbackTimeoutMs,
    taskPollMs: Math.max(common.readbackIntervalMs, 50),
    systemId,
    identity,
    readbackTimeoutMs: common.readbackTimeoutMs,
    readbackIntervalMs: common.readbackIntervalMs,
  };
}

/** ResetTypes that must not run twice: not retried after a timeout. */
const NOT_REPEATABLE = new Set(['ForceRestart', 'PowerCycle', 'GracefulRestart', 'PushPowerButton']);

export function createRedfishDriver(target: BmcTarget): BmcDriver {
  const settings = readRedfishSettings(target);
  const origin: BmcErrorOrigin = { systemName: target.systemName, driver: REDFISH_DRIVER };
  let connection: RedfishConnection | null = null;
  let systemPath: string | null = null;
  let systemMembers: string[] = [];
  let chosenBy = '';
  let lastBootRequest: BootDevice | undefined;

  function opened(): RedfishConnection {
    if (!connection) throw new BmcError('internal', origin, 'used before open()');
    return connection;
  }

  async function readResource(path: string, context: OperationContext): Promise<RedfishResource> {
    const response = await opened().request('GET', path, context, { notFoundKind: 'invalid-config' });
    if (!isRecord(response.body)) throw new BmcError('internal', origin, `${opened().describeBmc()}: GET ${path}: the answer is not a JSON object`, response.text.slice(0, 200));
    return { body: response.body, etag: etagOf(response.headers, response.body) };
  }

  function readSystem(context: OperationContext): Promise<RedfishResource> {
    return readResource(systemPath ?? '', context);
  }

  function powerStateOf(system: Record<string, unknown>): PowerState {
    const state = powerStateFromRedfish(system['PowerState']);
    if (!state) {
      // Outside the schema (null, "Unknown", ...): mid-transition on some BMCs; the read-back reads again.
      throw new BmcError('internal', origin, `${opened().describeBmc()}: ${systemPath ?? ''} reports PowerState ${JSON.stringify(system['PowerState'])}, not one of On, Off, PoweringOn, PoweringOff, Paused`, '', true);
    }
    return state;
  }

  /** The ResetTypes the BMC advertises, null when it does not (or its ActionInfo cannot be read). */
  async function allowedResetTypes(action: unknown, context: OperationContext): Promise<string[] | null> {
    const inline = allowableValues(action, 'ResetType');
    if (inline) return inline;
    const infoPath = isRecord(action) && typeof action['@Redfish.ActionInfo'] === 'string' ? action['@Redfish.ActionInfo'] : null;
    if (!infoPath) return null;
    try {
      const info = await opened().request('GET', infoPath, context);
      return actionInfoAllowableValues(info.body, 'ResetType');
    } catch (error) {
      // An ActionInfo that cannot be read says nothing: the standard list is assumed (the call is recorded).
      if (error instanceof BmcError && (error.kind === 'auth' || error.kind === 'timeout')) throw error;
      return null;
    }
  }

  async function waitForState(wanted: PowerState, context: OperationContext): Promise<void> {
    const deadline = performance.now() + settings.readbackTimeoutMs;
    for (;;) {
      let state: PowerState | 'unknown' = 'unknown';
      try {
        state = powerStateOf((await readSystem(context)).body);
      } catch (error) {
        if (!(error instanceof BmcError && error.transient)) throw error;
      }
      if (state === wanted) return;
      if (performance.now() >= deadline) {
        throw new BmcError('state-not-reached', origin, `waited ${settings.readbackTimeoutMs / 1000} s for ${wanted} between two reset steps, still ${state}`);
      }
      await sleep(settings.readbackIntervalMs, context.signal);
    }
  }

  /**
   * POST one ResetType. On (after our own ForceOff, or any On) is retried with backoff while the BMC says it is
   * busy (503/429; iDRAC right after a ForceOff), until the read-back deadline.
   */
  async function postReset(resetTarget: string, resetType: string, context: OperationContext): Promise<void> {
    const isOn = resetType === 'On' || resetType === 'ForceOn';
    const deadline = performance.now() + settings.readbackTimeoutMs;
    let delay = Math.max(settings.retry.delayMs, 100);
    for (;;) {
      try {
        await opened().request('POST', resetTarget, context, { body: { ResetType: resetType }, retryOn: NOT_REPEATABLE.has(resetType) ? [] : RETRY_ON_NO_ANSWER });
        return;
      } catch (error) {
        const busy = error instanceof BmcError && error.kind === 'unreachable' && error.bmcSaid.startsWith('HTTP ');
        if (!isOn || !busy || performance.now() + delay >= deadline) throw error;
      }
      await sleep(delay, context.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  return {
    name: REDFISH_DRIVER,

    async open(context) {
      const fresh = new RedfishConnection(settings, origin);
      connection = fresh;
      await fresh.open(context);
      const discovered = await discoverSystem(fresh, { systemId: settings.systemId, identity: settings.identity }, context, origin);
      systemPath = discovered.path;
      systemMembers = discovered.members;
      chosenBy = discovered.chosenBy;
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
      const resetTarget = isRecord(reset) && typeof reset['target'] === 'string' ? reset['target'] : null;
      if (!resetTarget) throw new BmcError('unsupported', origin, `${opened().describeBmc()}: ${systemPath ?? ''} offers no #ComputerSystem.Reset action`);
      const advertised = await allowedResetTypes(reset, context);
      // Not advertised: the standard list is assumed, less what the BMC refuses (400 to a ResetType it lacks).
      let assumed = advertised === null ? [...STANDARD_RESET_TYPES] : null;
      const commands: string[] = [];
      let observedOff = false;
      let steps = planReset(action, advertised ?? assumed);
      if (!steps) {
        throw new BmcError('unsupported', origin, `${opened().describeBmc()}: power ${action}: no suitable ResetType among those the BMC allows (${(advertised ?? []).join(', ')})`);
      }
      for (let index = 0; index < steps.length; index += 1) {
        const step = steps[index] as ResetStep;
        try {
          await postReset(resetTarget, step.resetType, context);
        } catch (error) {
          if (assumed !== null && index === 0 && error instanceof BmcError && error.kind === 'rejected' && / 400/.test(` ${error.bmcSaid.slice(0, 8)}`)) {
            const without: string[] = assumed.filter((resetType) => resetType !== step.resetType);
            assumed = without;
            const replanned = planReset(action, without);
            if (replanned && without.length > 0) {
              steps = replanned;
              index = -1;
              continue;
            }
          }
          // Some BMCs answer 400/409 to On when on (or ForceOff when off): "already there" is not an error.
          const already = step.resetType === 'On' || step.resetType === 'ForceOn' ? 'on' : step.resetType === 'ForceOff' || step.resetType === 'GracefulShutdown' ? 'off' : null;
          if (!(error instanceof BmcError) || error.kind !== 'rejected' || already === null) throw error;
          let now: PowerState | null = null;
          try {
            now = powerStateOf((await readSystem(context)).body);
          } catch {
            throw error;
          }
          if (now !== already) throw error;
          if (step.thenWaitFor === 'off') observedOff = true;
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
      const system = await readSystem(context);
      const plan = await planBootOverride(opened(), system, systemPath ?? '', request, readResource, context, origin);
      await applyBootOverride(opened(), plan, readResource, context, origin);
      lastBootRequest = request.device;
    },

    async getBootDevice(context): Promise<BootDeviceReading> {
      return bootReadingFromRedfish((await readSystem(context)).body['Boot'], lastBootRequest);
    },

    async readSystemEventLog(context): Promise<SystemEventLogEntry[]> {
      const system = (await readSystem(context)).body;
      return readEventLog(opened(), system, systemPath ?? '', context, origin);
    },

    async probe(context): Promise<BmcProbeReport> {
      const redfish = opened();
      const root = isRecord(redfish.serviceRoot) ? redfish.serviceRoot : {};
      const system = (await readSystem(context)).body;
      const text = (record: Record<string, unknown>, key: string): string | null => (typeof record[key] === 'string' && record[key] !== '' ? (record[key] as string) : null);
      const notes: string[] = [`system chosen by ${chosenBy}`];
      const managerPath = isRecord(system['Links']) && Array.isArray(system['Links']['ManagedBy']) ? odataId(system['Links']['ManagedBy'][0]) : null;
      const manager = managerPath ? await readResource(managerPath, context).then((resource) => resource.body).catch(() => null) : null;
      const members = systemMembers.length > 0 ? systemMembers : await listSystems(redfish, odataId(root['Systems']) ?? '/redfish/v1/Systems', context).catch(() => []);

      let powerState: PowerState | null = null;
      try {
        powerState = powerStateOf(system);
      } catch (error) {
        notes.push(error instanceof Error ? error.message : String(error));
      }
      const actions = isRecord(system['Actions']) ? system['Actions'] : {};
      const reset = actions['#ComputerSystem.Reset'];
      const resetTypes = isRecord(reset) ? await allowedResetTypes(reset, context) : null;
      if (!isRecord(reset)) notes.push('no #ComputerSystem.Reset action: power cannot be switched over Redfish');
      else if (resetTypes === null) notes.push('the BMC does not advertise its ResetTypes (or its ActionInfo cannot be read): the standard list is assumed');

      const boot = isRecord(system['Boot']) ? system['Boot'] : null;
      const settingsPath = settingsObjectPath(system);
      let writable = boot;
      if (settingsPath) {
        writable = await readResource(settingsPath, context).then((resource) => (isRecord(resource.body['Boot']) ? resource.body['Boot'] : boot)).catch(() => boot);
        notes.push(`the boot override is written to the @Redfish.Settings object ${settingsPath}`);
      }
      const supported = boot !== null && ('BootSourceOverrideTarget' in boot || settingsPath !== null);
      const modes = allowableValues(writable, 'BootSourceOverrideMode') ?? allowableValues(boot, 'BootSourceOverrideMode');
      const currentMode = boot && typeof boot['BootSourceOverrideMode'] === 'string' ? boot['BootSourceOverrideMode'] : null;
      if (!supported) notes.push('no Boot.BootSourceOverrideTarget: one-time boot cannot be set over Redfish');
      if (supported && modes === null && currentMode !== null) notes.push(`BootSourceOverrideMode is reported (${currentMode}) without AllowableValues: it is sent only when it must change, and may be read-only`);
      if (etagOf({}, system) === undefined) notes.push('no @odata.etag in the system resource');

      const log = await findEventLog(redfish, system, systemPath ?? '', context).catch(() => null);
      const sessions = redfish.sessionsOffered();
      return {
        driver: REDFISH_DRIVER,
        endpoint: `${settings.endpoint.protocol}//${settings.endpoint.host}:${settings.endpoint.port}`,
        vendor: text(root, 'Vendor') ?? (isRecord(root['Oem']) ? Object.keys(root['Oem'])[0] ?? null : null) ?? text(system, 'Manufacturer'),
        model: text(system, 'Model') ?? text(root, 'Product'),
        firmware: manager ? text(manager, 'FirmwareVersion') : null,
        protocolVersion: text(root, 'RedfishVersion'),
        powerState,
        system: systemPath,
        otherSystems: members.filter((member) => member !== systemPath),
        resetTypes,
        bootOverride: {
          supported,
          writtenTo: supported ? settingsPath ?? systemPath : null,
          modes,
          currentMode,
          modeWritable: modes !== null ? 'yes' : currentMode === null ? 'no' : 'unknown',
          targets: allowableValues(writable, 'BootSourceOverrideTarget') ?? allowableValues(boot, 'BootSourceOverrideTarget'),
          current: boot && typeof boot['BootSourceOverrideTarget'] === 'string' ? `${boot['BootSourceOverrideTarget']} (${String(boot['BootSourceOverrideEnabled'] ?? 'enabled not reported')})` : null,
        },
        eventLog: log?.path ?? null,
        authentication: redfish.authMethod === 'session'
          ? 'session (SessionService)'
          : `${redfish.authMethod}${sessions ? '' : ' (the service offers no sessions)'}${redfish.basicReason && sessions ? ` (${redfish.basicReason})` : ''}`,
        notes,
      };
    },
  };
}
