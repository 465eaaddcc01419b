// Starting and steering rescues through Temporal: one workflow ID per machine (rescue-<system>), so a
// second request for a machine joins the rescue that is running instead of starting another.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { RescueSystem } from '../temporal/search-attribute-keys.js';
import type { AlertResolved, ApprovalDecision, PhoneHome, RescueInput, RescueStatus } from '../workflows/rescue-types.js';

export const rescueWorkflowId = (system: string) => `rescue-${system}`;

export class RescueNotRunningError extends Error {
  override readonly name = 'RescueNotRunningError';
}
export class RescueStateError extends Error {
  override readonly name = 'RescueStateError';
}

export function createRescueClient(client: Client, options: { taskQueue: string }) {
  const handleFor = (system: string) => client.workflow.getHandle(rescueWorkflowId(system));

  async function runningRun(system: string): Promise<string | undefined> {
    try {
      const description = await handleFor(system).describe();
      return description.status.name === 'RUNNING' ? description.runId : undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  return {
    async start(input: RescueInput): Promise<{ workflowId: string; runId: string; joined: boolean }> {
      const before = await runningRun(input.system);
      try {
        const handle = await client.workflow.start('rescueWorkflow', {
          taskQueue: options.taskQueue,
          workflowId: rescueWorkflowId(input.system),
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [{ key: RescueSystem, value: input.system }],
          staticSummary: `Rescue ${input.system}: ${input.reason}`,
          staticDetails: `Requested by ${input.requestedBy}. Steps: identify, select image, push, power-cycle, await boot, diagnose, repair, reinstall, restore.`,
        });
        return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, joined: before !== undefined && before === handle.firstExecutionRunId };
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError && before) return { workflowId: rescueWorkflowId(input.system), runId: before, joined: true };
        throw error;
      }
    },
    /** The live status of the running (or last) rescue of a machine, from the workflow itself. */
    async status(system: string): Promise<{ workflowId: string; runId: string; running: boolean; status: RescueStatus }> {
      const handle = handleFor(system);
      try {
        const description = await handle.describe();
        const status = await handle.query<RescueStatus>('status');
        return { workflowId: handle.workflowId, runId: description.runId, running: description.status.name === 'RUNNING', status };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new RescueNotRunningError(`no rescue of "${system}" is known to Temporal`);
        throw error;
      }
    },
    async decideReinstall(system: string, approve: boolean, decision: ApprovalDecision): Promise<RescueStatus> {
      if ((await runningRun(system)) === undefined) throw new RescueNotRunningError(`no rescue of "${system}" is running`);
      try {
        return await handleFor(system).executeUpdate<RescueStatus, [ApprovalDecision]>(approve ? 'approveReinstall' : 'rejectReinstall', { args: [decision] });
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) throw new RescueStateError((error.cause as Error | undefined)?.message ?? error.message);
        throw error;
      }
    },
    async abort(system: string, request: { by: string; reason: string }): Promise<void> {
      if ((await runningRun(system)) === undefined) throw new RescueNotRunningError(`no rescue of "${system}" is running`);
      await handleFor(system).signal('abort', request);
    },
    /** Whether a rescue of the machine runs in Temporal now. */
    async isRunning(system: string): Promise<boolean> {
      return (await runningRun(system)) !== undefined;
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
      await client.workflow.getHandle(workflowId).signal('phoneHome', call);
    },
  };
}

export type RescueClient = ReturnType<typeof createRescueClient>;
