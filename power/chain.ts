// The chain: tries the BMCs configured for a machine in order, each under its own timeout, until one does the
// operation; returns a JSON-plain record of who was tried, who succeeded and why each failed. That record goes
// into the event log and the rescue's history as it is, so every known secret is scrubbed from it first.
import { BmcError, isBmcError, isRetryable, toFailure, type BmcErrorOrigin, type BmcFailure } from './errors.js';
import { defaultBmcConcurrency, processBmcLimiter, type KeyedSemaphore } from './bmc-limit.js';
import { optionReaderFor, readCommonOptions, type CommonOptions } from './options.js';
import { setBootDeviceAndConfirm, setPowerAndConfirm, type BootDeviceConfirmation, type PowerTransition } from './readback.js';
import { createDefaultRegistry, type DriverRegistry } from './registry.js';
import { describeEndpoint } from './target.js';
import { basicAuthForm, redactSecrets } from './redact.js';
import { observeBmcCall } from '../observability/metrics.js';
import type {
  BmcCallRecord,
  BmcDriver,
  BmcProbeReport,
  BmcTarget,
  BootDeviceReading,
  BootDeviceRequest,
  OperationContext,
  PowerAction,
  PowerState,
  SystemEventLogEntry,
} from './types.js';

export type PowerOperation = 'power.get' | 'power.set' | 'boot.set' | 'boot.get' | 'health.sel' | 'power.probe';

export interface DriverAttemptRecord {
  driver: string;
  /** The power type as the inventory wrote it. */
  type: string;
  endpoint: string;
  /** `skipped`: the driver does not offer this capability (failure kind `unsupported`), nothing was sent. */
  outcome: 'succeeded' | 'failed' | 'skipped';
  failure?: BmcFailure;
  startedAt: string;
  elapsedMs: number;
  /** Time spent waiting for a free slot of this BMC's concurrency limit (bmc_concurrency), when there was a wait. */
  queuedMs?: number;
  /** Every call made, with its try number: what an operator reads when a cycle went wrong. */
  calls: BmcCallRecord[];
  /** Non-fatal remarks (e.g. the BMC reports the boot override as persistent). */
  warnings?: string[];
}

export interface PowerChainRecord {
  systemName: string;
  operation: PowerOperation;
  request: Record<string, string | boolean> | null;
  startedAt: string;
  finishedAt: string;
  elapsedMs: number;
  attempts: DriverAttemptRecord[];
  /** The driver that did it, null when none did. */
  succeededWith: string | null;
}

export type PowerChainResult<T> =
  | { ok: true; value: T; record: PowerChainRecord }
  | { ok: false; failure: BmcFailure; record: PowerChainRecord };

export interface PowerClientOptions {
  registry?: DriverRegistry;
  /** Cancels the whole operation (e.g. the activity was cancelled). */
  signal?: AbortSignal;
  /** Overrides options.driver_timeout for every target (tests). */
  driverTimeoutMs?: number;
  /** The per-BMC concurrency limiter; the process-wide one by default (benchmarks give their own). */
  limiter?: KeyedSemaphore;
}

/** One BMC's answer to a probe: what it said about itself, or why it could not be probed. */
export type BmcProbeOutcome =
  | { ok: true; type: string; endpoint: string; report: BmcProbeReport; record: DriverAttemptRecord }
  | { ok: false; type: string; endpoint: string; failure: BmcFailure; record: DriverAttemptRecord };

type Capability = 'getPowerState' | 'setPowerState' | 'setBootDevice' | 'getBootDevice' | 'readSystemEventLog' | 'probe';

const CLOSE_TIMEOUT_MS = 10000;

export class PowerClient {
  private readonly registry: DriverRegistry;
  /** The targets' passwords and what the drivers learned (session tokens): never in a result. */
  private readonly secrets = new Set<string>();

  constructor(
    readonly targets: readonly BmcTarget[],
    private readonly options: PowerClientOptions = {},
  ) {
    this.registry = options.registry ?? createDefaultRegistry();
    for (const target of targets) {
      if (target.password === undefined || target.password === '') continue;
      this.secrets.add(target.password);
      if (target.username !== undefined) this.secrets.add(basicAuthForm(target.username, target.password));
    }
  }

  getPowerState(): Promise<PowerChainResult<PowerState>> {
    return this.run('power.get', null, ['getPowerState'], (driver, context) => bound(driver, 'getPowerState')(context));
  }

  /** Sends the action and reads the state back (power/readback.ts): success only when the state is reached. */
  setPowerState(action: PowerAction): Promise<PowerChainResult<PowerTransition>> {
    return this.run('power.set', { action }, ['getPowerState', 'setPowerState'], (driver, context, common, origin) =>
      setPowerAndConfirm(
        { getPowerState: bound(driver, 'getPowerState'), setPowerState: bound(driver, 'setPowerState') },
        action,
        context,
        common,
        origin,
      ),
    );
  }

