// What operators do to automation: read its state, pause and resume it, change the guard's settings, keep
// maintenance windows and close incidents. And the check an operator's own rescue start passes (the pause
// and maintenance windows hold for operators too, unless they force it).
import type { GuardRepository } from '../db/repositories/guard.js';
import { InventoryError } from '../inventory/errors.js';
import { guardSettingsSchema, type GuardSettings } from './guard-settings.js';

export function createAutomationControl(store: GuardRepository) {
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
      const { settings } = await store.settings();
      const merged = guardSettingsSchema.safeParse({ ...settings, ...change });
      if (!merged.success) {
        const issue = merged.error.issues[0]!;
        throw new InventoryError('invalid', `${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'));
      }
      await store.updateSettings(merged.data, actor);
      return merged.data;
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
