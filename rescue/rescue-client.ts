// Starting and steering rescues through Temporal: one workflow ID per machine (rescue-<system>), so a
// second request for a machine joins the rescue that is running instead of starting another.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { RescueSystem } from '../temporal/search-attribute-keys.js';
import { callTemporal } from '../temporal/unavailable.js';
import { RESCUE_FAILED_FAILURE_TYPE, type AlertResolved, type ApprovalDecision, type PhoneHome, type RescueInput, type RescueOutcome, type RescueStatus } from '../workflows/rescue-types.js';

export const rescueWorkflowId = (system: string) => `rescue-${system}`;

/** Temporal's statuses of a run that has not ended: a paused run is still the machine's rescue. */
const RUNNING_STATUSES = new Set(['RUNNING', 'PAUSED']);

export class RescueNotRunningError extends Error {
  override readonly name = 'RescueNotRunningError';
}
export class RescueStateError extends Error {
  override readonly name = 'RescueStateError';
}

/** What Temporal says became of one workflow run: still running, or closed with the rescue's outcome. */
export type WorkflowFate =
  | { running: true }
  | {
      running: false;
      /** Temporal's own status: COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... or NOT_FOUND. */
      temporalStatus: string;
      outcome: RescueOutcome;
      error: string | null;
      /** The rescue's status as the workflow ended it (the result, or the failure's details), where Temporal has it. */
      status: RescueStatus | undefined;
    };

/** The closed rescue's status where Temporal holds none (cancelled, terminated): rebuilt from the run row. */
export type ClosedRunStatus = (workflowId: string, runId: string) => Promise<RescueStatus | undefined>;

/**
 * What a rescue's workflow is started with: its ID, its input, the search attribute that finds it by machine and
 * the summary the Temporal UI shows. One definition, used by every start (and by the webhook bench's bare loop,
 * so that it starts the same workflow the API does).
 */
export function rescueStartOptions(taskQueue: string, input: RescueInput) {
  return {
    taskQueue,
    workflowId: rescueWorkflowId(input.system),
    args: [input] as [RescueInput],
    typedSearchAttributes: [{ key: RescueSystem, value: input.system }],
    staticSummary: `Rescue ${input.system}: ${input.reason}`,
    staticDetails: `Requested by ${input.requestedBy}. Steps: identify, select image, push, power-cycle, await boot, diagnose, repair, reinstall, restore.`,
  };
}

