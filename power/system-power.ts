// Power operations on a machine named in the inventory: its BMCs (the chain) are loaded by name, the
// operation runs through the PowerClient, and its record (drivers tried, which one did it, why each
// failed; no secrets) goes to the event log. The inventory is injected, so this module needs no database.
import { BmcError } from './errors.js';
import { PowerClient, type PowerChainResult, type PowerClientOptions } from './chain.js';
import type { BmcTarget, BootDeviceRequest, PowerAction, PowerState, SystemEventLogEntry } from './types.js';

export interface SystemPowerDependencies {
  loadTargets(systemName: string): Promise<BmcTarget[]>;
  recordEvent(event: { kind: string; systemName: string; detail: Record<string, unknown> }): Promise<void>;
  clientOptions?: Omit<PowerClientOptions, 'signal'>;
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

  return {
    async status(systemName: string, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      return client.getPowerState();
    },
    async set(systemName: string, action: PowerAction, signal?: AbortSignal) {
      const client = await clientFor(systemName, signal);
      return recorded(systemName, `power.${action}`, () => client.setPowerState(action));
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
