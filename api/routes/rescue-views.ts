// The rescue replies' schemas (the OpenAPI document shows them; the serializer keeps replies to them).
import { z } from 'zod';
import { RESCUE_OUTCOMES, RESCUE_STATES } from '../../workflows/rescue-types.js';

const stepRecord = z.object({ step: z.string(), startedAt: z.string(), finishedAt: z.string().nullable(), outcome: z.string(), detail: z.string().optional() });
const finding = z.object({ id: z.string(), probe: z.string(), severity: z.enum(['info', 'warning', 'critical']), subject: z.string(), summary: z.string(), repair: z.string().nullable() });

const repairSummary = z.object({ playbook: z.string(), subject: z.string(), changed: z.boolean(), status: z.string().optional(), actions: z.array(z.string()).optional() });

export const rescueStatusView = z.object({
  system: z.string(),
  state: z.enum(RESCUE_STATES),
  reason: z.string(),
  requestedBy: z.string(),
  environment: z.string().nullable(),
  policy: z.enum(['diagnose-only', 'repair', 'repair-then-reinstall']).nullable(),
  powerCycles: z.number(),
  steps: z.array(stepRecord),
  findings: z.array(finding),
  /** The diagnosis before the repair playbooks ran; null when no repair ran (absent in rescues older than it). */
  findingsBeforeRepair: z.array(finding).nullable().optional(),
  repairs: z.array(repairSummary).optional(),
  evidence: z.record(z.string(), z.unknown()),
  outcome: z.enum(RESCUE_OUTCOMES as [string, ...string[]]).nullable(),
  error: z.string().nullable(),
  awaitingApprovalSince: z.string().nullable(),
});

export const rescueStatusReply = z.object({ workflowId: z.string(), runId: z.string(), running: z.boolean(), status: rescueStatusView });

export const rescueRunView = z.object({
  id: z.number(),
  workflowId: z.string(),
  runId: z.string(),
  system: z.string(),
  reason: z.string(),
  requestedBy: z.string(),
  state: z.string(),
  outcome: z.string().nullable(),
  environment: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  steps: z.array(stepRecord),
  diagnosis: z.record(z.string(), z.unknown()).nullable(),
  diagnosisBeforeRepair: z.record(z.string(), z.unknown()).nullable(),
  repairs: z.array(z.record(z.string(), z.unknown())),
  evidence: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
});

const findingState = z.object({ severity: z.string(), summary: z.string() });

/** The report: the run, and its diagnosis before and after repair side by side (rescue/report.ts). */
export const rescueReportView = rescueRunView.extend({
  repaired: z.boolean(),
  comparison: z.array(
    z.object({
      id: z.string(),
      probe: z.string(),
      subject: z.string(),
      before: findingState.nullable(),
      after: findingState.nullable(),
      outcome: z.enum(['resolved', 'remaining', 'appeared', 'unchanged', 'not-repaired']),
      playbooks: z.array(z.object({ playbook: z.string(), status: z.string() })),
    }),
  ),
  playbooks: z.array(
    z.object({ playbook: z.string(), subject: z.string(), status: z.string(), changed: z.boolean(), actions: z.array(z.string()), findings: z.array(z.string()), error: z.string().nullable() }),
  ),
});
