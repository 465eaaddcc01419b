// Install status, as `cobbler status` shows it: the autoinstall's pre and post sections call
// /boot/status/<system>/started and /finished; with the TFTP/HTTP fetch log this tells, per system,
// whether it is installing, finished, or stalled (nothing heard for a while).
import type { Inventory } from '../db/inventory.js';
import type { InstallTokenRecord } from '../db/repositories/install-tokens.js';
import type { NetbootService } from './netboot.js';
import { InventoryError } from '../inventory/errors.js';
import type { Page, PageRequest } from '../db/pagination.js';

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
  constructor(
    message: string,
    /** 403: not a token for this install; 409: its install is over. */
    readonly status: 403 | 409 = 403,
  ) {
    super(message);
  }
}

export function createInstallTracker(dependencies: { inventory: Inventory; netboot: NetbootService; stallAfterMs: number; now?: () => number }) {
  const { inventory, netboot, stallAfterMs } = dependencies;
  const now = dependencies.now ?? Date.now;

  /** The install token a callback carries, if it is this system's and its install is still open. */
  async function checkToken(system: string, token: string | undefined): Promise<InstallTokenRecord> {
    const refused = (reason: string, status: 403 | 409 = 403) => new StatusTokenError(`install status for "${system}" refused: ${reason}`, status);
    if (token === undefined || token === '') throw refused('no token (the autoinstall file carries one only while an install is expected: netboot enabled, or a reinstall running)');
    const record = await inventory.installTokens.find(token);
    if (record === undefined || record.system !== system) throw refused('unknown token');
    if (record.closedAt !== null) throw refused(`this install's token was closed at ${record.closedAt.toISOString()} (${record.closedReason ?? 'closed'})`, 409);
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now()) throw refused(`token expired at ${record.expiresAt.toISOString()}`);
    if (record.expiresAt === null) throw refused('token was never handed out');
    return record;
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
    /** The status of one page of systems, by name. */
    async statusPage(request: PageRequest): Promise<Page<SystemBootStatus>> {
      const systems = await inventory.systems.page(request);
      const lastFetches = await inventory.boot.lastFetchPerSystem();
      return { items: await Promise.all(systems.items.map((s) => statusOf(s.name, lastFetches))), nextCursor: systems.nextCursor };
    },
    async installStarted(systemName: string, token: string | undefined): Promise<SystemBootStatus> {
      const record = await checkToken(systemName, token);
      const system = await inventory.systems.get(systemName);
      // A second start while one is open means the first one died: close it as stalled.
      await inventory.installHistory.finish(systemName, 'stalled');
      const { distro } = await netboot.resolveProfile(system.profile);
      const install = await inventory.installHistory.start(systemName, system.profile, distro.name);
      await inventory.installTokens.linkInstall(record.id, install.id);
      await inventory.events.record({ kind: 'install.started', objectType: 'system', objectName: systemName, actor: 'machine', detail: { install: install.id } });
      return statusOf(systemName);
    },
    async installFinished(systemName: string, token: string | undefined, outcome: 'success' | 'failed' = 'success'): Promise<SystemBootStatus> {
      const record = await checkToken(systemName, token);
      if (record.installId === null) throw new InventoryError('conflict', `system "${systemName}" has no install in progress (was /started called?)`);
      const system = await inventory.systems.get(systemName);
      // Closing the token first makes a second "finished" (or a race of two) lose here.
      if (!(await inventory.installTokens.closeToken(record.id, `install ${outcome === 'success' ? 'finished' : 'failed'}`))) {
        throw new StatusTokenError(`install status for "${systemName}" refused: this install's token was closed a moment ago`, 409);
      }
      const closed = await inventory.installHistory.finishInstall(systemName, record.installId, outcome);
      if (closed === undefined) throw new InventoryError('conflict', `system "${systemName}": the install this token started is no longer in progress`);
      const profile = await inventory.profiles.get(system.profile);
      const turnOffNetboot = outcome === 'success' && profile.effectiveNetbootOnce && system.netbootEnabled;
      if (turnOffNetboot) await inventory.systems.update(systemName, { netbootEnabled: false }, { name: 'machine' });
      await inventory.events.record({ kind: `install.${outcome === 'success' ? 'finished' : 'failed'}`, objectType: 'system', objectName: systemName, actor: 'machine', detail: { install: closed.id, netbootTurnedOff: turnOffNetboot } });
      return statusOf(systemName);
    },
  };
}

export type InstallTracker = ReturnType<typeof createInstallTracker>;
