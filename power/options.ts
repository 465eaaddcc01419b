// Per-BMC options: strings from the inventory, read with their defaults and checked, so that a typo is an
// `invalid-config` error that names the key, not a silent default.
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
