// Fleet audits over HTTP: the runs and their verdicts (viewer), a run now (operator; joins the running one),
// and the schedule (viewer reads it, operator changes its interval or pauses it).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isGrpcServiceError, ServiceError, type Connection } from '@temporalio/client';
import { DependencyUnavailableError } from '../../config/unavailable.js';
import { callTemporal } from '../../temporal/unavailable.js';
import type { Inventory } from '../../db/inventory.js';
import { parseAuditInterval } from '../../config/environment.js';
import { AUDIT_CLASSIFICATIONS } from '../../triggers/audit-classify.js';
import { AuditScheduleMissingError, type AuditClient } from '../../triggers/audit-client.js';
import { actorOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { errorReply } from './collections.js';

const auditRun = z.object({
  id: z.number().int(),
  workflowId: z.string(),
  trigger: z.enum(['schedule', 'manual']),
  requestedBy: z.string(),
  state: z.enum(['running', 'finished', 'failed', 'skipped', 'abandoned']),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  finishedAt: z.string().nullable(),
  systemsTotal: z.number().int(),
  probed: z.number().int(),
  healthy: z.number().int(),
  suspect: z.number().int(),
  broken: z.number().int(),
  note: z.string().nullable(),
});
const auditResult = z.object({
  system: z.string(),
  classification: z.enum(AUDIT_CLASSIFICATIONS as [string, ...string[]]),
  reason: z.string(),
  observation: z.record(z.string(), z.unknown()),
  probedAt: z.string(),
  admission: z.string().nullable(),
  admissionReason: z.string().nullable(),
  rescueWorkflowId: z.string().nullable(),
});
const scheduleView = z.object({
  scheduleId: z.string(),
  every: z.string(),
  everyMs: z.number(),
  paused: z.boolean(),
  note: z.string().nullable(),
  overlap: z.string(),
  catchupWindow: z.string(),
  nextRuns: z.array(z.string()),
  recentRuns: z.array(z.object({ workflowId: z.string(), scheduledAt: z.string(), startedAt: z.string() })),
  running: z.array(z.string()),
});
const runReply = z.object({ joined: z.boolean(), audit: auditRun });
const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 503: errorReply };

export function registerAuditRoutes(
  parent: FastifyInstance,
  dependencies: { inventory: Inventory; audits: AuditClient; temporalAddress: string; temporalConnection: Pick<Connection, 'withDeadline'> },
): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const { inventory, audits } = dependencies;
  /** Temporal not answering (within the API's deadline) is the server's dependency being down: 503 naming it, never a 500. */
  const overTemporal = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await callTemporal(dependencies.temporalConnection, run);
    } catch (error) {
      if (error instanceof AuditScheduleMissingError) throw new HttpError(404, 'not-found', error.message);
      if (error instanceof DependencyUnavailableError || error instanceof ServiceError || isGrpcServiceError(error)) {
        throw new HttpError(503, 'unavailable', `Temporal at ${dependencies.temporalAddress} did not answer: ${(error as Error).message}`);
      }
      throw error;
    }
  };

  app.get('/api/v1/audits', {
    config: { role: 'viewer' },
    schema: {
      tags: ['audits'],
      summary: 'Fleet audit runs, newest first',
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) }),
      response: { 200: z.array(auditRun), ...failures },
    },
    handler: async (request) => inventory.audits.list(request.query.limit),
  });

  app.post('/api/v1/audits', {
    config: { role: 'operator' },
    schema: {
      tags: ['audits'],
      summary: 'Run a fleet audit now (joins the one running, scheduled or manual, if there is one)',
      response: { 200: runReply, 201: runReply, ...failures },
    },
    handler: async (request, reply) => {
      const started = await overTemporal(() => audits.runNow(actorOf(request).name));
      return reply.code(started.joined ? 200 : 201).send(started);
    },
  });

  app.get('/api/v1/audits/schedule', {
    config: { role: 'viewer' },
    schema: {
      tags: ['audits'],
      summary: 'The fleet audit schedule (null when RESCUED_AUDIT_EVERY=off)',
      response: { 200: z.object({ schedule: scheduleView.nullable() }), ...failures },
    },
    handler: async () => ({ schedule: await overTemporal(() => audits.describeSchedule()) }),
  });

  app.patch('/api/v1/audits/schedule', {
    config: { role: 'operator' },
    schema: {
      tags: ['audits'],
      summary: 'Change the audit interval (until the next start, which applies RESCUED_AUDIT_EVERY), pause or resume',
      body: z
        .strictObject({ every: z.string().min(1).max(32).optional(), paused: z.boolean().optional() })
        .refine((body) => body.every !== undefined || body.paused !== undefined, 'give "every", "paused" or both'),
      response: { 200: scheduleView, ...failures },
    },
    handler: async (request) => {
      let everyMs: number | undefined;
      if (request.body.every !== undefined) {
        const parsed = parseAuditInterval(request.body.every);
        if (!parsed.ok) throw new HttpError(400, 'bad-request', `every: ${parsed.reason}`);
        if (parsed.everyMs === null) throw new HttpError(400, 'bad-request', 'every: "off" is for RESCUED_AUDIT_EVERY; to stop scheduled audits now, pause the schedule ({"paused": true})');
        everyMs = parsed.everyMs;
      }
      return overTemporal(() =>
        audits.changeSchedule({ ...(everyMs !== undefined ? { everyMs } : {}), ...(request.body.paused !== undefined ? { paused: request.body.paused } : {}), by: actorOf(request).name }),
      );
    },
  });

  const classificationList = z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(z.enum(AUDIT_CLASSIFICATIONS as [string, ...string[]])).min(1));
  app.get('/api/v1/audits/:id', {
    config: { role: 'viewer' },
    schema: {
      tags: ['audits'],
      summary: "One audit (an ID, or \"latest\") with each machine's verdict and, for broken ones, the guard's decision; paged by system name",
      params: z.object({ id: z.union([z.literal('latest'), z.coerce.number().int().min(1)]) }),
      querystring: z.object({
        classification: classificationList.optional(),
        after: z.string().min(1).max(255).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(1000),
      }),
      response: { 200: z.object({ audit: auditRun, results: z.array(auditResult), nextAfter: z.string().nullable() }), ...failures },
    },
    handler: async (request) => {
      const audit = request.params.id === 'latest' ? await inventory.audits.latest() : await inventory.audits.get(request.params.id);
      if (audit === undefined) throw new HttpError(404, 'not-found', 'no fleet audit has run yet (rescuectl audit run)');
      const results = await inventory.audits.results(audit.id, { classifications: request.query.classification, after: request.query.after, limit: request.query.limit });
      return { audit, results, nextAfter: results.length === request.query.limit ? results[results.length - 1]!.system : null };
    },
  });
}
