// What a fleet audit looks at for each machine: the BMC's power state and event log, whether the OS
// answers, the last install, the last phone-home and any open rescue; gathered into an AuditObservation
// for triggers/audit-classify.ts. Probes of a batch run concurrently, at most `concurrency` at once and at
// most `perBmcConcurrency` against one BMC (a chassis manager may front many machines, and a BMC is a small
// computer that falls over when asked too much at once). A BMC is named by the power layer's own key
// (power/chain.ts bmcKey: `https://cmc1`, `cmc1` and `CMC1` are one BMC), and a probe holds a slot of every
// BMC of its machine's chain, since the chain may contact each of them.
import { setMaxListeners } from 'node:events';
import { bmcKey, type PowerChainRecord, type PowerChainResult } from '../power/chain.js';
import type { PowerState, SystemEventLogEntry } from '../power/types.js';
import { osCheckOf, type OsAnswer, type OsCheck } from '../rescue/os-check.js';
import { criticalEvents, expectedPowerOf, type AuditObservation, type BmcObservation, type EventLogObservation, type FailedBmcAttempt, type OsObservation } from './audit-classify.js';

/** What one machine's probes need from the inventory, without secrets (the BMC chain loads its own). */
export interface AuditTarget {
  system: string;
  labels: Record<string, string>;
  /** The machine's interfaces: the IP for the OS check, the MACs to pick its system on a BMC that serves several. */
  interfaces: Array<{ ip: string | null; mac: string }>;
  /**
   * The keys (bmcKeyOf) of every distinct BMC of the machine's chain, in chain order: the per-BMC limit holds a
   * slot of each while the machine is probed. Empty: no BMC is configured.
   */
  bmcKeys: string[];
  lastInstall: { outcome: string; startedAt: string; finishedAt: string | null } | null;
  lastPhoneHome: string | null;
  openRescue: { workflowId: string; state: string; startedAt: string } | null;
}

export interface AuditProbeSettings {
  /** Probes running at once in a batch. */
  concurrency: number;
  /** Probes running at once against one BMC (power/chain.ts bmcKey). */
  perBmcConcurrency: number;
  /** Time for the BMC's power state and event log together. */
  bmcTimeoutMs: number;
  /** Time for the OS check's TCP connection. */
  osTimeoutMs: number;
}

/** The per-BMC limit's key of one configured BMC: the power layer's own (its concurrency limit uses the same). */
export function bmcKeyOf(systemName: string, bmc: { type: string; address: string; port: number | null | undefined }): string {
  return bmcKey({ systemName, type: bmc.type, address: bmc.address, options: {}, ...(bmc.port === null || bmc.port === undefined ? {} : { port: bmc.port }) });
}

/** The distinct BMC keys of a chain, in chain order. */
export function bmcKeysOf(systemName: string, chain: ReadonlyArray<{ type: string; address: string; port: number | null | undefined }>): string[] {
  return [...new Set(chain.map((bmc) => bmcKeyOf(systemName, bmc)))];
}

export const DEFAULT_AUDIT_PROBE_SETTINGS: AuditProbeSettings = { concurrency: 64, perBmcConcurrency: 2, bmcTimeoutMs: 30_000, osTimeoutMs: 5_000 };

export interface AuditProbeDependencies {
  /** Power state and event log of the machine's BMC chain; null when it has no BMC. */
  readHealth(system: string, signal: AbortSignal): Promise<{ power: PowerChainResult<PowerState>; eventLog: PowerChainResult<SystemEventLogEntry[]> | null } | null>;
  /** rescue/os-check.ts's osAnswers, or a simulation of it. */
  osAnswers(check: Extract<OsCheck, { kind: 'tcp' | 'ssh' }>, timeoutMs: number, signal: AbortSignal): Promise<OsAnswer>;
}

async function observeOs(target: AuditTarget, dependencies: AuditProbeDependencies, settings: AuditProbeSettings, signal: AbortSignal): Promise<OsObservation> {
  const check = osCheckOf(target);
  if (check.kind === 'invalid') return { check: 'invalid', detail: check.reason };
  if (check.kind === 'none') return { check: 'none', detail: `the OS is not checked: ${check.reason}` };
  const where = check.host.includes(':') ? `[${check.host}]:${check.port}` : `${check.host}:${check.port}`;
  const answer = await dependencies.osAnswers(check, settings.osTimeoutMs, signal);
  return { check: check.kind, target: where, answered: answer.answered, detail: answer.detail };
}

function observeEventLog(result: PowerChainResult<SystemEventLogEntry[]> | null): EventLogObservation {
  if (result === null) return { state: 'not-read', detail: 'the BMC did not give its power state' };
  if (result.ok) return { state: 'read', entries: result.value.length, critical: criticalEvents(result.value) };
  if (result.failure.kind === 'unsupported') return { state: 'not-read', detail: 'no driver of this machine reads an event log' };
  return { state: 'failed', kind: result.failure.kind, message: result.failure.message };
}

