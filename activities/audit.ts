// The fleet audit's activities: thin over the inventory (db/repositories/audits.ts), the probes
// (triggers/audit-probe.ts), the verdict (triggers/audit-classify.ts) and the guard (RescueAdmission).
// Only names and counts go back to the workflow; observations and reasons stay in the database.
// A run that lost its lease (another audit took it over) fails its activity at once, without retries
// (AUDIT_LEASE_LOST), and records and admits nothing more.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { classifyAudit, DEFAULT_INSTALL_STALL_MS } from '../triggers/audit-classify.js';
import { probeBatch } from '../triggers/audit-probe.js';
import { osAnswers } from '../rescue/os-check.js';
import { isAuditLeaseLost, type AuditRunView } from '../db/repositories/audits.js';
import { AUDIT_LEASE_LOST, DEFAULT_FLEET_AUDIT_SETTINGS, type AuditAdmissionSummary, type AuditBatchResult, type FleetAuditSettings } from '../workflows/audit-types.js';
import type { ActivityDependencies } from './dependencies.js';
import { bmcTargetOf } from '../workers/system-power.js';

const LEASE_REFRESH_MS = 30_000;
/** What is kept of past audits (README, Audits). */
export const AUDIT_RETENTION = { keepResultsOfRuns: 48, keepRunsDays: 90 };

export function createAuditActivities({ inventory, systemPower, admission }: Pick<ActivityDependencies, 'inventory' | 'systemPower' | 'admission'>) {
  /**
   * Keeps the run's lease fresh while `work` runs, so that the next audit does not take it for abandoned.
   * When the lease is found lost (at the first heartbeat, a later one, or a record), `work`'s signal is
   * aborted and the activity fails non-retryably with AUDIT_LEASE_LOST.
   */
  async function underLease<T>(auditId: number, work: (leaseLost: AbortSignal) => Promise<T>): Promise<T> {
    const lost = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await inventory.audits.heartbeat(auditId);
      timer = setInterval(() => {
        inventory.audits.heartbeat(auditId).catch((error: unknown) => {
          // Other failures (the database briefly away) are left to the next heartbeat or record.
          if (isAuditLeaseLost(error)) lost.abort(error);
        });
      }, LEASE_REFRESH_MS);
      return await work(lost.signal);
    } catch (error) {
      const cause: unknown = lost.signal.aborted ? lost.signal.reason : error;
      if (isAuditLeaseLost(cause)) throw ApplicationFailure.create({ type: AUDIT_LEASE_LOST, message: cause.message, nonRetryable: true });
      throw error;
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
      const settings: FleetAuditSettings = { ...DEFAULT_FLEET_AUDIT_SETTINGS, ...input.settings };
      return underLease(input.auditId, async (leaseLost) => {
        if (input.after === null) await inventory.audits.setSystemsTotal(input.auditId, await inventory.audits.countSystems());
        const targets = await inventory.audits.targetsAfter(input.after, settings.batchSize);
        if (targets.length === 0) return { probed: 0, lastSystem: null, done: true, broken: [] };
        const chains = await inventory.systems.powerTargetsOf(targets.map((t) => t.system));
        // The machine's MACs pick its system on a BMC that serves several (blades behind a chassis manager),
        // as the power service does for rescues (workers/system-power.ts).
        const macsOf = new Map(targets.map((t) => [t.system, t.interfaces.map((nic) => nic.mac)]));
        const observations = await probeBatch(
          targets,
          {
            readHealth: async (system, signal) => {
              const chain = chains.get(system);
              if (chain === undefined || chain.length === 0) return null;
              const identity = { macs: macsOf.get(system) ?? [] };
              return systemPower.readHealth(chain.map((target) => bmcTargetOf(target, identity)), signal);
            },
            osAnswers,
          },
          settings,
          AbortSignal.any([context.cancellationSignal, leaseLost]),
          (done) => context.heartbeat({ probed: done, of: targets.length }),
        );
        const classify = { now: Date.now(), installStallMs: settings.installStallMs ?? DEFAULT_INSTALL_STALL_MS };
        const results = observations.map((observation) => ({ system: observation.system, ...classifyAudit(observation, classify), observation: { ...observation } }));
        await inventory.audits.recordResults(input.auditId, results);
        return {
          probed: results.length,
          lastSystem: targets[targets.length - 1]!.system,
          done: targets.length < settings.batchSize,
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
          // Still this run's lease before each machine: a run superseded half-way admits nothing more.
          await inventory.audits.heartbeat(input.auditId);
          const decision = await admission.admit({ system, source: 'audit', reason: `audit ${input.auditId}: ${reason}` });
          await inventory.audits.recordAdmission(input.auditId, system, decision);
          decisions[decision.decision] = (decisions[decision.decision] ?? 0) + 1;
        }
        return { decisions };
      });
    },

    /** Closes the run; a run no longer open (abandoned: superseded by another) is returned as it is. */
    async closeAuditRun(input: { auditId: number; state: 'finished' | 'failed'; note: string | null }): Promise<AuditRunView> {
      const run = await inventory.audits.close(input.auditId, input.state, input.note);
      await inventory.audits.prune(AUDIT_RETENTION);
      return run;
    },
  };
}
