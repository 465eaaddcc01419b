// Automation over HTTP: the alerts received, the guard's state and settings, pause/resume, maintenance
// windows, incidents and the decision log.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALERT_DECISIONS, type AlertRepository } from '../../db/repositories/alerts.js';
import type { GuardRepository } from '../../db/repositories/guard.js';
import { objectName } from '../../inventory/schemas.js';
import { guardSettingsSchema } from '../../triggers/guard-settings.js';
import type { AutomationControl } from '../../triggers/automation-control.js';
import { actorOf } from '../auth.js';
import { errorReply } from './collections.js';

const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply };
const labelSet = z.record(z.string(), z.string());
const alertView = z.object({
  id: z.number(),
  receivedAt: z.string(),
  receiver: z.string(),
  deliveredBy: z.string(),
  fingerprint: z.string(),
  status: z.string(),
  alertName: z.string().nullable(),
  labels: labelSet,
  annotations: labelSet,
  startsAt: z.string().nullable(),
  system: z.string().nullable(),
  decision: z.enum(ALERT_DECISIONS),
  reason: z.string(),
  workflowId: z.string().nullable(),
});
const pauseView = z.object({ paused: z.boolean(), by: z.string().nullable(), reason: z.string().nullable(), at: z.string().nullable() });
const queueView = z.object({ id: z.number(), system: z.string(), source: z.string(), reason: z.string(), enqueuedAt: z.string(), notBefore: z.string(), state: z.string(), lastReason: z.string(), workflowId: z.string().nullable() });
const decisionView = z.object({ id: z.number(), at: z.string(), system: z.string(), source: z.string(), phase: z.string(), decision: z.string(), reason: z.string(), workflowId: z.string().nullable() });
const incidentView = z.object({ id: z.number(), group: z.string(), systems: z.array(z.string()), reason: z.string(), openedAt: z.string(), closedAt: z.string().nullable(), closedBy: z.string().nullable() });
const windowView = z.object({ id: z.number(), system: z.string().nullable(), label: z.string().nullable(), startsAt: z.string(), endsAt: z.string(), reason: z.string(), createdBy: z.string(), active: z.boolean() });
const statusView = z.object({
  settings: guardSettingsSchema,
  pause: pauseView,
  inFlight: z.number(),
  waiting: z.number(),
  openIncidents: z.number(),
  /** Power cycles by automatic rescues in the last hour, and those reserved by rescues admitted that have not cycled yet. */
  powerCyclesLastHour: z.object({ made: z.number(), reserved: z.number() }),
  queue: z.array(queueView),
  decisions: z.array(decisionView),
  incidents: z.array(incidentView),
});
const idParams = z.object({ id: z.coerce.number().int().min(1) });
const LABEL = /^([A-Za-z0-9_.\/-]{1,63})=(.{1,200})$/;