/**
 * What the BMC chain said about power. When a BMC earlier in the chain failed before another answered, the
 * failures are kept: a dead primary BMC must show, even though a fallback could read the power.
 */
export function observeBmc(result: PowerChainResult<PowerState>): BmcObservation {
  if (!result.ok) return { state: 'failed', kind: result.failure.kind, message: result.failure.message };
  const observation: BmcObservation = { state: 'answered', power: result.value, driver: result.record.succeededWith ?? 'unknown' };
  const failedBefore = failedAttempts(result.record);
  return failedBefore.length === 0 ? observation : { ...observation, failedBefore };
}

function failedAttempts(record: PowerChainRecord): FailedBmcAttempt[] {
  const failed: FailedBmcAttempt[] = [];
  for (const attempt of record.attempts) {
    if (attempt.outcome === 'succeeded') break;
    // `skipped`: the driver cannot do this at all (nothing was sent); not a BMC that failed.
    if (attempt.outcome === 'failed' && attempt.failure !== undefined) {
      failed.push({ driver: attempt.driver, endpoint: attempt.endpoint, kind: attempt.failure.kind, message: attempt.failure.message });
    }
  }
  return failed;
}

/** Everything the audit looks at for one machine; the BMC and the OS are asked at the same time. */
export async function probeSystem(target: AuditTarget, dependencies: AuditProbeDependencies, settings: AuditProbeSettings, signal: AbortSignal): Promise<AuditObservation> {
  const bmcSignal = AbortSignal.any([signal, AbortSignal.timeout(settings.bmcTimeoutMs)]);
  const [health, os] = await Promise.all([
    target.bmcKeys.length === 0 ? Promise.resolve(null) : dependencies.readHealth(target.system, bmcSignal),
    observeOs(target, dependencies, settings, signal),
  ]);
  return {
    system: target.system,
    expectedPower: expectedPowerOf(target.labels),
    bmc: health === null ? { state: 'none' } : observeBmc(health.power),
    eventLog: health === null ? { state: 'not-read', detail: 'no BMC is configured' } : observeEventLog(health.eventLog),
    os,
    lastInstall: target.lastInstall,
    lastPhoneHome: target.lastPhoneHome,
    openRescue: target.openRescue,
  };
}

/**
 * Probes every target of a batch under both limits and returns the observations in the targets' order.
 * A target starts once every BMC of its chain has a free slot, and holds one of each until its probe ends;
 * a target whose BMC is at its limit waits while the others go ahead, so a BMC that fronts many machines
 * holds back only its own. `onProbed` is called after each probe (the activity heartbeats from it).
 */
export function probeBatch(
  targets: readonly AuditTarget[],
  dependencies: AuditProbeDependencies,
  settings: AuditProbeSettings,
  signal: AbortSignal,
  onProbed: (done: number) => void = () => undefined,
): Promise<AuditObservation[]> {
  const results: AuditObservation[] = new Array(targets.length);
  const pending = targets.map((_, index) => index);
  const perKey = new Map<string, number>();
  if (!(Number.isInteger(settings.concurrency) && settings.concurrency >= 1 && Number.isInteger(settings.perBmcConcurrency) && settings.perBmcConcurrency >= 1)) {
    return Promise.reject(new RangeError(`audit probes: concurrency (${settings.concurrency}) and perBmcConcurrency (${settings.perBmcConcurrency}) must be whole numbers of at least 1`));
  }
  const keysOf = (index: number) => [...new Set(targets[index]!.bmcKeys)];
  const free = (index: number) => keysOf(index).every((key) => (perKey.get(key) ?? 0) < settings.perBmcConcurrency);
  let running = 0;
  let done = 0;
  // Every probe running listens to the batch's signal (its BMC deadline, its OS check).
  setMaxListeners(Math.max(10, settings.concurrency * 3), signal);
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const pump = () => {
      if (failed) return;
      if (signal.aborted) return fail(signal.reason ?? new Error('audit batch cancelled'));
      if (done === targets.length) return resolve(results);
      while (running < settings.concurrency) {
        const at = pending.findIndex(free);
        if (at === -1) return;
        const index = pending.splice(at, 1)[0]!;
        const keys = keysOf(index);
        for (const key of keys) perKey.set(key, (perKey.get(key) ?? 0) + 1);
        running += 1;
        probeSystem(targets[index]!, dependencies, settings, signal).then(
          (observation) => {
            results[index] = observation;
            running -= 1;
            for (const key of keys) perKey.set(key, perKey.get(key)! - 1);
            done += 1;
            onProbed(done);
            pump();
          },
          fail,
        );
      }
    };
    pump();
  });
}
