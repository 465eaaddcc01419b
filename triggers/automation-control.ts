// What operators do to automation: read its state, pause and resume it, change the guard's settings, keep
// maintenance windows and close incidents. And the check an operator's own rescue start passes (the pause
// and maintenance windows hold for operators too, unless they force it).
import type { GuardRepository, MaintenanceWindowView } from '../db/repositories/guard.js';
import { InventoryError } from '../inventory/errors.js';
import { guardSettingsSchema, type GuardSettings } from './guard-settings.js';

export interface AutomationControlDependencies {
  /** Whether the inventory has a system of this name (a maintenance window must name a real one). */
  systemExists(name: string): Promise<boolean>;
}

/** A maintenance window to add: for one system, or for every system with a label (which need not exist yet). */
export interface MaintenanceWindowRequest {
  system: string | null;
  label: { key: string; value: string } | null;
  startsAt: Date;
  endsAt: Date;
  reason: string;
}

export function createAutomationControl(store: GuardRepository, dependencies: AutomationControlDependencies) {
  return {
    async status() {
      const { settings, pause } = await store.settings();
      const counts = await store.counts();
      const [queue, decisions, incidents] = await Promise.all([store.listQueue({ waitingOnly: true, limit: 50 }), store.listDecisions({ limit: 20 }), store.listIncidents({ open: true })]);
      return { settings, pause, ...counts, queue, decisions, incidents };
    },
    async pause(reason: string, actor: string) {
      await store.setPause(undefined, { paused: true, by: actor, reason });
      return (await store.settings()).pause;
    },
    async resume(actor: string) {
      await store.setPause(undefined, { paused: false, by: actor, reason: null });
      return (await store.settings()).pause;
    },
    async updateSettings(change: Partial<GuardSettings>, actor: string): Promise<GuardSettings> {
      return store.changeSettings((settings) => {
        const merged = guardSettingsSchema.safeParse({ ...settings, ...change });
        if (!merged.success) {
          const issue = merged.error.issues[0]!;
          throw new InventoryError('invalid', `${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'));
        }
        return merged.data;
      }, actor);
    },
    /**
     * Adds a maintenance window. A window for a system the inventory does not know (a typo: web0l for web01)
     * would protect nothing while the operator believes the machine protected: refused, naming the system.
     */
    async addMaintenance(window: MaintenanceWindowRequest, actor: string): Promise<MaintenanceWindowView> {
      if (window.endsAt <= window.startsAt) throw new InventoryError('invalid', `endsAt: ${window.endsAt.toISOString()} is not after startsAt (${window.startsAt.toISOString()})`, 'endsAt');
      if (window.system !== null && !(await dependencies.systemExists(window.system))) {
        throw new InventoryError('invalid', `system: system "${window.system}" does not exist (a window for every machine with a label names the label instead)`, 'system');
      }
      return store.addMaintenance({ system: window.system, labelKey: window.label?.key ?? null, labelValue: window.label?.value ?? null, startsAt: window.startsAt, endsAt: window.endsAt, reason: window.reason }, actor);
    },
    /** Why an operator's rescue of this machine should not start now, or null. */
    async operatorStartRefusal(system: string, labels: Record<string, string>): Promise<string | null> {
      const { pause } = await store.settings();
      if (pause.paused) return `automation is paused${pause.by ? ` by ${pause.by}` : ''}: ${pause.reason ?? 'no reason given'}; add --force (force: true) to rescue ${system} all the same`;
      const window = await store.maintenanceFor(system, labels);
      if (window) return `${system} is in maintenance window #${window.id} (${window.scope}) until ${window.endsAt}: ${window.reason}; add --force (force: true) to rescue it all the same`;
      return null;
    },
  };
}

export type AutomationControl = ReturnType<typeof createAutomationControl>;
