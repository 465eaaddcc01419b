// Per-BMC options: strings from the inventory, read with their defaults and checked, so that a typo is an
// `invalid-config` error that names the key, not a silent default. Each built-in driver takes only the options
// on its allow-list, and none of them names a program or a file: what the worker runs (ipmitool) and the
// certificates it trusts are set on the server (RESCUED_IPMITOOL, RESCUED_CA_DIR), never from the inventory.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BmcError, type BmcErrorOrigin } from './errors.js';
import type { BmcTarget } from './types.js';

/** Options rescued reads for every driver; they are never passed on to a fence agent. */
export const COMMON_OPTION_KEYS = [
  'driver_timeout', // seconds the chain gives this BMC for one operation, retries and read-back included (120)
  'call_timeout', // seconds for one call: one ipmitool run, one HTTP request, one fence agent run (driver default)
  'retries', // extra tries of a call that failed with unreachable/timeout (2)
  'retry_delay', // seconds before the first retry, doubled for each next one (1)
  'readback_timeout', // seconds to wait for the machine to reach the state asked for (60)
  'readback_interval', // seconds between two reads of the state (0.25)
  'cycle_settle', // seconds a cycle must keep reading "on" when the off was not seen (5)
  'bmc_concurrency', // operations at once against this BMC, all callers of the process (RESCUED_BMC_CONCURRENCY, 4)
] as const;

export interface CommonOptions {
  driverTimeoutMs: number;
  callTimeoutMs: number | undefined;
  retries: number;
  retryDelayMs: number;
  readbackTimeoutMs: number;
  readbackIntervalMs: number;
  cycleSettleMs: number;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/** Reads options of one target; every error is `invalid-config` and names the option. */
export class OptionReader {
  constructor(
    private readonly options: Record<string, string>,
    private readonly origin: BmcErrorOrigin,
  ) {}

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  raw(key: string): string | undefined {
    const value = this.options[key];
    return value === undefined ? undefined : value.trim();
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    return value === '' ? undefined : value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key)?.toLowerCase();
    if (value === undefined || value === '') return fallback;
    if (TRUE_WORDS.has(value)) return true;
    if (FALSE_WORDS.has(value)) return false;
    throw this.invalid(key, 'a boolean (true/false, yes/no, 1/0)');
  }

  integer(key: string, fallback: number, minimum: number, maximum: number): number {
    const value = this.raw(key);
    if (value === undefined || value === '') return fallback;
    if (!/^-?\d+$/.test(value)) throw this.invalid(key, `an integer from ${minimum} to ${maximum}`);
    const parsed = Number(value);
    if (parsed < minimum || parsed > maximum) throw this.invalid(key, `an integer from ${minimum} to ${maximum}`);
    return parsed;
  }

  /** A duration in seconds (decimals allowed), returned in milliseconds. */
  seconds(key: string, fallbackSeconds: number, maximumSeconds = 3600): number {
    const value = this.raw(key);
    if (value === undefined || value === '') return Math.round(fallbackSeconds * 1000);
    const parsed = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !(parsed > 0) || parsed > maximumSeconds) {
      throw this.invalid(key, `a number of seconds greater than 0 and at most ${maximumSeconds}`);
    }
    return Math.round(parsed * 1000);
  }

  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(key)?.toLowerCase();
    if (value === undefined || value === '') return fallback;
    const found = choices.find((choice) => choice.toLowerCase() === value);
    if (!found) throw this.invalid(key, `one of ${choices.join(', ')}`);
    return found;
  }

  private invalid(key: string, expected: string): BmcError {
    return new BmcError(
      'invalid-config',
      this.origin,
      `option ${key}=${JSON.stringify(this.options[key])} is not valid: expected ${expected}`,
    );
  }
}

export function readCommonOptions(reader: OptionReader, driverCallTimeoutSeconds?: number): CommonOptions {
  return {
    driverTimeoutMs: reader.seconds('driver_timeout', 120),
    callTimeoutMs: reader.has('call_timeout') || driverCallTimeoutSeconds !== undefined
      ? reader.seconds('call_timeout', driverCallTimeoutSeconds ?? 20)
      : undefined,
    retries: reader.integer('retries', 2, 0, 10),
    retryDelayMs: reader.seconds('retry_delay', 1, 60),
    readbackTimeoutMs: reader.seconds('readback_timeout', 60),
    readbackIntervalMs: reader.seconds('readback_interval', 0.25, 60),
    cycleSettleMs: reader.seconds('cycle_settle', 5, 600),
  };
}

