// reinstallWorkflow: put back the profile a machine last ran. Writes the install boot config, network-
// boots the machine, and follows the install through its status callbacks (install history).
import { ApplicationFailure, CancellationScope, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { reissuedAfterLostWorkers } from './lost-workers.js';
import { powerCycle } from './power-cycle.js';

export interface ReinstallInput {
  system: string;
  profile: string;
  uefi: boolean;
  installTimeoutMs: number;
  /** The rescue this reinstall belongs to. */
  owner: string;
}

const quick: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 10 } };
const bmc: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['BmcError.auth', 'BmcError.tls', 'BmcError.invalid-config', 'BmcError.unsupported'] },
};

export async function reinstallWorkflow(input: ReinstallInput): Promise<{ outcome: string; finishedAt: string | null }> {
  const { workflowId } = workflowInfo();
  const { pushInstallBootConfig } = proxyActivities<Activities>({ ...quick, summary: `Install boot config for ${input.system}` });
  // The install config must go whatever happens: retried without limit, backing off (as the rescue's cleanup).
  const { clearRescueBootConfig } = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
    summary: `Remove the install boot config of ${input.system}`,
  });
  const power = reissuedAfterLostWorkers(proxyActivities<Activities>({ ...bmc, summary: `Network-boot ${input.system} into its installer` }));
  const { awaitInstallOutcome } = reissuedAfterLostWorkers(proxyActivities<Activities>({
    startToCloseTimeout: input.installTimeoutMs + 60_000,
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 3 },
    summary: `Follow the install of ${input.profile} on ${input.system}`,
  }));
  const pushed = await pushInstallBootConfig({ system: input.system, profile: input.profile, owner: workflowId });
  try {
    await power.setBootDevice({ system: input.system, device: 'pxe', uefi: input.uefi });
    await powerCycle(power, input.system, input.owner);
    const result = await awaitInstallOutcome({ system: input.system, since: pushed.since, timeoutMs: input.installTimeoutMs });
    if (result.outcome !== 'success') throw ApplicationFailure.nonRetryable(`the install of ${input.profile} on ${input.system} ended ${result.outcome}`, 'InstallFailed');
    return result;
  } finally {
    await CancellationScope.nonCancellable(() => clearRescueBootConfig({ system: input.system, workflowId }));
  }
}
