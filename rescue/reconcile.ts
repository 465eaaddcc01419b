// Rescue runs kept true to Temporal. A run row is closed by its own workflow; a workflow that is
// terminated, times out, or is lost never closes it, and the machine would stay "already being rescued"
// with its rescue boot config in place. The reconciler closes such runs with what Temporal says became of
// the workflow and removes what the rescue left behind. It runs at API and worker start, periodically,
// before a start of a machine with an open run, and for an operator's `rescue close`.
import type { Inventory } from '../db/inventory.js';
import type { RescueRunView } from '../db/repositories/rescues.js';
import { RescueNotRunningError, type WorkflowFate } from './rescue-client.js';
import type { RescueStatus } from '../workflows/rescue-types.js';

export interface RescueReconcilerDependencies {
  inventory: Pick<Inventory, 'rescues' | 'boot' | 'events'>;
  temporal: {
    fateOf(workflowId: string, runId: string): Promise<WorkflowFate>;
    terminate(workflowId: string, runId: string, reason: string): Promise<void>;
  };
}

export interface ReconcileReport {
  checked: number;
  closed: Array<{ system: string; workflowId: string; outcome: string; error: string | null }>;
  /** Runs that could not be checked (Temporal did not answer): left open, tried again next time. */
  failures: Array<{ system: string; message: string }>;
}

/** The boot config owners a rescue may leave: its own, and its reinstall child's. */
const ownersOf = (workflowId: string) => [workflowId, `${workflowId}-reinstall`];

export function createRescueReconciler(dependencies: RescueReconcilerDependencies) {
  const { inventory, temporal } = dependencies;

  /** Removes what the rescue left (boot config, live tokens) and closes its run; records who did it. */
  async function closeRun(run: RescueRunView, outcome: string, error: string | null, actor: string): Promise<RescueRunView | undefined> {
    await inventory.rescues.deleteHandshakes(run.workflowId);
    for (const owner of ownersOf(run.workflowId)) {
      const removed = await inventory.boot.clearOverride(run.system, owner).catch(() => false);
      if (removed) await inventory.events.record({ kind: 'rescue.boot-config-removed', objectType: 'system', objectName: run.system, actor, detail: { workflowId: owner } });
    }
    const closed = await inventory.rescues.closeIfOpen(run.workflowId, run.runId, outcome, error);
    if (closed) await inventory.events.record({ kind: `rescue.${outcome}`, objectType: 'system', objectName: run.system, actor, detail: { workflowId: run.workflowId, runId: run.runId, ...(error ? { error } : {}) } });
    return closed;
  }

  async function reconcileRun(run: RescueRunView): Promise<RescueRunView | undefined> {
    const fate = await temporal.fateOf(run.workflowId, run.runId);
    if (fate.running) return undefined;
    return closeRun(run, fate.outcome, fate.error, 'reconciler');
  }

  return {
    reconcileRun,
    /** Every open run against Temporal; a run Temporal cannot be asked about stays open. */
    async reconcileAll(): Promise<ReconcileReport> {
      const report: ReconcileReport = { checked: 0, closed: [], failures: [] };
      for (const run of await inventory.rescues.openRuns()) {
        report.checked += 1;
        try {
          const closed = await reconcileRun(run);
          if (closed) report.closed.push({ system: closed.system, workflowId: closed.workflowId, outcome: closed.outcome ?? '', error: closed.error });
        } catch (error) {
          report.failures.push({ system: run.system, message: (error as Error).message });
        }
      }
      return report;
    },
    /** The machine's open run, if its workflow has ended. */
    async reconcileSystem(system: string): Promise<void> {
      const run = await inventory.rescues.openRunOf(system);
      if (run !== undefined) await reconcileRun(run);
    },
    /**
     * An operator closes the machine's open run: a workflow still running is terminated first (its
     * cleanup is done here instead), then the run closes with the operator's reason.
     */
    async closeByOperator(system: string, request: { by: string; reason: string }): Promise<RescueRunView> {
      const run = await inventory.rescues.openRunOf(system);
      if (run === undefined) throw new RescueNotRunningError(`"${system}" has no open rescue run to close`);
      const fate = await temporal.fateOf(run.workflowId, run.runId);
      const note = `closed by ${request.by}: ${request.reason}`;
      if (fate.running) await temporal.terminate(run.workflowId, run.runId, note);
      const outcome = fate.running ? 'aborted' : fate.outcome;
      const error = fate.running || fate.error === null ? note : `${note} (the workflow had ended: ${fate.error})`;
      return (await closeRun(run, outcome, error, request.by)) ?? (await inventory.rescues.get(run.workflowId, run.runId));
    },
  };
}

export type RescueReconciler = ReturnType<typeof createRescueReconciler>;

function findingsOf(diagnosis: Record<string, unknown> | null): RescueStatus['findings'] {
  return ((diagnosis as { findings?: RescueStatus['findings'] } | null)?.findings ?? []).map((f) => ({ id: f.id, probe: f.probe, severity: f.severity, subject: f.subject, summary: f.summary, repair: f.repair ?? null }));
}

/** A closed rescue's status rebuilt from its run row, for workflows that ended with no result to read. */
export function statusFromRun(run: RescueRunView): RescueStatus {
  const policy = null;
  return {
    system: run.system,
    state: (run.outcome ?? run.state) as RescueStatus['state'],
    reason: run.reason,
    requestedBy: run.requestedBy,
    environment: run.environment,
    policy,
    powerCycles: typeof (run.evidence as { power?: unknown }).power === 'object' ? run.steps.filter((s) => s.step === 'power-cycling').length : 0,
    steps: run.steps,
    findings: findingsOf(run.diagnosis),
    findingsBeforeRepair: run.diagnosisBeforeRepair ? findingsOf(run.diagnosisBeforeRepair) : null,
    repairs: run.repairs.map((r) => ({ playbook: String(r.playbook ?? ''), subject: String(r.subject ?? ''), changed: r.changed === true, ...(typeof r.status === 'string' ? { status: r.status } : {}) })),
    evidence: run.evidence,
    outcome: (run.outcome ?? null) as RescueStatus['outcome'],
    error: run.error,
    awaitingApprovalSince: null,
  };
}

/** Runs the reconciler now and then every intervalMs until stopped; reports what it closed. */
export function startPeriodicReconcile(reconciler: RescueReconciler, options: { intervalMs: number; log: (line: string) => void }): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = () => {
    running = reconciler
      .reconcileAll()
      .then((report) => {
        for (const closed of report.closed) options.log(`reconcile: closed the rescue run of ${closed.system} (${closed.workflowId}) as ${closed.outcome}: ${closed.error ?? ''}`);
        if (report.failures.length > 0) options.log(`reconcile: ${report.failures.length} open run(s) could not be checked (${report.failures[0]!.message}); trying again later`);
      })
      .catch((error: Error) => options.log(`reconcile: ${error.message}; trying again later`));
  };
  pass();
  const timer = setInterval(() => {
    if (!stopped) pass();
  }, options.intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
