// rescueWorkflow: one machine, end to end, as the table in DESIGN.md reads. Deterministic orchestration
// only: every side effect is an activity, with its timeout and retry policy written where it is called.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { RescueMac, RescueOutcome, RescueStep, RescueSystem } from '../temporal/search-attribute-keys.js';
import { reinstallWorkflow } from './reinstall.js';
import { reissuedAfterLostWorkers } from './lost-workers.js';
import { powerCycle } from './power-cycle.js';
import { rescueMetrics } from './rescue-metrics.js';
import {
  DEFAULT_RESCUE_TIMINGS,
  RESCUE_FAILED_FAILURE_TYPE,
  type AlertResolved,
  type ApprovalDecision,
  type FindingSummary,
  type MachineIdentity,
  type PhoneHome,
  type RescueInput,
  type RescueOutcome as Outcome,
  type RescueState,
  type RescueStatus,
  type VerificationVerdict,
} from './rescue-types.js';

export const rescueStatusQuery = defineQuery<RescueStatus>('status');
export const phoneHomeSignal = defineSignal<[PhoneHome]>('phoneHome');
export const abortRescueSignal = defineSignal<[{ by: string; reason: string }]>('abort');
/** The alert that started this rescue resolved; before any power cycle that ends the rescue. */
export const alertResolvedSignal = defineSignal<[AlertResolved]>('alertResolved');
export const approveReinstallUpdate = defineUpdate<RescueStatus, [ApprovalDecision]>('approveReinstall');
export const rejectReinstallUpdate = defineUpdate<RescueStatus, [ApprovalDecision]>('rejectReinstall');

/** Activities with a one-line summary, so the Temporal UI's history reads like the step table. */
function activity(summary: string, options: ActivityOptions): Activities {
  return reissuedAfterLostWorkers(proxyActivities<Activities>({ ...options, summary }));
}
const quick: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumAttempts: 10 } };
const bmc: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // The power activities heartbeat every 2 s (activities/power.ts), but the SDK sends at most one heartbeat per
  // 80% of this timeout, so the slack is a fifth of it: at 10 s a loaded worker's 2 s of event-loop lag failed
  // live calls (the cluster test under CI load). 30 s keeps 6 s of slack; a dead worker costs 30 s.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['BmcError.auth', 'BmcError.tls', 'BmcError.invalid-config', 'BmcError.unsupported'] },
};
/**
 * What runs after a rescue ends (remove its boot config, close its run) must happen whatever it takes: retried
 * without limit, backing off to one try every 5 minutes, so a database that is down for an hour delays the
 * cleanup instead of leaving a machine looping into the rescue image.
 */
const untilDone: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' } }; // no maximumAttempts: unlimited
const overSsh: ActivityOptions = { startToCloseTimeout: '20 minutes', heartbeatTimeout: '1 minute', retry: { initialInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['SshError.host-key-mismatch', 'SshError.auth'] } };

const BEFORE_POWER = new Set<RescueState>(['identifying', 'selecting', 'pushing']);
const PROBLEM_SEVERITIES = new Set(['warning', 'critical']);
const problemsIn = (findings: FindingSummary[]) => findings.filter((f) => PROBLEM_SEVERITIES.has(f.severity));

export interface RescueResult {
  outcome: Outcome;
  status: RescueStatus;
}

