// fleetAuditWorkflow: probe every machine of the inventory in batches, classify each (healthy, suspect,
// broken, with the reason), and hand the broken ones to the guard (RescueAdmission) as an alert would.
// Deterministic orchestration only. Each batch is one activity that probes its machines concurrently and
// stores their verdicts, so the history holds names and counts, never observations; every `batchesPerRun`
// batches the workflow continues as new, carrying where it got to. One audit at a time: the run is opened
// in the database under a lease, and a scheduled run that finds another open records itself as skipped.
// A run whose lease a later audit took over (it made no progress for longer than the lease: its worker was
// away) is told so by its next activity (AUDIT_LEASE_LOST) and ends as abandoned, admitting nothing more.
import { ActivityFailure, ApplicationFailure, CancellationScope, continueAsNew, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { AUDIT_LEASE_LOST, DEFAULT_FLEET_AUDIT_SETTINGS, type FleetAuditInput, type FleetAuditResult, type FleetAuditSettings } from './audit-types.js';

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 10 },
  summary: 'Audit bookkeeping',
});
const probing = proxyActivities<Activities>({
  // A batch of 250 at 64 at once, each BMC at most 30 s: a few minutes at worst; heartbeats after every probe.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
  summary: 'Probe a batch of machines',
});
const admitting = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
  summary: 'Hand broken machines to the guard',
});

/** What went wrong, in words: an activity's failure says only "Activity task failed"; its cause says why. */
function failureMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** An activity said this run no longer holds the audit lease. */
function leaseLost(error: unknown): error is ActivityFailure {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === AUDIT_LEASE_LOST;
}

function addCounts(into: Record<string, number>, more: Record<string, number>): Record<string, number> {
  const sum = { ...into };
  for (const [key, count] of Object.entries(more)) sum[key] = (sum[key] ?? 0) + count;
  return sum;
}

export async function fleetAuditWorkflow(input: FleetAuditInput): Promise<FleetAuditResult> {
  const settings: FleetAuditSettings = input.progress?.settings ?? { ...DEFAULT_FLEET_AUDIT_SETTINGS, ...input.settings };
  let auditId = input.auditId;
  if (auditId === undefined) {
    const opened = await bookkeeping.openAuditRun({ workflowId: workflowInfo().workflowId, trigger: input.trigger, requestedBy: input.requestedBy, leaseMs: settings.leaseMs });
    if (opened.skipped) {
      return { auditId: opened.auditId, state: 'skipped', probed: 0, healthy: 0, suspect: 0, broken: 0, batches: 0, admissions: {}, note: opened.note };
    }
    auditId = opened.auditId;
  }

  let after = input.progress?.after ?? null;
  let batches = input.progress?.batches ?? 0;
  let admissions = input.progress?.admissions ?? {};
  let batchesThisRun = 0;
  let continuing = false;
  try {
    for (;;) {
      const batch = await probing.probeAuditBatch({ auditId, after, settings });
      batches += 1;
      batchesThisRun += 1;
      if (batch.broken.length > 0) {
        const admitted = await admitting.admitBrokenSystems({ auditId, systems: batch.broken });
        admissions = addCounts(admissions, admitted.decisions);
      }
      after = batch.lastSystem ?? after;
      if (batch.done) break;
      if (batchesThisRun >= settings.batchesPerRun || workflowInfo().continueAsNewSuggested) {
        continuing = true;
        break;
      }
    }
  } catch (error) {
    if (leaseLost(error)) {
      // Superseded: the run is closed already (abandoned) and another audit holds the lease. Closing it again
      // changes nothing and gives its counts; nothing more is probed, recorded or admitted.
      const run = await CancellationScope.nonCancellable(() => bookkeeping.closeAuditRun({ auditId: auditId!, state: 'failed', note: null }));
      return abandonedResult(run, batches, admissions, failureMessage(error));
    }
    const note = isCancellation(error) ? 'cancelled' : `failed: ${failureMessage(error)}`;
    await CancellationScope.nonCancellable(() => bookkeeping.closeAuditRun({ auditId: auditId!, state: 'failed', note }));
    throw isCancellation(error) ? error : ApplicationFailure.create({ type: 'AuditFailed', message: `audit ${auditId} ${note}`, nonRetryable: true });
  }
  if (continuing) {
    // A big fleet: a fresh history for the next batches, carrying where this one got to.
    return continueAsNew<typeof fleetAuditWorkflow>({ trigger: input.trigger, requestedBy: input.requestedBy, auditId, progress: { settings, after, batches, admissions } });
  }
  const run = await bookkeeping.closeAuditRun({ auditId, state: 'finished', note: null });
  // Superseded between the last batch and the close: the run stays abandoned, never finished.
  if (run.state !== 'finished') return abandonedResult(run, batches, admissions, `audit ${auditId} was closed as ${run.state} before it finished${run.note ? ` (${run.note})` : ''}`);
  return { auditId, state: 'finished', probed: run.probed, healthy: run.healthy, suspect: run.suspect, broken: run.broken, batches, admissions, note: null };
}

function abandonedResult(
  run: { id: number; probed: number; healthy: number; suspect: number; broken: number },
  batches: number,
  admissions: Record<string, number>,
  note: string,
): FleetAuditResult {
  return { auditId: run.id, state: 'abandoned', probed: run.probed, healthy: run.healthy, suspect: run.suspect, broken: run.broken, batches, admissions, note };
}
