// Power activities for the workflows: thin over power/system-power. They heartbeat while a BMC is slow,
// stop when the activity is cancelled, and turn a BMC failure into a Temporal failure whose retryability
// follows its kind (bad credentials are never retried; an unreachable BMC is).
import { ApplicationFailure, Context } from '@temporalio/activity';
import { isRetryable, type BmcFailure } from '../power/errors.js';
import type { PowerChainRecord, PowerChainResult } from '../power/chain.js';
import type { BootDevice, PowerAction } from '../power/types.js';
import { BmcError } from '../power/errors.js';
import type { ActivityDependencies } from './dependencies.js';

export interface PowerActivityResult<T> {
  value: T;
  /** Which drivers were tried, which one did it and why the others failed: for the rescue's history. */
  record: PowerChainRecord;
}

function failureOf(failure: BmcFailure, record: PowerChainRecord | undefined): ApplicationFailure {
  return ApplicationFailure.create({
    type: `BmcError.${failure.kind}`,
    message: failure.message,
    nonRetryable: !isRetryable(failure.kind),
    details: record ? [record] : [],
  });
}

async function withHeartbeat<T>(run: (signal: AbortSignal) => Promise<PowerChainResult<T>>): Promise<PowerActivityResult<T>> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 2000);
  try {
    const result = await run(context.cancellationSignal);
    if (!result.ok) throw failureOf(result.failure, result.record);
    return { value: result.value, record: result.record };
  } catch (error) {
    if (error instanceof BmcError) throw failureOf(error.toFailure(), undefined);
    throw error;
  } finally {
    clearInterval(timer);
  }
}

export function createPowerActivities({ systemPower }: ActivityDependencies) {
  return {
    async getPowerState(input: { system: string }) {
      return withHeartbeat((signal) => systemPower.status(input.system, signal));
    },
    /** `rescueWorkflowId`: the rescue the operation is part of, when the caller is not its workflow (a reinstall, its child). */
    async setPowerState(input: { system: string; action: PowerAction; rescueWorkflowId?: string }) {
      const workflowId = input.rescueWorkflowId ?? Context.current().info.workflowExecution?.workflowId;
      return withHeartbeat((signal) => systemPower.set(input.system, input.action, signal, workflowId === undefined ? undefined : { workflowId }));
    },
    async setBootDevice(input: { system: string; device: BootDevice; uefi: boolean }) {
      return withHeartbeat((signal) => systemPower.setBootDevice(input.system, { device: input.device, uefi: input.uefi }, signal));
    },
  };
}
