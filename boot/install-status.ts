// Install status, as `cobbler status` shows it: the autoinstall's pre and post sections call
// /boot/status/<system>/started and /finished; with the TFTP/HTTP fetch log this tells, per system,
// whether it is installing, finished, or stalled (nothing heard for a while).
import type { Inventory } from '../db/inventory.js';
import type { StatusTokens } from './status-tokens.js';
import type { NetbootService } from './netboot.js';
import { InventoryError } from '../inventory/errors.js';

export type InstallState = 'installing' | 'stalled' | 'finished' | 'failed' | 'idle';

export interface SystemBootStatus {
  system: string;
  state: InstallState;
  netbootEnabled: boolean;
  profile: string | null;
  installStartedAt: string | null;
  installFinishedAt: string | null;
  lastFile: string | null;
  lastFileAt: string | null;
  lastFileProtocol: string | null;
  lastClient: string | null;
}

export class StatusTokenError extends Error {
  override readonly name = 'StatusTokenError';
}

export function createInstallTracker(dependencies: { inventory: Inventory; statusTokens: StatusTokens; netboot: NetbootService; stallAfterMs: number; now?: () => number }) {
  const { inventory, statusTokens, netboot, stallAfterMs } = dependencies;
  const now = dependencies.now ?? Date.now;

  function checkToken(system: string, token: string | undefined): void {
    if (token === undefined || !statusTokens.verify(system, token)) throw new StatusTokenError(`install status for "${system}": missing or wrong token`);
  }

  async function statusOf(systemName: string, lastFetches?: Awaited<ReturnType<Inventory['boot']['lastFetchPerSystem']>>): Promise<SystemBootStatus> {
    const system = await inventory.systems.get(systemName);
    const [latest] = await inventory.installHistory.list(systemName);
    const fetch = (lastFetches ?? (await inventory.boot.lastFetchPerSystem())).get(systemName);
    let state: InstallState = 'idle';
    if (latest !== undefined) {
      if (latest.finishedAt === null) {
        const lastActivity = Math.max(Date.parse(latest.startedAt), fetch ? Date.parse(fetch.at) : 0);
        state = now() - lastActivity > stallAfterMs ? 'stalled' : 'installing';
      } else state = latest.outcome === 'success' ? 'finished' : 'failed';
    }
    return {
      system: systemName,
      state,
      netbootEnabled: system.netbootEnabled,
      profile: latest?.profile ?? null,
      installStartedAt: latest?.startedAt ?? null,
      installFinishedAt: latest?.finishedAt ?? null,
      lastFile: fetch?.file ?? null,
      lastFileAt: fetch?.at ?? null,
      lastFileProtocol: fetch?.protocol ?? null,
      lastClient: fetch?.clientAddress ?? null,
    };
  }

  return {
    statusOf,
    async statusAll(): Promise<SystemBootStatus[]> {
      const lastFetches = await inventory.boot.lastFetchPerSystem();
      const systems = await inventory.systems.list();
      return Promise.all(systems.map((s) => statusOf(s.name, lastFetches)));
    },
    async installStarted(systemName: string, token: string | undefined): Promise<SystemBootStatus> {
      checkToken(systemName, token);
      const system = await inventory.systems.get(systemName);
      // A second start while one is open means the first one died: close it as stalled.
      await inventory.installHistory.finish(systemName, 'stalled');
      const { distro } = await netboot.resolveProfile(system.profile);
      await inventory.installHistory.start(systemName, system.profile, distro.name);
      await inventory.events.record({ kind: 'install.started', objectType: 'system', objectName: systemName, actor: 'machine' });
      return statusOf(systemName);
    },
    async installFinished(systemName: string, token: string | undefined, outcome: 'success' | 'failed' = 'success'): Promise<SystemBootStatus> {
      checkToken(systemName, token);
      const system = await inventory.systems.get(systemName);
      const closed = await inventory.installHistory.finish(systemName, outcome);
      if (closed === undefined) throw new InventoryError('conflict', `system "${systemName}" has no install in progress (was /started called?)`);
      const profile = await inventory.profiles.get(system.profile);
      const turnOffNetboot = outcome === 'success' && profile.effectiveNetbootOnce && system.netbootEnabled;
      if (turnOffNetboot) await inventory.systems.update(systemName, { netbootEnabled: false }, { name: 'machine' });
      await inventory.events.record({ kind: `install.${outcome === 'success' ? 'finished' : 'failed'}`, objectType: 'system', objectName: systemName, actor: 'machine', detail: { netbootTurnedOff: turnOffNetboot } });
      return statusOf(systemName);
    },
  };
}

export type InstallTracker = ReturnType<typeof createInstallTracker>;
