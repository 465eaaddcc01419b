// An admission for tests whose worker runs no automatic rescue: every automatic start is refused with a
// reason that says so (the server itself always admits through the guard, workers/triggers.ts).
import type { AdmissionDecision, AdmissionRequest, RescueAdmission } from '../../triggers/admission.js';

export function createRefusingAdmission(): RescueAdmission {
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