export async function rescueWorkflow(input: RescueInput): Promise<RescueResult> {
  const timings = { ...DEFAULT_RESCUE_TIMINGS, ...input.timings };
  const { workflowId, runId } = workflowInfo();
  const status: RescueStatus = {
    system: input.system,
    state: 'identifying',
    reason: input.reason,
    requestedBy: input.requestedBy,
    environment: null,
    policy: null,
    powerCycles: 0,
    steps: [],
    findings: [],
    findingsBeforeRepair: null,
    repairs: [],
    evidence: {},
    outcome: null,
    error: null,
    awaitingApprovalSince: null,
  };
  let machine: MachineIdentity | undefined;
  let handshakeId: string | undefined;
  let phoneHome: PhoneHome | undefined;
  let decision: { approved: boolean; by: string; comment?: string } | undefined;
  let abort: { by: string; reason: string } | undefined;
  let resolvedBeforeAction: AlertResolved | undefined;
  const main = new CancellationScope();

  setHandler(rescueStatusQuery, () => status);
  setHandler(phoneHomeSignal, (call) => {
    // Only the handshake of this rescue counts, and only its first call: the API has already checked the
    // token and refuses a second call, and a second signal could only come from a replayed request.
    if (call.handshakeId === handshakeId && phoneHome === undefined) phoneHome = call;
  });
  setHandler(abortRescueSignal, (request) => {
    abort = request;
    main.cancel();
  });
  setHandler(alertResolvedSignal, (resolved) => {
    const resolutions = (status.evidence.alertsResolved as AlertResolved[] | undefined) ?? [];
    status.evidence.alertsResolved = [...resolutions, resolved];
    // Nothing has been done to the machine yet: there is nothing left to rescue.
    if (resolved.endsRescue !== false && status.powerCycles === 0 && BEFORE_POWER.has(status.state) && resolvedBeforeAction === undefined && abort === undefined) {
      resolvedBeforeAction = resolved;
      main.cancel();
    }
  });
  const decide = (approved: boolean) => (call: ApprovalDecision) => {
    decision = { approved, by: call.by, ...(call.comment ? { comment: call.comment } : {}) };
    return status;
  };
  const expectApproval = () => {
    if (status.state !== 'awaiting-approval') throw new Error(`no reinstall is waiting for approval (the rescue is ${status.state})`);
  };
  setHandler(approveReinstallUpdate, decide(true), { validator: (_decision: ApprovalDecision) => expectApproval() });
  setHandler(rejectReinstallUpdate, decide(false), { validator: (_decision: ApprovalDecision) => expectApproval() });

  const bookkeeping = activity('Record rescue progress', quick);
  function enter(state: RescueState, detail?: string): void {
    const now = new Date().toISOString();
    const open = status.steps.at(-1);
    if (open && open.finishedAt === null) {
      open.finishedAt = now;
      open.outcome = 'done';
      stepEnded(open);
    }
    status.state = state;
    status.steps.push({ step: state, startedAt: now, finishedAt: null, outcome: 'running', ...(detail ? { detail } : {}) });
    upsertSearchAttributes([{ key: RescueStep, value: state }]);
  }
  function stepEnded(step: RescueStatus['steps'][number]): void {
    rescueMetrics.stepEnded(step.step, step.outcome, (Date.parse(step.finishedAt!) - Date.parse(step.startedAt)) / 1000);
  }
  async function record(): Promise<void> {
    await bookkeeping.recordRescueProgress({ workflowId, runId, state: status.state, environment: status.environment, steps: status.steps, evidence: status.evidence });
  }

  // ---- the steps, in the order of DESIGN.md's table ----

  async function identify(): Promise<MachineIdentity> {
    enter('identifying');
    const identity = await activity(`Identify ${input.system}`, { ...quick, retry: { ...quick.retry, nonRetryableErrorTypes: ['RescueRefused'] } }).identifyMachine({
      system: input.system,
      workflowId,
      runId,
      reason: input.reason,
      requestedBy: input.requestedBy,
    });
    status.policy = identity.policy;
    // Search attributes are not encrypted by the payload codec: they hold IDs and step names only. Rescues
    // from before this change also indexed the MAC (an address); they keep doing so on replay.
    upsertSearchAttributes(
      patched('no-address-in-search-attributes')
        ? [{ key: RescueSystem, value: identity.system }]
        : [
            { key: RescueSystem, value: identity.system },
            { key: RescueMac, value: identity.mac },
          ],
    );
    return identity;
  }

  async function selectImage(): Promise<string> {
    enter('selecting');
    const selection = await activity(`Select a rescue environment for ${input.system}`, { ...quick, retry: { ...quick.retry, nonRetryableErrorTypes: ['NoRescueEnvironment'] } }).selectRescueEnvironment({ system: input.system });
    status.environment = selection.environment;
    status.evidence.selection = selection.reason;
    await record();
    return selection.environment;
  }

  async function push(environment: string): Promise<string> {
    enter('pushing');
    const pushed = await activity(`Push ${environment} boot config for ${input.system}`, quick).pushRescueBootConfig({ system: input.system, environment, workflowId });
    return pushed.handshakeId;
  }

  async function powerCycleIntoNetwork(identity: MachineIdentity): Promise<void> {
    enter('power-cycling', `attempt ${status.powerCycles + 1}`);
    const power = activity(`Network-boot ${input.system} (bootdev pxe, power cycle)`, bmc);
    const bootdev = await power.setBootDevice({ system: input.system, device: 'pxe', uefi: identity.firmware === 'uefi' });
    const calls = await powerCycle(power, input.system);
    status.powerCycles += 1;
    status.evidence.power = { bootdevVia: bootdev.record.succeededWith, cycleVia: calls.at(-1)!.record.succeededWith, attempts: calls.flatMap((call) => call.record.attempts.map((a) => ({ driver: a.driver, outcome: a.outcome, failure: a.failure?.message ?? null }))) };
  }

  async function awaitBoot(identity: MachineIdentity): Promise<PhoneHome> {
    for (;;) {
      await powerCycleIntoNetwork(identity);
      enter('awaiting-phone-home');
      await record();
      if (await condition(() => phoneHome !== undefined, timings.phoneHomeTimeoutMs)) {
        status.evidence.phoneHome = { ip: phoneHome!.ip, hostKey: phoneHome!.hostKeyFingerprint, afterPowerCycles: status.powerCycles };
        return phoneHome!;
      }
      const seen = await activity(`Collect boot evidence of ${input.system}`, quick).collectBootEvidence({ system: input.system, workflowId });
      status.evidence.bootFetches = seen.fetches;
      if (status.powerCycles >= timings.maxPowerCycles) {
        throw ApplicationFailure.nonRetryable(
          `${input.system} did not phone home after ${status.powerCycles} power cycle(s) of ${Math.round(timings.phoneHomeTimeoutMs / 1000)} s each; ${seen.summary}`,
          'PhoneHomeTimeout',
        );
      }
    }
  }

  /** The phone-home the SSH activities pin: its address and the host key fingerprint it announced. */
  function pinned(): { ip: string; sshPort: number; hostKeyFingerprint: string } {
    return { ip: phoneHome!.ip, sshPort: phoneHome!.sshPort, hostKeyFingerprint: phoneHome!.hostKeyFingerprint };
  }

  async function diagnose(): Promise<FindingSummary[]> {
    enter('diagnosing');
    const report = await activity(`Diagnose ${input.system} over SSH`, overSsh).diagnoseMachine({ workflowId, runId, handshakeId: handshakeId!, phoneHome: pinned() });
    status.findings = report.findings;
    await record();
    return report.findings;
  }

  async function repair(): Promise<FindingSummary[]> {
    enter('repairing');
    const result = await activity(`Repair ${input.system} over SSH`, overSsh).repairMachine({ workflowId, runId, handshakeId: handshakeId!, phoneHome: pinned() });
    // Both diagnoses stay in the status: what was wrong, and what is wrong after the playbooks.
    status.findingsBeforeRepair = status.findings;
    status.findings = result.findingsAfter;
    status.repairs = result.changes;
    await record();
    return result.findingsAfter;
  }

  async function awaitApproval(identity: MachineIdentity): Promise<boolean> {
    if (identity.automaticReinstall) return true;
    enter('awaiting-approval', `reinstall ${identity.previousInstall!.profile}`);
    status.awaitingApprovalSince = new Date().toISOString();
    await record();
    const decided = await condition(() => decision !== undefined, timings.approvalTimeoutMs);
    status.awaitingApprovalSince = null;
    if (!decided) {
      status.evidence.approval = `no decision within ${Math.round(timings.approvalTimeoutMs / 1000)} s`;
      return false;
    }
    status.evidence.approval = `${decision!.approved ? 'approved' : 'rejected'} by ${decision!.by}${decision!.comment ? `: ${decision!.comment}` : ''}`;
    return decision!.approved;
  }

  async function reinstall(identity: MachineIdentity): Promise<void> {
    enter('reinstalling', identity.previousInstall!.profile);
    await record();
    await executeChild(reinstallWorkflow, {
      workflowId: `${workflowId}-reinstall`,
      args: [{ system: input.system, profile: identity.previousInstall!.profile, uefi: identity.firmware === 'uefi', installTimeoutMs: timings.installTimeoutMs, owner: workflowId }],
      staticSummary: `Reinstall ${input.system} with ${identity.previousInstall!.profile}`,
    });
  }

  async function restore(identity: MachineIdentity): Promise<VerificationVerdict> {
    enter('restoring');
    await activity(`Remove the rescue boot config of ${input.system}`, quick).clearRescueBootConfig({ system: input.system, workflowId });
    const power = activity(`Boot ${input.system} from disk (bootdev disk, power cycle)`, bmc);
    await power.setBootDevice({ system: input.system, device: 'disk', uefi: identity.firmware === 'uefi' });
    await powerCycle(power, input.system);
    // The verification answers down instead of failing, so a retry only follows a lost worker (heartbeat timeout)
    // or an unreadable inventory: the machine's answer is never asked twice for the same boot.
    const verified = await activity(`Verify ${input.system} is back`, { startToCloseTimeout: timings.verifyTimeoutMs + 60_000, heartbeatTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumAttempts: 3 } }).verifyMachineUp({
      system: input.system,
      timeoutMs: timings.verifyTimeoutMs,
    });
    status.evidence.verification = verified.detail;
    // Histories recorded before `verdict` existed carry only `up`.
    return verified.verdict ?? (verified.up ? 'up' : 'down');
  }
  /** The outcome a restore's verification allows: success only when the machine's OS answered. */
  const ended = (success: 'repaired' | 'reinstalled', verdict: VerificationVerdict): Outcome => (verdict === 'up' ? success : verdict === 'unverified' ? 'unverified' : 'needs-attention');

  // ---- the rescue ----

  async function rescue(): Promise<Outcome> {
    machine = await identify();
    const environment = await selectImage();
    handshakeId = await push(environment);
    await awaitBoot(machine);
    const findings = await diagnose();
    if (machine.policy === 'diagnose-only') {
      await restore(machine);
      return 'needs-attention';
    }
    const remaining = problemsIn(findings).length > 0 ? problemsIn(await repair()) : [];
    if (remaining.length === 0) return ended('repaired', await restore(machine));
    if (machine.policy !== 'repair-then-reinstall' || machine.previousInstall === null) {
      status.evidence.reinstall = machine.previousInstall === null ? 'no finished install in the history to reinstall' : `policy ${machine.policy} does not allow a reinstall`;
      await restore(machine);
      return 'needs-attention';
    }
    if (!(await awaitApproval(machine))) {
      await restore(machine);
      return 'needs-attention';
    }
    await reinstall(machine);
    return ended('reinstalled', await restore(machine));
  }

  let outcome: Outcome;
  try {
    outcome = await main.run(rescue);
  } catch (error) {
    if (isCancellation(error) && resolvedBeforeAction !== undefined) {
      outcome = 'resolved-before-action';
      status.evidence.resolvedBeforeAction = `${resolvedBeforeAction.alert} resolved (${resolvedBeforeAction.by}) before any power cycle`;
    } else if (isCancellation(error)) {
      outcome = 'aborted';
      status.error = abort ? `aborted by ${abort.by}: ${abort.reason}` : 'cancelled';
    } else {
      outcome = 'failed';
      status.error = describeFailure(error);
    }
  } finally {
    // Whatever happened, no machine is left looping into the rescue image.
    await CancellationScope.nonCancellable(async () => {
      const open = status.steps.at(-1);
      if (open && open.finishedAt === null) {
        open.finishedAt = new Date().toISOString();
        open.outcome = status.error === null ? 'done' : 'interrupted';
        stepEnded(open);
      }
      await activity(`Clean up the rescue boot config of ${input.system}`, untilDone).clearRescueBootConfig({ system: input.system, workflowId });
    });
  }
  status.outcome = outcome;
  status.state = outcome;
  rescueMetrics.rescueEnded(outcome);
  upsertSearchAttributes([
    { key: RescueStep, value: outcome },
    { key: RescueOutcome, value: outcome },
  ]);
  await CancellationScope.nonCancellable(() =>
    activity('Close the rescue run', untilDone).closeRescueRun({ workflowId, runId, outcome, error: status.error, steps: status.steps, evidence: status.evidence }),
  );
  // Temporal's own status tells the truth: a failed rescue fails the workflow (red in the UI, the status as
  // the failure's details), an aborted one ends cancelled. Histories from before this change completed.
  if ((outcome === 'failed' || outcome === 'aborted') && patched('rescue-status-in-temporal')) {
    if (outcome === 'aborted') throw new CancelledFailure(status.error ?? 'aborted');
    throw ApplicationFailure.create({ type: RESCUE_FAILED_FAILURE_TYPE, message: status.error ?? 'the rescue failed', nonRetryable: true, details: [status] });
  }
  return { outcome, status };
}

function describeFailure(error: unknown): string {
  let current: unknown = error;
  // An ActivityFailure wraps the activity's own ApplicationFailure: the inner message is the useful one.
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(error);
}
