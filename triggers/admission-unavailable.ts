// The admission a process uses while no guard is wired into it: every automatic start is refused with a
// reason that says so, and recorded as such by the caller (the audit keeps its verdicts; no BMC is touched).
// The guard (issue 10, item 8) replaces it in workers/components.ts.
import type { AdmissionDecision, AdmissionRequest, RescueAdmission } from './admission.js';

export function createUnavailableAdmission(): RescueAdmission {
  return {
    async admit(request: AdmissionRequest): Promise<AdmissionDecision> {
      return {
        decision: 'refused',
        reason: `no guard is configured in this server, so automatic rescues are off (${request.source} asked for ${request.system}); start one with "rescuectl rescue start ${request.system}"`,
        workflowId: null,
      };
    },
  };
}