  /** Sets the one-time boot device and reads it back where the driver can. */
  setBootDevice(request: BootDeviceRequest): Promise<PowerChainResult<BootDeviceConfirmation>> {
    return this.run('boot.set', { device: request.device, uefi: request.uefi }, ['setBootDevice'], async (driver, context, common, origin, warn) => {
      const confirmation = await setBootDeviceAndConfirm(
        { setBootDevice: bound(driver, 'setBootDevice'), ...(driver.getBootDevice ? { getBootDevice: bound(driver, 'getBootDevice') } : {}) },
        request,
        context,
        common,
        origin,
      );
      for (const warning of confirmation.warnings) warn(warning);
      return confirmation;
    });
  }

  getBootDevice(): Promise<PowerChainResult<BootDeviceReading>> {
    return this.run('boot.get', null, ['getBootDevice'], (driver, context) => bound(driver, 'getBootDevice')(context));
  }

  readSystemEventLog(): Promise<PowerChainResult<SystemEventLogEntry[]>> {
    return this.run('health.sel', null, ['readSystemEventLog'], (driver, context) => bound(driver, 'readSystemEventLog')(context));
  }

  /** Every BMC of the machine, each asked what it is and what it offers (not a chain: all are probed). */
  async probe(): Promise<BmcProbeOutcome[]> {
    const outcomes: BmcProbeOutcome[] = [];
    for (const target of this.targets) {
      if (this.options.signal?.aborted) break;
      const attempt = await this.attempt(target, ['probe'], (driver, context) => bound(driver, 'probe')(context));
      const endpoint = describeEndpoint(target);
      if (attempt.ok) outcomes.push({ ok: true, type: target.type, endpoint, report: attempt.value, record: attempt.record });
      else outcomes.push({ ok: false, type: target.type, endpoint, failure: attempt.record.failure ?? { kind: 'internal', message: 'no failure recorded' }, record: attempt.record });
    }
    return outcomes;
  }

  private async run<T>(
    operation: PowerOperation,
    request: Record<string, string | boolean> | null,
    needs: readonly Capability[],
    perform: (driver: BmcDriver, context: OperationContext, common: CommonOptions, origin: BmcErrorOrigin, warn: (warning: string) => void) => Promise<T>,
  ): Promise<PowerChainResult<T>> {
    const systemName = this.targets[0]?.systemName ?? 'unknown system';
    const started = new Date();
    const startedClock = performance.now();
    const attempts: DriverAttemptRecord[] = [];
    const finish = (succeededWith: string | null): PowerChainRecord => ({
      systemName,
      operation,
      request,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      elapsedMs: Math.round(performance.now() - startedClock),
      attempts,
      succeededWith,
    });

    for (const target of this.targets) {
      if (this.options.signal?.aborted) break;
      const attempt = await this.attempt(target, needs, perform);
      attempts.push(attempt.record);
      if (attempt.ok) return redactSecrets({ ok: true, value: attempt.value, record: finish(attempt.record.driver) }, this.secrets);
    }
    const record = finish(null);
    return redactSecrets({ ok: false, failure: chainFailure(systemName, operation, record.attempts, this.options.signal), record }, this.secrets);
  }