export function createRescueClient(client: Client, options: { taskQueue: string; reconcileSystem?: (system: string) => Promise<void>; closedRunStatus?: ClosedRunStatus }) {
  const handleFor = (system: string) => client.workflow.getHandle(rescueWorkflowId(system));
  const temporal = <T>(run: () => Promise<T>) => callTemporal(client.connection, run);

  const startOptions = (input: RescueInput) => rescueStartOptions(options.taskQueue, input);

  async function runningRun(system: string): Promise<string | undefined> {
    try {
      const description = await handleFor(system).describe();
      return RUNNING_STATUSES.has(description.status.name) ? description.runId : undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  async function terminationReason(workflowId: string, runId: string): Promise<string | undefined> {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const last = history.events?.at(-1)?.workflowExecutionTerminatedEventAttributes;
    return last?.reason ?? undefined;
  }

  async function fateOf(workflowId: string, runId: string): Promise<WorkflowFate> {
    return temporal(async () => {
      const handle = client.workflow.getHandle(workflowId, runId, { followRuns: false });
      let temporalStatus: string;
      try {
        temporalStatus = (await handle.describe()).status.name;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          return { running: false, temporalStatus: 'NOT_FOUND', outcome: 'failed', error: 'Temporal has no record of this workflow run (deleted, or past its retention)', status: undefined };
        }
        throw error;
      }
      switch (temporalStatus) {
        case 'RUNNING':
        case 'PAUSED':
          return { running: true };
        case 'COMPLETED': {
          const result = (await handle.result()) as { outcome?: RescueOutcome; status?: RescueStatus } | undefined;
          return { running: false, temporalStatus, outcome: result?.outcome ?? 'needs-attention', error: result?.status?.error ?? null, status: result?.status };
        }
        case 'FAILED': {
          try {
            await handle.result();
          } catch (error) {
            if (error instanceof WorkflowFailedError) {
              const cause = error.cause;
              const status = cause instanceof ApplicationFailure && cause.type === RESCUE_FAILED_FAILURE_TYPE ? (cause.details?.[0] as RescueStatus | undefined) : undefined;
              return { running: false, temporalStatus, outcome: 'failed', error: status?.error ?? cause?.message ?? error.message, status };
            }
            throw error;
          }
          return { running: false, temporalStatus, outcome: 'failed', error: 'the workflow failed', status: undefined };
        }
        case 'CANCELLED':
          return { running: false, temporalStatus, outcome: 'aborted', error: 'the workflow was cancelled in Temporal', status: undefined };
        case 'TERMINATED': {
          const reason = await terminationReason(workflowId, runId).catch(() => undefined);
          return { running: false, temporalStatus, outcome: 'aborted', error: `the workflow was terminated in Temporal${reason ? `: ${reason}` : ''}`, status: undefined };
        }
        case 'TIMED_OUT':
          return { running: false, temporalStatus, outcome: 'failed', error: 'the workflow timed out in Temporal', status: undefined };
        default:
          return { running: false, temporalStatus, outcome: 'failed', error: `the workflow ended ${temporalStatus} in Temporal`, status: undefined };
      }
    });
  }

  return {
    async start(input: RescueInput): Promise<{ workflowId: string; runId: string; joined: boolean }> {
      return temporal(async () => {
        const before = await runningRun(input.system);
        // No workflow runs for it: a run left open by a workflow that ended without closing it is closed first.
        if (before === undefined) await options.reconcileSystem?.(input.system);
        try {
          const handle = await client.workflow.start('rescueWorkflow', { ...startOptions(input), workflowIdConflictPolicy: 'USE_EXISTING' });
          return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, joined: before !== undefined && before === handle.firstExecutionRunId };
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError && before) return { workflowId: rescueWorkflowId(input.system), runId: before, joined: true };
          throw error;
        }
      });
    },
    /**
     * Starts a rescue the guard admitted: it saw, under its lock, no open run or slot of the machine, so
     * there is nothing to reconcile and no running workflow to look for first. One call to Temporal, like a
     * bare start; a rescue that started meanwhile (an operator's, racing) makes it fail, and the request
     * joins that one.
     */
    async startAdmitted(input: RescueInput): Promise<{ workflowId: string; joined: boolean }> {
      return temporal(async () => {
        try {
          const handle = await client.workflow.start('rescueWorkflow', { ...startOptions(input), workflowIdConflictPolicy: 'FAIL' });
          return { workflowId: handle.workflowId, joined: false };
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId: rescueWorkflowId(input.system), joined: true };
          throw error;
        }
      });
    },
    /**
     * The rescue of a machine: a running one as the workflow answers its query; a closed one from its
     * result or failure details, or from its run row (a cancelled or terminated workflow has neither).
     */
    async status(system: string): Promise<{ workflowId: string; runId: string; running: boolean; status: RescueStatus }> {
      return temporal(async () => {
        const handle = handleFor(system);
        let description;
        try {
          description = await handle.describe();
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) throw new RescueNotRunningError(`no rescue of "${system}" is known to Temporal`);
          throw error;
        }
        const running = description.status.name === 'RUNNING';
        if (running) return { workflowId: handle.workflowId, runId: description.runId, running, status: await handle.query<RescueStatus>('status') };
        const fate = await fateOf(handle.workflowId, description.runId);
        const status = (fate.running ? undefined : fate.status) ?? (await options.closedRunStatus?.(handle.workflowId, description.runId));
        if (status === undefined) throw new RescueNotRunningError(`the last rescue of "${system}" ended (${description.status.name}) and left no record`);
        return { workflowId: handle.workflowId, runId: description.runId, running, status };
      });
    },
    async decideReinstall(system: string, approve: boolean, decision: ApprovalDecision): Promise<RescueStatus> {
      return temporal(async () => {
        if ((await runningRun(system)) === undefined) throw new RescueNotRunningError(`no rescue of "${system}" is running`);
        try {
          return await handleFor(system).executeUpdate<RescueStatus, [ApprovalDecision]>(approve ? 'approveReinstall' : 'rejectReinstall', { args: [decision] });
        } catch (error) {
          if (error instanceof WorkflowUpdateFailedError) throw new RescueStateError((error.cause as Error | undefined)?.message ?? error.message);
          throw error;
        }
      });
    },
    /** Who aborts and why (a signal), then Temporal's cancellation, so the workflow ends CANCELLED. */
    async abort(system: string, request: { by: string; reason: string }): Promise<void> {
      return temporal(async () => {
        const runId = await runningRun(system);
        if (runId === undefined) throw new RescueNotRunningError(`no rescue of "${system}" is running`);
        const handle = client.workflow.getHandle(rescueWorkflowId(system), runId);
        await handle.signal('abort', request);
        await handle.cancel();
      });
    },
    /** Whether a rescue of the machine runs in Temporal now. */
    /** The machine's latest rescue run in Temporal, running or not, and when it started; undefined when Temporal has none. */
    async latestRun(system: string): Promise<{ running: boolean; startedAt: Date } | undefined> {
      return temporal(async () => {
        try {
          const description = await handleFor(system).describe();
          return { running: RUNNING_STATUSES.has(description.status.name), startedAt: description.startTime };
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) return undefined;
          throw error;
        }
      });
    },
    /** Tells the machine's running rescue that its alert resolved; false when none runs. */
    async alertResolved(system: string, resolved: AlertResolved): Promise<boolean> {
      try {
        await handleFor(system).signal('alertResolved', resolved);
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },
    async phoneHome(workflowId: string, call: PhoneHome): Promise<void> {
      await temporal(() => client.workflow.getHandle(workflowId).signal('phoneHome', call));
    },
    fateOf,
    /** Ends a workflow run without its cleanup (the caller cleans up): for an operator closing a stuck rescue. */
    async terminate(workflowId: string, runId: string, reason: string): Promise<void> {
      await temporal(() => client.workflow.getHandle(workflowId, runId, { followRuns: false }).terminate(reason));
    },
  };
}

export type RescueClient = ReturnType<typeof createRescueClient>;
