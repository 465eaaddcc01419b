// IPMI over LAN through ipmitool. The password travels in the IPMI_PASSWORD environment variable (-E), never
// on the command line; -C is always given (without it every call loses ~10 s on cipher suite discovery).
import { BmcError, type BmcErrorKind, type BmcErrorOrigin } from '../errors.js';
import { checkDriverOptions, OptionReader, powerHostSettings, readCommonOptions } from '../options.js';
import { ProcessStartError, runProcess, type ProcessOutcome } from '../process.js';
import { callWithRetries, RETRY_ON_NO_ANSWER, RETRY_ON_UNREACHABLE_ONLY, type RetryPolicy } from '../retry.js';
import { checkedField, checkedHost, checkedPort } from '../target.js';
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
import { classifyIpmitoolResult, parseBootFlags, parseChassisPowerStatus, parseSelElist, SEL_LOOKUP_NOISE } from './ipmitool-output.js';

export const IPMITOOL_DRIVER = 'ipmitool';

/** Options read by this driver, on top of the common ones (power/options.ts). */
export interface IpmitoolSettings {
  executable: string; // RESCUED_IPMITOOL on the server, else ipmitool on PATH: never from the inventory
  interface: 'lanplus' | 'lan'; // interface (lanplus)
  cipher: number; // cipher (3)
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
    cipher: reader.integer('cipher', 3, 0, 17),
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
export function ipmitoolArguments(settings: IpmitoolSettings, command: readonly string[]): string[] {
  const args = ['-v', '-I', settings.interface, '-H', settings.host, '-p', String(settings.port)];
  if (settings.interface === 'lanplus') args.push('-C', String(settings.cipher));
  if (settings.username !== undefined) args.push('-U', settings.username);
  args.push('-L', settings.privilege, '-N', String(settings.sessionTimeoutSeconds), '-R', String(settings.sessionRetries));
  if (settings.password !== undefined) args.push('-E');
  args.push(...command);
  return args;
}

export function createIpmitoolDriver(target: BmcTarget): BmcDriver {
  const settings = readIpmitoolSettings(target);
  const origin: BmcErrorOrigin = { systemName: target.systemName, driver: IPMITOOL_DRIVER };

  async function ipmitool(
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
          args: ipmitoolArguments(settings, command),
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
      await ipmitool(['chassis', 'power', action], context, repeatable ? RETRY_ON_NO_ANSWER : RETRY_ON_UNREACHABLE_ONLY);
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
  };
}