  private async attempt<T>(
    target: BmcTarget,
    needs: readonly Capability[],
    perform: (driver: BmcDriver, context: OperationContext, common: CommonOptions, origin: BmcErrorOrigin, warn: (warning: string) => void) => Promise<T>,
  ): Promise<{ ok: true; value: T; record: DriverAttemptRecord } | { ok: false; record: DriverAttemptRecord }> {
    const startedAt = new Date().toISOString();
    const clock = performance.now();
    const calls: BmcCallRecord[] = [];
    const warnings: string[] = [];
    let driverName = target.type;
    let queuedMs = 0;
    const record = (outcome: DriverAttemptRecord['outcome'], failure?: BmcFailure): DriverAttemptRecord => ({
      driver: driverName,
      type: target.type,
      endpoint: describeEndpoint(target),
      outcome,
      ...(failure ? { failure } : {}),
      startedAt,
      elapsedMs: Math.round(performance.now() - clock),
      ...(queuedMs > 0 ? { queuedMs } : {}),
      calls,
      ...(warnings.length > 0 ? { warnings } : {}),
    });

    let driver: BmcDriver;
    let common: CommonOptions;
    let concurrency: number;
    try {
      const resolution = this.registry.resolve(target);
      driverName = resolution.driver;
      const reader = optionReaderFor(target, driverName);
      common = readCommonOptions(reader);
      concurrency = reader.integer('bmc_concurrency', defaultBmcConcurrency(), 1, 64);
      driver = resolution.create(target);
    } catch (error) {
      // No driver: the record names the one the type would have been (e.g. the fence agent not installed).
      if (isBmcError(error)) driverName = error.driver;
      return { ok: false, record: record('failed', toFailure(error, { systemName: target.systemName, driver: driverName })) };
    }
    const origin = { systemName: target.systemName, driver: driver.name };
    const missing = needs.filter((capability) => typeof driver[capability] !== 'function');
    if (missing.length > 0) {
      const failure = new BmcError('unsupported', origin, `this driver does not offer ${missing.join(', ')}`).toFailure();
      return { ok: false, record: record('skipped', failure) };
    }

    const timeoutMs = this.options.driverTimeoutMs ?? common.driverTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new BmcError('timeout', origin, `no result within driver_timeout=${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onOuterAbort = (): void => controller.abort(new BmcError('timeout', origin, 'operation cancelled'));
    this.options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const context: OperationContext = {
      signal: controller.signal,
      recordCall: (call) => {
        appendCall(calls, call);
        observeBmcCall(driver.name, call);
      },
    };

    let release: (() => void) | null = null;
    try {
      // The wait for a free slot of this BMC counts against driver_timeout.
      const queued = performance.now();
      release = await (this.options.limiter ?? processBmcLimiter).acquire(bmcKey(target), concurrency, controller.signal);
      queuedMs = Math.round(performance.now() - queued);
      if (driver.open) await driver.open(context);
      const value = await perform(driver, context, common, origin, (warning) => warnings.push(warning));
      return { ok: true, value, record: record('succeeded') };
    } catch (error) {
      return { ok: false, record: record('failed', toFailure(error, origin)) };
    } finally {
      clearTimeout(timer);
      this.options.signal?.removeEventListener('abort', onOuterAbort);
      for (const secret of driver.knownSecrets?.() ?? []) if (secret !== '') this.secrets.add(secret);
      if (driver.close && release !== null) {
        // Always, also when open() failed half-way (a session made, then the system not found): closing (e.g.
        // deleting a Redfish session) gets its own time, even after a timeout.
        const closeContext: OperationContext = { signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS), recordCall: (call) => appendCall(calls, call) };
        await driver.close(closeContext).catch(() => undefined);
      }
      release?.();
    }
  }
}

/**
 * The concurrency limit's key: one BMC, whatever the machine or driver that talks to it. `https://bmc1`,
 * `bmc1` and `BMC1` are the same BMC; an explicit port (in the address or the target) tells BMCs behind one
 * address apart (emulators, port-forwarded BMCs).
 */
export function bmcKey(target: BmcTarget): string {
  const address = target.address.trim().toLowerCase();
  let host = address;
  let port = target.port === undefined ? '' : String(target.port);
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(address)) {
    try {
      const url = new URL(address);
      host = url.hostname.replace(/^\[|\]$/g, '');
      if (port === '') port = url.port;
    } catch {
      // not a URL after all: the address as it is
    }
  }
  return `${host}|${port}`;
}

/** Successful repeats of the same call (polling the state) are folded into one entry with a count. */
export function appendCall(calls: BmcCallRecord[], call: BmcCallRecord): void {
  const previous = calls[calls.length - 1];
  if (previous && !previous.failure && !call.failure && call.try === 1 && previous.description === call.description) {
    previous.count = (previous.count ?? 1) + 1;
    previous.elapsedMs += call.elapsedMs;
    return;
  }
  calls.push({ ...call });
}

/** A capability of the driver, bound to it; the chain checks `needs` before calling this. */
function bound<C extends Capability>(driver: BmcDriver, capability: C): NonNullable<BmcDriver[C]> {
  const method = driver[capability];
  if (typeof method !== 'function') throw new Error(`${driver.name}: ${capability} used without being checked`);
  return method.bind(driver) as NonNullable<BmcDriver[C]>;
}

/**
 * The failure of the whole chain. Its kind: the first retryable one if any driver failed in a way that may pass
 * on a later try (so the activity retries), else the first driver's that was not a mere "unsupported".
 */
export function chainFailure(systemName: string, operation: PowerOperation, attempts: readonly DriverAttemptRecord[], signal?: AbortSignal): BmcFailure {
  if (attempts.length === 0) {
    const reason = signal?.aborted ? 'operation cancelled before any driver was tried' : 'no BMC configured for this machine';
    return { kind: signal?.aborted ? 'timeout' : 'invalid-config', message: `${systemName}: ${operation}: ${reason}` };
  }
  const failures = attempts.map((attempt) => attempt.failure).filter((failure): failure is BmcFailure => failure !== undefined);
  const chosen =
    failures.find((failure) => isRetryable(failure.kind)) ??
    failures.find((failure) => failure.kind !== 'unsupported') ??
    failures[0] ?? { kind: 'internal' as const, message: 'no failure recorded' };
  const prefix = `${systemName}: `;
  const detail = attempts
    .map((attempt) => {
      const message = attempt.failure?.message ?? attempt.outcome;
      return `[${attempt.driver}] ${message.startsWith(prefix) ? message.slice(prefix.length) : message}`;
    })
    .join('; ');
  return { kind: chosen.kind, message: `${systemName}: ${operation} failed with every driver tried: ${detail}` };
}