export function optionReaderFor(target: BmcTarget, driver: string): OptionReader {
  return new OptionReader(target.options, { systemName: target.systemName, driver });
}

/** The options each built-in driver reads, on top of COMMON_OPTION_KEYS. Any other option is refused. */
export const DRIVER_OPTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  ipmitool: ['interface', 'cipher', 'privilege', 'ipmi_timeout', 'ipmi_retries'],
  redfish: ['verify_tls', 'insecure', 'ca_file', 'system_id', 'system_mac', 'system_uuid', 'system_serial', 'auth'],
};

/** Options that once named a program or a file, and why they are gone: the error says what to do instead. */
const REMOVED_OPTIONS: Readonly<Record<string, string>> = {
  ipmitool_path: 'the worker runs the ipmitool on its PATH, or the one RESCUED_IPMITOOL names on the server',
};

/** Where the server keeps what its drivers may use; set by the server's environment, never by the inventory. */
export interface PowerHostSettings {
  /** The ipmitool program: RESCUED_IPMITOOL, else `ipmitool` found on PATH. */
  ipmitool: string;
  /** The folder `ca_file` names a file in: RESCUED_CA_DIR, else `$RESCUED_DATA_DIR/ca`. */
  caDirectory: string;
}

export function powerHostSettings(env: Record<string, string | undefined> = process.env): PowerHostSettings {
  const set = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  return {
    ipmitool: set(env['RESCUED_IPMITOOL']) ?? 'ipmitool',
    caDirectory: resolve(set(env['RESCUED_CA_DIR']) ?? join(set(env['RESCUED_DATA_DIR']) ?? './data', 'ca')),
  };
}

/** What is wrong with one option: the option as the inventory wrote it, and why it is refused. */
export interface OptionProblem {
  option: string;
  reason: string;
}

/** The first option a built-in driver does not take, or undefined. Unknown drivers (fence agents) are not judged here. */
export function driverOptionProblem(driver: string, options: Readonly<Record<string, string>>): OptionProblem | undefined {
  const own = DRIVER_OPTION_KEYS[driver];
  if (own === undefined) return undefined;
  const known = new Set<string>([...COMMON_OPTION_KEYS, ...own]);
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const removed = REMOVED_OPTIONS[key];
    return {
      option: key,
      reason: removed
        ? `is not accepted: no option may name a program or file the server runs (${removed})`
        : `is not an option of the ${driver} driver (its options: ${own.join(', ')}; for every driver: ${COMMON_OPTION_KEYS.join(', ')})`,
    };
  }
  const caFile = options['ca_file'];
  if (caFile !== undefined && !isCaFileName(caFile)) return { option: 'ca_file', reason: CA_FILE_REASON };
  return undefined;
}

/**
 * Refuses an option the driver does not take, naming it. `system add/edit` refuses it first (API 400); this runs
 * again when the driver is made, so that a row written some other way is refused all the same.
 */
export function checkDriverOptions(driver: string, options: Readonly<Record<string, string>>, origin: BmcErrorOrigin): void {
  const problem = driverOptionProblem(driver, options);
  if (problem) throw new BmcError('invalid-config', origin, `option ${problem.option}=${JSON.stringify(options[problem.option])} ${problem.reason}`);
}

// A file name inside the CA folder: no folder part, no "..", nothing hidden.
const CA_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CA_FILE_REASON = "is not a file name: it names a PEM file in the server's CA folder (RESCUED_CA_DIR), not a path";

function isCaFileName(value: string): boolean {
  const name = value.trim();
  return CA_FILE_NAME.test(name) && !name.includes('..');
}

/** The PEM text `ca_file` names in the server's CA folder, or undefined when the option is not set. */
export function readTrustedCertificate(reader: OptionReader, origin: BmcErrorOrigin, host: PowerHostSettings = powerHostSettings()): string | undefined {
  const value = reader.string('ca_file');
  if (value === undefined) return undefined;
  if (!isCaFileName(value)) throw new BmcError('invalid-config', origin, `option ca_file=${JSON.stringify(value)} ${CA_FILE_REASON}`);
  const path = join(host.caDirectory, value);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new BmcError('invalid-config', origin, `option ca_file=${value}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); put the PEM file in RESCUED_CA_DIR on the server`);
  }
}
