// The rescue's vocabulary, shared by the workflow, its activities, the API and the CLI. JSON-plain only.

/** Named as plainly as Ironic names its rescue states. */
export const RESCUE_STATES = [
  'identifying',
  'selecting',
  'pushing',
  'power-cycling',
  'awaiting-phone-home',
  'diagnosing',
  'repairing',
  'awaiting-approval',
  'reinstalling',
  'restoring',
  'repaired',
  'reinstalled',
  'unverified',
  'needs-attention',
  'failed',
  'aborted',
  'resolved-before-action',
] as const;
export type RescueState = (typeof RESCUE_STATES)[number];
export type RescueOutcome = Extract<RescueState, 'repaired' | 'reinstalled' | 'unverified' | 'needs-attention' | 'failed' | 'aborted' | 'resolved-before-action'>;
export const RESCUE_OUTCOMES: readonly RescueOutcome[] = ['repaired', 'reinstalled', 'unverified', 'needs-attention', 'failed', 'aborted', 'resolved-before-action'];

/** The type of the ApplicationFailure a failed rescue fails its workflow with; its details are the RescueStatus. */
export const RESCUE_FAILED_FAILURE_TYPE = 'RescueFailed';

/**
 * What the check of a restored machine found: its OS answered (`up`), did not (`down`), or nothing could
 * ask it (`unverified`: no check configured and no IP in the inventory).
 */
export type VerificationVerdict = 'up' | 'down' | 'unverified';

export interface RescueInput {
  system: string;
  reason: string;
  requestedBy: string;
  /** Overrides of the rescue's timings, mostly for tests and labs. */
  timings?: Partial<RescueTimings>;
}

export interface RescueTimings {
  /** How long to wait for the rescue environment's phone-home after a power cycle. */
  phoneHomeTimeoutMs: number;
  /** Power cycles before giving up on the phone-home. */
  maxPowerCycles: number;
  /** How long an operator has to approve a reinstall. */
  approvalTimeoutMs: number;
  /** How long an install may take. */
  installTimeoutMs: number;
  /** How long the repaired machine has to come back. */
  verifyTimeoutMs: number;
}

export const DEFAULT_RESCUE_TIMINGS: RescueTimings = {
  phoneHomeTimeoutMs: 5 * 60_000,
  maxPowerCycles: 3,
  approvalTimeoutMs: 24 * 3600_000,
  installTimeoutMs: 2 * 3600_000,
  verifyTimeoutMs: 10 * 60_000,
};

export interface MachineIdentity {
  system: string;
  mac: string;
  arch: string;
  firmware: 'bios' | 'uefi';
  osFamily: string | null;
  osVersion: string | null;
  policy: 'diagnose-only' | 'repair' | 'repair-then-reinstall';
  /** What a reinstall would put back: the last install that finished well. */
  previousInstall: { profile: string; distro: string; finishedAt: string | null } | null;
  /** Reinstall without waiting for an operator (label rescued.reinstall=automatic). */
  automaticReinstall: boolean;
}

export interface FindingSummary {
  id: string;
  probe: string;
  severity: 'info' | 'warning' | 'critical';
  subject: string;
  summary: string;
  repair: string | null;
}

export interface RepairSummary {
  playbook: string;
  subject: string;
  changed: boolean;
  /** changed, unchanged, failed, unavailable, ... (absent from repairs recorded before it was kept). */
  status?: string;
  /** What the playbook did, one line each (absent from repairs recorded before they were kept). */
  actions?: string[];
}

export interface PhoneHome {
  handshakeId: string;
  ip: string;
  sshPort: number;
  hostKeyFingerprint: string;
}

export interface StepRecord {
  step: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: string;
  detail?: string;
}

export interface RescueStatus {
  system: string;
  state: RescueState;
  reason: string;
  requestedBy: string;
  environment: string | null;
  policy: MachineIdentity['policy'] | null;
  powerCycles: number;
  steps: StepRecord[];
  /** The latest diagnosis: after the repair when one ran. */
  findings: FindingSummary[];
  /** The diagnosis the repair worked from; null until a repair ran. */
  findingsBeforeRepair: FindingSummary[] | null;
  /** What each playbook of the repair did; empty until a repair ran. */
  repairs: RepairSummary[];
  /** What was seen: boot fetches on a phone-home timeout, drivers used, the phone-home. */
  evidence: Record<string, unknown>;
  outcome: RescueOutcome | null;
  error: string | null;
  awaitingApprovalSince: string | null;
}

/** An alert about the machine resolved (signalled by the webhook receivers and the poller). */
export interface AlertResolved {
  /** The alert: its name and fingerprint, or the generic receiver's id. */
  alert: string;
  /** Who said so: the receiver and token. */
  by: string;
  at: string;
  /**
   * No alert that asked for this rescue still fires: it stops if it has not acted yet. False when it was asked
   * for by an operator or an audit, or another alert still fires: the resolution is only recorded. Absent
   * (signals from before this field) counts as true.
   */
  endsRescue?: boolean;
}

export interface ApprovalDecision {
  by: string;
  comment?: string;
}
