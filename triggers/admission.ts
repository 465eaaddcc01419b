// The contract between what starts rescues by itself (webhooks, the Alertmanager poller, fleet audits) and the
// guard that admits them. Every automatic start asks the guard; every answer is recorded with its reason.

/** Who asks for an automatic rescue. Operators' own starts do not go through admission. */
export type AdmissionSource = 'alertmanager' | 'generic' | 'poller' | 'audit';

export interface AdmissionRequest {
  /** The inventory system's name (already resolved from the alert's labels or the audit). */
  system: string;
  source: AdmissionSource;
  /** Why, in words: the alert's name and summary, or the audit's classification reason. */
  reason: string;
  /** The alert's fingerprint or the generic receiver's id, for the record; absent for audits. */
  alertId?: string;
}

export type AdmissionDecisionKind = 'started' | 'joined' | 'deferred' | 'refused' | 'dry-run';

export interface AdmissionDecision {
  decision: AdmissionDecisionKind;
  /** The reason in words, as recorded and shown to operators. */
  reason: string;
  /** The rescue's workflow ID (`rescue-<system>`) when one was started or joined. */
  workflowId: string | null;
}

export interface AdmissionOptions {
  /**
   * Told the decision as soon as it is committed, before an admitted rescue's start reaches Temporal: what the
   * caller records can be written while the start is on its way. The promise's answer is the final decision,
   * which differs only when Temporal's answer changes it (`joined` a rescue started meanwhile, or `deferred`
   * because Temporal did not take the start).
   */
  onCommitted?: (decision: AdmissionDecision) => void;
  /**
   * The caller commits a write of its own synchronously (its record of the decision) before it answers
   * anyone, and answers with an error when that fails. Then the decision's own commit need not wait for the
   * disk: the caller's flushes it too. A batch of requests that all say so commits without the wait.
   */
  flushedByCaller?: boolean;
}

/** The one guard every automatic start goes through. Race-free across concurrent callers. */
export interface RescueAdmission {
  admit(request: AdmissionRequest, options?: AdmissionOptions): Promise<AdmissionDecision>;
}
