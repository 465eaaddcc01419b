// The fleet audit's activities: thin over the inventory (db/repositories/audits.ts), the probes
// (triggers/audit-probe.ts), the verdict (triggers/audit-classify.ts) and the guard (RescueAdmission).
// Only names and counts go back to the workflow; observations and reasons stay in the database.
import { Context } from '@temporalio/activity';
import { classifyAudit } from '../triggers/audit-classify.js';
import { probeBatch } from '../triggers/audit-probe.js';
import { osAnswers } from '../rescue/os-check.js';
import type { AuditRunView } from '../db/repositories/audits.js';
import type { AuditAdmissionSummary, AuditBatchResult, FleetAuditSettings } from '../workflows/audit-types.js';
import type { ActivityDependencies } from './dependencies.js';
import { bmcTargetOf } from '../workers/system-power.js';

const LEASE_REFRESH_MS = 30_000;
/** What is kept of past audits (README, Audits). */
export const AUDIT_RETENTION = { keepResultsOfRuns: 48, keepRunsDays: 90 };

export function createAuditActivities({ inventory, systemPower, admission }: ActivityDependencies) {
  /** Keeps the run's lease fresh while `work` runs, so that the next audit does not take it for abandoned. */
  async function underLease<T>(auditId: number, work: () => Promise<T>): Promise<T> {
    await inventory.audits.heartbeat(auditId);
    const timer = setInterval(() => void inventory.audits.heartbeat(auditId).catch(() => undefined), LEASE_REFRESH_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  return {
    async openAuditRun(input: { workflowId: string; trigger: 'schedule' | 'manual'; requestedBy: string; leaseMs: number }): Promise<{ auditId: number; skipped: boolean; note: string | null }> {
      const opened = await inventory.audits.open(input);
      if ('opened' in opened) return { auditId: opened.opened.id, skipped: false, note: null };
      const other = opened.running;
      const note = `audit ${other.id} (${other.trigger}, ${other.workflowId}, started ${other.startedAt} by ${other.requestedBy}) was running`;
      const skipped = await inventory.audits.recordSkipped({ workflowId: input.workflowId, trigger: input.trigger, requestedBy: input.requestedBy, note });
      return { auditId: skipped.id, skipped: true, note };
    },

    async probeAuditBatch(input: { auditId: number; after: string | null; settings: FleetAuditSettings }): Promise<AuditBatchResult> {
      const context = Context.current();
      return underLease(input.auditId, async () => {
        if (input.after === null) await inventory.audits.setSystemsTotal(input.auditId, await inventory.audits.countSystems());
        const targets = await inventory.audits.targetsAfter(input.after, input.settings.batchSize);
        if (targets.length === 0) return { probed: 0, lastSystem: null, done: true, broken: [] };
        const chains = await inventory.systems.powerTargetsOf(targets.map((t) => t.system));
        const observations = await probeBatch(
          targets,
          {
            readHealth: async (system, signal) => {
              const chain = chains.get(system);
              return chain === undefined || chain.length === 0 ? null : systemPower.readHealth(chain.map((target) => bmcTargetOf(target)), signal);
            },
            osAnswers,
          },
          input.settings,
          context.cancellationSignal,
          (done) => context.heartbeat({ probed: done, of: targets.length }),
        );
        const results = observations.map((observation) => ({ system: observation.system, ...classifyAudit(observation), observation: { ...observation } }));
        await inventory.audits.recordResults(input.auditId, results);
        return {
          probed: results.length,
          lastSystem: targets[targets.length - 1]!.system,
          done: targets.length < input.settings.batchSize,
          broken: results.filter((r) => r.classification === 'broken').map((r) => r.system),
        };
      });
    },

    /** Asks the guard about each broken machine that has no decision yet (a retry does not ask twice). */
    async admitBrokenSystems(input: { auditId: number; systems: string[] }): Promise<AuditAdmissionSummary> {
      const context = Context.current();
      return underLease(input.auditId, async () => {
        const decisions: Record<string, number> = {};
        for (const { system, reason } of await inventory.audits.awaitingAdmission(input.auditId, input.systems)) {
          context.heartbeat(system);
          const decision = await admission.admit({ system, source: 'audit', reason: `audit ${input.auditId}: ${reason}` });
          await inventory.audits.recordAdmission(input.auditId, system, decision);
          decisions[decision.decision] = (decisions[decision.decision] ?? 0) + 1;
        }
        return { decisions };
      });
    },

    async closeAuditRun(input: { auditId: number; state: 'finished' | 'failed'; note: string | null }): Promise<AuditRunView> {
      const run = await inventory.audits.close(input.auditId, input.state, input.note);
      await inventory.audits.prune(AUDIT_RETENTION);
      return run;
    },
  };
}