export function registerAutomationRoutes(parent: FastifyInstance, dependencies: { alerts: AlertRepository; guard: GuardRepository; automation: AutomationControl }): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const { alerts, guard, automation } = dependencies;

  app.get('/api/v1/alerts', {
    config: { role: 'viewer' },
    schema: {
      tags: ['alerts'],
      summary: 'Alerts received, newest first, each with the decision taken and why',
      querystring: z.object({ system: objectName.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().regex(/^\d+$/, 'must be the nextCursor of the previous page').optional() }),
      response: { 200: z.object({ alerts: z.array(alertView), nextCursor: z.string().nullable() }), ...failures },
    },
    handler: async (request) => alerts.list({ system: request.query.system, limit: request.query.limit, cursor: request.query.cursor === undefined ? undefined : Number(request.query.cursor) }),
  });

  app.get('/api/v1/automation', {
    config: { role: 'viewer' },
    schema: { tags: ['automation'], summary: "The guard: settings, pause, rescues in flight, the queue, open incidents, latest decisions", response: { 200: statusView, ...failures } },
    handler: async () => automation.status(),
  });
  app.post('/api/v1/automation/pause', {
    config: { role: 'operator' },
    schema: { tags: ['automation'], summary: 'Pause every automatic rescue', body: z.strictObject({ reason: z.string().min(1).max(500).default('paused by an operator') }).default({ reason: 'paused by an operator' }), response: { 200: pauseView, ...failures } },
    handler: async (request) => automation.pause(request.body.reason, actorOf(request).name),
  });
  app.post('/api/v1/automation/resume', {
    config: { role: 'operator' },
    schema: { tags: ['automation'], summary: 'Resume automatic rescues (also after the blind-monitoring brake)', response: { 200: pauseView, ...failures } },
    handler: async (request) => automation.resume(actorOf(request).name),
  });
  app.patch('/api/v1/automation/settings', {
    config: { role: 'operator' },
    schema: { tags: ['automation'], summary: "Change the guard's settings (only those given)", body: guardSettingsSchema.partial(), response: { 200: guardSettingsSchema, ...failures } },
    handler: async (request) => automation.updateSettings(request.body, actorOf(request).name),
  });
  app.get('/api/v1/automation/decisions', {
    config: { role: 'viewer' },
    schema: { tags: ['automation'], summary: "The guard's decision log, newest first", querystring: z.object({ system: objectName.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }), response: { 200: z.array(decisionView), ...failures } },
    handler: async (request) => guard.listDecisions({ system: request.query.system, limit: request.query.limit }),
  });
  app.get('/api/v1/automation/incidents', {
    config: { role: 'viewer' },
    schema: { tags: ['automation'], summary: 'Group incidents (correlated failures), open ones unless all=true', querystring: z.object({ all: z.enum(['true', 'false']).default('false') }), response: { 200: z.array(incidentView), ...failures } },
    handler: async (request) => guard.listIncidents({ open: request.query.all !== 'true' }),
  });
  app.post('/api/v1/automation/incidents/:id/close', {
    config: { role: 'operator' },
    schema: { tags: ['automation'], summary: "Close an incident: its group's machines may be rescued again", params: idParams, response: { 200: z.object({ closed: z.number() }), ...failures } },
    handler: async (request) => {
      await guard.closeIncident(request.params.id, actorOf(request).name);
      return { closed: request.params.id };
    },
  });

  app.get('/api/v1/maintenance', {
    config: { role: 'viewer' },
    schema: { tags: ['automation'], summary: 'Maintenance windows (current and future; all=true for ended ones too)', querystring: z.object({ all: z.enum(['true', 'false']).default('false') }), response: { 200: z.array(windowView), ...failures } },
    handler: async (request) => guard.listMaintenance({ includeEnded: request.query.all === 'true' }),
  });
  app.post('/api/v1/maintenance', {
    config: { role: 'operator' },
    schema: {
      tags: ['automation'],
      summary: 'Add a maintenance window for one system or every system with a label: no automatic rescue while it lasts',
      body: z
        .strictObject({
          system: objectName.optional(),
          label: z.string().regex(LABEL, 'must be key=value, e.g. rack=r12').optional(),
          startsAt: z.iso.datetime({ offset: true }).optional(),
          endsAt: z.iso.datetime({ offset: true }),
          reason: z.string().min(1).max(500),
        })
        .refine((w) => (w.system === undefined) !== (w.label === undefined), { message: 'name either a system or a label, not both' }),
      response: { 201: windowView, ...failures },
    },
    handler: async (request, reply) => {
      const label = request.body.label ? LABEL.exec(request.body.label) : null;
      const window = {
        system: request.body.system ?? null,
        label: label ? { key: label[1]!, value: label[2]! } : null,
        startsAt: request.body.startsAt ? new Date(request.body.startsAt) : new Date(),
        endsAt: new Date(request.body.endsAt),
        reason: request.body.reason,
      };
      return reply.code(201).send(await automation.addMaintenance(window, actorOf(request).name));
    },
  });
  app.delete('/api/v1/maintenance/:id', {
    config: { role: 'operator' },
    schema: { tags: ['automation'], summary: 'Remove a maintenance window', params: idParams, response: { 204: z.null(), ...failures } },
    handler: async (request, reply) => {
      await guard.removeMaintenance(request.params.id, actorOf(request).name);
      return reply.code(204).send(null);
    },
  });
}
