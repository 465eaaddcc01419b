// IPMI over LAN through ipmitool. The password travels in the IPMI_PASSWORD environment variable (-E), never
// on the command line; -C is always given (without it every call loses ~10 s on cipher suite discovery).
import { BmcError, type BmcErrorKind, type BmcErrorOrigin } from '../errors.js';
import { checkDriverOptions, OptionReader, powerHostSettings, readCommonOptions } from '../options.js';
import { ProcessStartError, runProcess, type ProcessOutcome } from '../process.js';
import { callWithRetries, RETRY_ON_NO_ANSWER, RETRY_ON_UNREACHABLE_ONLY, type RetryPolicy } from '../retry.js';
import { checkedField, checkedHost, checkedPort } from '../target.js';
import type {
  BmcDriver,
  BmcProbeReport,
  BmcTarget,
  BootDeviceReading,
  BootDeviceRequest,
  OperationContext,
  PowerAction,
  PowerCommandReceipt,
  PowerState,
  SystemEventLogEntry,
} from '../types.js';
import { classifyIpmitoolResult, parseBootFlags, parseChassisPowerStatus, parseMcInfo, parseSelElist, SEL_LOOKUP_NOISE } from './ipmitool-output.js';

export const IPMITOOL_DRIVER = 'ipmitool';

/** Options read by this driver, on top of the common ones (power/options.ts). */
export interface IpmitoolSettings {
  executable: string; // RESCUED_IPMITOOL on the server, else ipmitool on PATH: never from the inventory
  interface: 'lanplus' | 'lan'; // interface (lanplus)
  /** cipher (3): the cipher suite; "auto" tries 17 (AES-128, SHA-256: what recent iDRAC, iLO 5+ and Supermicro X12+
   * keep enabled) then 3 (what older BMCs and ipmi_sim offer), and keeps the first that works. */
  ciphers: number[];
  privilege: 'CALLBACK' | 'USER' | 'OPERATOR' | 'ADMINISTRATOR'; // privilege (administrator)
  sessionTimeoutSeconds: number; // ipmi_timeout: ipmitool -N (2; a silent BMC then costs ~4 s per try)
  sessionRetries: number; // ipmi_retries: ipmitool -R (1; 0 would mean ipmitool's default, ~20 s)
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  callTimeoutMs: number;
  retry: RetryPolicy;
}

export function readIpmitoolSettings(target: BmcTarget): IpmitoolSettings {
  const origin = { systemName: target.systemName, driver: IPMITOOL_DRIVER };
  checkDriverOptions(IPMITOOL_DRIVER, target.options, origin);
  const reader = new OptionReader(target.options, origin);
  const common = readCommonOptions(reader, 15);
  const privilege = reader.choice('privilege', ['callback', 'user', 'operator', 'administrator'] as const, 'administrator');
  return {
    executable: powerHostSettings().ipmitool,
    interface: reader.choice('interface', ['lanplus', 'lan'] as const, 'lanplus'),
    ciphers: reader.raw('cipher')?.toLowerCase() === 'auto' ? [17, 3] : [reader.integer('cipher', 3, 0, 17)],
    privilege: privilege.toUpperCase() as IpmitoolSettings['privilege'],
    sessionTimeoutSeconds: reader.integer('ipmi_timeout', 2, 1, 60),
    sessionRetries: reader.integer('ipmi_retries', 1, 1, 10),
    host: checkedHost(target, origin),
    port: checkedPort(target.port, 623, origin),
    username: target.username === undefined ? undefined : checkedField(target.username, 'username', origin),
    password: target.password,
    callTimeoutMs: common.callTimeoutMs ?? 15000,
    retry: { retries: common.retries, delayMs: common.retryDelayMs },
  };
}

/** The argument array for one ipmitool command: never the password, never a shell. */
export function ipmitoolArguments(settings: IpmitoolSettings, command: readonly string[], cipher = settings.ciphers[0] ?? 3): string[] {
  const args = ['-v', '-I', settings.interface, '-H', settings.host, '-p', String(settings.port)];
  if (settings.interface === 'lanplus') args.push('-C', String(cipher));
  if (settings.username !== undefined) args.push('-U', settings.username);
  args.push('-L', settings.privilege, '-N', String(settings.sessionTimeoutSeconds), '-R', String(settings.sessionRetries));
  if (settings.password !== undefined) args.push('-E');
  args.push(...command);
  return args;
}

