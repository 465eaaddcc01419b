// Admissions for tests of what asks the guard (audits): one that records every request and answers a set
// decision, and one that starts the rescue for real through the rescue client, as the guard does when it admits.
import type { AdmissionDecision, AdmissionDecisionKind, AdmissionRequest, RescueAdmission } from '../../triggers/admission.js';
import { rescueWorkflowId, type RescueClient } from '../../rescue/rescue-client.js';

export interface RecordingAdmission extends RescueAdmission {
  readonly requests: AdmissionRequest[];
}

export function createRecordingAdmission(decision: AdmissionDecisionKind = 'dry-run'): RecordingAdmission {
  const requests: AdmissionRequest[] = [];
  return {
    requests,
    async admit(request): Promise<AdmissionDecision> {
      requests.push(request);
      const workflowId = decision === 'started' || decision === 'joined' ? rescueWorkflowId(request.system) : null;
      return { decision, reason: `test admission: ${decision}`, workflowId };
    },
  };
}

/** Admits everything and starts (or joins) the machine's rescue through the real rescue client. */
export function createStartingAdmission(rescues: RescueClient, options: { timings?: Parameters<RescueClient['start']>[0]['timings'] } = {}): RecordingAdmission {
  const requests: AdmissionRequest[] = [];
  return {
    requests,
    async admit(request): Promise<AdmissionDecision> {
      requests.push(request);
      const started = await rescues.start({ system: request.system, reason: request.reason, requestedBy: `automation:${request.source}`, ...(options.timings ? { timings: options.timings } : {}) });
      return { decision: started.joined ? 'joined' : 'started', reason: started.joined ? 'joined the running rescue' : 'admitted by the test', workflowId: started.workflowId };
    },
  };
}
