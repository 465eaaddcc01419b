// Power operations on a machine named in the inventory: its BMCs (the chain) are loaded by name, the
// operation runs through the PowerClient, and its record (drivers tried, which one did it, why each
// failed; no secrets) goes to the event log. A rescue's operations that power its machine up or restart it
// are told to the guard's count of power cycles. The inventory is injected, so this module needs no database.
import { BmcError, type BmcErrorKind } from './errors.js';
import { PowerClient, type PowerChainResult, type PowerClientOptions } from './chain.js';
import type { PowerTransition } from './readback.js';
import type { BmcTarget, BootDeviceRequest, PowerAction, PowerState, SystemEventLogEntry } from './types.js';

/** A power cycle a rescue made: what the guard's limit of power cycles per hour counts. */
export interface RescuePowerCycle {
  systemName: string;
  rescueWorkflowId: string;
  action: PowerAction;
}

export interface SystemPowerDependencies {
  loadTargets(systemName: string): Promise<BmcTarget[]>;
  recordEvent(event: { kind: string; systemName: string; detail: Record<string, unknown> }): Promise<void>;
  /** Told of every power cycle a rescue made (the guard counts those of automatic rescues); rejects saying why it could not. */
  countPowerCycle?(cycle: RescuePowerCycle): Promise<boolean | void>;
  /** Told what could not be done beside an operation that was: a power cycle that could not be counted. */
  warn?(line: string): void;
  clientOptions?: Omit<PowerClientOptions, 'signal'>;
}

/** The actions that power a machine up or restart it; off, soft and boot devices are not power cycles. */
const POWERING_UP: ReadonlySet<PowerAction> = new Set<PowerAction>(['on', 'cycle', 'reset']);
/** Failures after which the BMC did nothing: it was not reached, or it refused. */
const NOTHING_DONE: ReadonlySet<BmcErrorKind> = new Set<BmcErrorKind>(['auth', 'unreachable', 'unsupported', 'rejected', 'invalid-config', 'tls']);

/**
 * Whether an operation powered the machine up or restarted it, or may have: one that succeeded and sent its
 * command (an `on` of a machine already on sends nothing), or one that failed after a BMC may have taken the
 * command (it did not show the state asked for in time, or did not answer in time).
 */
export function isPowerCycle(action: PowerAction, result: PowerChainResult<PowerTransition>): boolean {
  if (!POWERING_UP.has(action)) return false;
  if (result.ok) return result.value.actionSent !== null;
  return result.record.attempts.some((attempt) => attempt.outcome === 'failed' && attempt.failure !== undefined && !NOTHING_DONE.has(attempt.failure.kind));
}

export function createSystemPower(dependencies: SystemPowerDependencies) {
  async function clientFor(systemName: string, signal: AbortSignal | undefined): Promise<PowerClient> {
    const targets = await dependencies.loadTargets(systemName);
    if (targets.length === 0) {
      throw new BmcError('invalid-config', { systemName, driver: 'none' }, 'no BMC is configured (rescuectl system edit NAME --power-type ... --power-address ...)');
    }
    return new PowerClient(targets, { ...dependencies.clientOptions, ...(signal ? { signal } : {}) });
  }

  async function recorded<T>(systemName: string, kind: string, run: () => Promise<PowerChainResult<T>>): Promise<PowerChainResult<T>> {
    const result = await run();
    await dependencies.recordEvent({
      kind: result.ok ? kind : `${kind}.failed`,
      systemName,
      detail: { record: result.record, ...(result.ok ? {} : { failure: result.failure }) },
    });
    return result;
  }

  /**
   * The BMC has acted: a count that cannot be written (the database busy or away just then) must not fail the
   * operation, whose retry would find the machine on, send nothing and count nothing. It is said instead.
   */
  async function countCycle(cycle: RescuePowerCycle): Promise<void> {
    try {
      await dependencies.countPowerCycle?.(cycle);
    } catch (error) {
      dependencies.warn?.(`the power ${cycle.action} of ${cycle.systemName} by ${cycle.rescueWorkflowId} is not counted toward the guard's limit of power cycles per hour: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return {
    async status(systemName: string, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      return client.getPowerState();
    },
    /** `rescue`: the rescue that makes the operation, whose power cycles count toward the guard's hourly limit. */
    async set(systemName: string, action: PowerAction, signal?: AbortSignal, rescue?: { workflowId: string }) {
      const client = await clientFor(systemName, signal);
      const result = await recorded(systemName, `power.${action}`, () => client.setPowerState(action));
      if (rescue !== undefined && isPowerCycle(action, result)) await countCycle({ systemName, rescueWorkflowId: rescue.workflowId, action });
      return result;
    },
    async setBootDevice(systemName: string, request: BootDeviceRequest, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      return recorded(systemName, `power.bootdev.${request.device}`, () => client.setBootDevice(request));
    },
    async readSystemEventLog(systemName: string, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      return client.readSystemEventLog();
    },
    /** Every BMC of the machine asked what it is and offers; recorded as a power.probe event. */
    async probe(systemName: string, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      const outcomes = await client.probe();
      await dependencies.recordEvent({
        kind: outcomes.some((outcome) => outcome.ok) ? 'power.probe' : 'power.probe.failed',
        systemName,
        detail: { attempts: outcomes.map((outcome) => outcome.record) },
      });
      return outcomes;
    },
    /**
     * Power state, then the event log where a driver of the chain reads one, of a machine whose BMCs the caller
     * has loaded (a fleet audit loads a whole batch at once). Reading is not an event: nothing is recorded.
     * `eventLog` is null when the power state could not be read.
     */
    async readHealth(targets: BmcTarget[], signal?: AbortSignal): Promise<{ power: PowerChainResult<PowerState>; eventLog: PowerChainResult<SystemEventLogEntry[]> | null }> {
      const client = new PowerClient(targets, { ...dependencies.clientOptions, ...(signal ? { signal } : {}) });
      const power = await client.getPowerState();
      if (!power.ok) return { power, eventLog: null };
      return { power, eventLog: await client.readSystemEventLog() };
    },
  };
}

export type SystemPower = ReturnType<typeof createSystemPower>;
