// The fleet audit's vocabulary, shared by the workflow, its activities, the schedule, the API and the CLI.
// JSON-plain only; no I/O.

/** The workflow type's name, as the schedule and the manual start name it. */
export const FLEET_AUDIT_WORKFLOW = 'fleetAuditWorkflow';
/**
 * The failure type of an audit activity whose run lost its lease (a later audit found it stale and closed it
 * as abandoned): not retried; the workflow ends as abandoned without recording or admitting anything more.
 */
export const AUDIT_LEASE_LOST = 'AuditLeaseLost';

/** Manual runs get this prefix and a unique suffix; scheduled runs get the schedule's ID and a timestamp. */
export const MANUAL_AUDIT_WORKFLOW_PREFIX = 'fleet-audit-manual-';

export interface FleetAuditSettings {
  /** Systems per batch (one activity); the workflow continues as new every `batchesPerRun` batches. */
  batchSize: number;
  batchesPerRun: number;
  /** Probes running at once in a batch, and at once against one BMC address. */
  concurrency: number;
  perBmcConcurrency: number;
  bmcTimeoutMs: number;
  osTimeoutMs: number;
  /** An open run that has not made progress for this long is abandoned by the next one. */
  leaseMs: number;
  /**
   * An install still in progress after this long is stalled (boot/install-status.ts, RESCUED_INSTALL_STALL_MINUTES)
   * and no longer shields its machine from the verdict. Optional: runs started before it existed use the default.
   */
  installStallMs?: number;
}

export const DEFAULT_FLEET_AUDIT_SETTINGS: FleetAuditSettings = {
  batchSize: 250,
  batchesPerRun: 20,
  concurrency: 64,
  perBmcConcurrency: 2,
  bmcTimeoutMs: 30_000,
  osTimeoutMs: 5_000,
  leaseMs: 15 * 60_000,
  installStallMs: 30 * 60_000,
};

export interface FleetAuditInput {
  trigger: 'schedule' | 'manual';
  requestedBy: string;
  /** Set by a manual start, which opens its run before starting the workflow; scheduled runs open their own. */
  auditId?: number;
  settings?: Partial<FleetAuditSettings>;
  /** Carried across continue-as-new: the run's settings as resolved at its start, and where it got to. */
  progress?: { settings: FleetAuditSettings; after: string | null; batches: number; admissions: Record<string, number> };
}

export interface AuditBatchResult {
  probed: number;
  /** The last system of this batch (the next one starts after it); null when there was none. */
  lastSystem: string | null;
  /** Fewer systems than a batch holds: the inventory is done. */
  done: boolean;
  /** The broken machines of this batch, for admission (their reasons are in the database). */
  broken: string[];
}

export interface AuditAdmissionSummary {
  /** Decisions taken in this call, by kind (started, joined, deferred, refused, dry-run). */
  decisions: Record<string, number>;
}

export interface FleetAuditResult {
  auditId: number;
  /** `abandoned`: the run lost its lease to a later audit (superseded) and stopped; `note` says why. */
  state: 'finished' | 'skipped' | 'abandoned';
  probed: number;
  healthy: number;
  suspect: number;
  broken: number;
  batches: number;
  admissions: Record<string, number>;
  note: string | null;
}
