// The rescue replies' schemas (the OpenAPI document shows them; the serializer keeps replies to them).
import { z } from 'zod';
import { RESCUE_OUTCOMES, RESCUE_STATES } from '../../workflows/rescue-types.js';

const stepRecord = z.object({ step: z.string(), startedAt: z.string(), finishedAt: z.string().nullable(), outcome: z.string(), detail: z.string().optional() });
const finding = z.object({ id: z.string(), probe: z.string(), severity: z.enum(['info', 'warning', 'critical']), subject: z.string(), summary: z.string(), repair: z.string().nullable() });

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
  repairs: z.array(z.record(z.string(), z.unknown())),
  evidence: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
});