export function createIpmitoolDriver(target: BmcTarget): BmcDriver {
  const settings = readIpmitoolSettings(target);
  const origin: BmcErrorOrigin = { systemName: target.systemName, driver: IPMITOOL_DRIVER };
  // With cipher=auto, the suites still to try; the first one that works is kept for the rest of the operation.
  let ciphers = [...settings.ciphers];

  async function ipmitool(
    command: readonly string[],
    context: OperationContext,
    retryOn: readonly BmcErrorKind[] = RETRY_ON_NO_ANSWER,
    ignoreStderr: readonly RegExp[] = [],
  ): Promise<string> {
    for (;;) {
      try {
        const stdout = await ipmitoolWith(ciphers[0] ?? 3, command, context, retryOn, ignoreStderr);
        ciphers = ciphers.slice(0, 1);
        return stdout;
      } catch (error) {
        const cipherRefused = error instanceof BmcError && error.kind === 'invalid-config' && /cipher suite/.test(error.message);
        if (!cipherRefused || ciphers.length < 2) throw error;
        ciphers = ciphers.slice(1);
      }
    }
  }

  async function ipmitoolWith(
    cipher: number,
    command: readonly string[],
    context: OperationContext,
    retryOn: readonly BmcErrorKind[] = RETRY_ON_NO_ANSWER,
    ignoreStderr: readonly RegExp[] = [],
  ): Promise<string> {
    const description = `ipmitool ${command.join(' ')}`;
    return callWithRetries(context, origin, description, settings.retry, async () => {
      let outcome: ProcessOutcome;
      try {
        outcome = await runProcess({
          file: settings.executable,
          args: ipmitoolArguments(settings, command, cipher),
          env: settings.password === undefined ? {} : { IPMI_PASSWORD: settings.password },
          timeoutMs: settings.callTimeoutMs,
          signal: context.signal,
        });
      } catch (error) {
        if (error instanceof ProcessStartError) {
          throw new BmcError('invalid-config', origin, `cannot run ${settings.executable} (${error.code}); is ipmitool installed?`);
        }
        throw error;
      }
      if (outcome.aborted) context.signal.throwIfAborted();
      if (outcome.timedOut) {
        throw new BmcError('timeout', origin, `${description}: no result within ${settings.callTimeoutMs / 1000} s`, outcome.stderr);
      }
      const failure = classifyIpmitoolResult(outcome.exitCode, outcome.stderr, ignoreStderr);
      if (failure) {
        throw new BmcError(failure.kind, origin, `${description} at ${settings.host}:${settings.port}: ${failure.summary}`, failure.said);
      }
      return outcome.stdout;
    }, retryOn);
  }

  return {
    name: IPMITOOL_DRIVER,

    async getPowerState(context): Promise<PowerState> {
      const stdout = await ipmitool(['chassis', 'power', 'status'], context);
      const state = parseChassisPowerStatus(stdout);
      if (!state) throw new BmcError('internal', origin, 'chassis power status: no "Chassis Power is on|off" in the answer', stdout);
      return state;
    },

    async setPowerState(action: PowerAction, context): Promise<PowerCommandReceipt> {
      // A cycle or reset that timed out may have reached the BMC: only retried when no session was made.
      const repeatable = action === 'on' || action === 'off' || action === 'soft';
      try {
        await ipmitool(['chassis', 'power', action], context, repeatable ? RETRY_ON_NO_ANSWER : RETRY_ON_UNREACHABLE_ONLY);
      } catch (error) {
        // Many BMCs refuse a cycle or reset while the chassis is off ("Command not supported in present state",
        // IPMI completion code 0xD5; Supermicro and Dell do, ipmi_sim ignores it): power on is what was meant.
        if (!(error instanceof BmcError) || error.kind !== 'rejected' || (action !== 'cycle' && action !== 'reset')) throw error;
        const state = parseChassisPowerStatus(await ipmitool(['chassis', 'power', 'status'], context));
        if (state !== 'off') throw error;
        await ipmitool(['chassis', 'power', 'on'], context);
        return { commands: [`chassis power ${action} (refused while off)`, 'chassis power on'], observedOff: true };
      }
      return { commands: [`chassis power ${action}`], observedOff: false };
    },

    async setBootDevice(request: BootDeviceRequest, context): Promise<void> {
      const command = ['chassis', 'bootdev', request.device];
      if (request.uefi) command.push('options=efiboot');
      await ipmitool(command, context);
    },

    async getBootDevice(context): Promise<BootDeviceReading> {
      const stdout = await ipmitool(['chassis', 'bootparam', 'get', '5'], context);
      const reading = parseBootFlags(stdout);
      if (!reading) throw new BmcError('internal', origin, 'chassis bootparam get 5: no boot parameter data in the answer', stdout);
      return reading;
    },

    async readSystemEventLog(context): Promise<SystemEventLogEntry[]> {
      return parseSelElist(await ipmitool(['sel', 'elist'], context, RETRY_ON_NO_ANSWER, SEL_LOOKUP_NOISE));
    },

    async probe(context): Promise<BmcProbeReport> {
      const info = parseMcInfo(await ipmitool(['mc', 'info'], context));
      const notes: string[] = [];
      const power = parseChassisPowerStatus(await ipmitool(['chassis', 'power', 'status'], context));
      let boot: BootDeviceReading | null = null;
      try {
        boot = parseBootFlags(await ipmitool(['chassis', 'bootparam', 'get', '5'], context));
      } catch (error) {
        notes.push(`chassis bootparam get 5 failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (boot && boot.overrideActive === false) notes.push('the boot flags are not marked valid: a one-time boot device is set with the valid bit, and read back after each set');
      if (boot && boot.persistent === true) notes.push('the BMC reports its boot flags as persistent: it may ignore the one-time flag');
      return {
        driver: IPMITOOL_DRIVER,
        endpoint: `${settings.host}:${settings.port}`,
        vendor: info.manufacturer,
        model: info.product,
        firmware: info.firmware,
        protocolVersion: info.ipmiVersion === null ? null : `IPMI ${info.ipmiVersion}`,
        powerState: power,
        system: 'chassis',
        otherSystems: [],
        resetTypes: ['chassis power on', 'chassis power off', 'chassis power soft', 'chassis power cycle', 'chassis power reset'],
        bootOverride: {
          supported: boot !== null,
          writtenTo: boot !== null ? 'boot option parameter 5 (boot flags)' : null,
          modes: ['Legacy', 'UEFI (options=efiboot)'],
          currentMode: boot?.uefi === true ? 'UEFI' : boot?.uefi === false ? 'Legacy' : null,
          modeWritable: 'yes',
          targets: ['pxe', 'disk', 'bios', 'cdrom'],
          current: boot ? `${boot.reported}${boot.persistent ? ', persistent' : ''}${boot.overrideActive ? ', valid' : ', not valid'}` : null,
        },
        eventLog: 'sel elist',
        authentication: `${settings.interface}${settings.interface === 'lanplus' ? `, cipher suite ${ciphers[0] ?? '?'}` : ''}, privilege ${settings.privilege}`,
        notes,
      };
    },
  };
}
