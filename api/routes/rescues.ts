// Rescues over HTTP: start (a second start joins the running rescue), status, report, approve/reject a
// reinstall, abort, close (an operator ends a run left open), list; and the rescue environment's
// phone-home, which machines call with their token.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isIP } from 'node:net';
import type { Inventory } from '../../db/inventory.js';
import { macAddress, objectName } from '../../inventory/schemas.js';
import { RescueNotRunningError, RescueStateError, type RescueClient } from '../../rescue/rescue-client.js';
import { createPhoneHomeReceiver, PhoneHomeRefusedError } from '../../rescue/phone-home.js';
import type { RescueReconciler } from '../../rescue/reconcile.js';
import { rescueReportView, rescueRunView, rescueStatusReply, rescueStatusView } from './rescue-views.js';
import { buildRescueReport } from '../../rescue/report.js';
import { actorOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { errorReply } from './collections.js';
import { pageQuery, sendPage } from '../pagination.js';
import type { AutomationControl } from '../../triggers/automation-control.js';

const startedReply = z.object({ workflowId: z.string(), runId: z.string(), joined: z.boolean() });
const SSH_HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+=*( .*)?$/;

export function registerRescueRoutes(parent: FastifyInstance, dependencies: { inventory: Inventory; rescues: RescueClient; reconciler: RescueReconciler; automation?: AutomationControl }): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const { inventory, rescues, reconciler } = dependencies;
  /** The replies a caller can get besides success: its mistakes, and Temporal or the database down (503). */
  const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply, 503: errorReply };
  const params = z.object({ system: objectName });
  const mapErrors = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof RescueNotRunningError) throw new HttpError(404, 'not-found', error.message);
      if (error instanceof RescueStateError) throw new HttpError(409, 'conflict', error.message);
      throw error;
    }
  };

  app.post('/api/v1/rescues', {
    config: { role: 'operator' },
    schema: {
      tags: ['rescues'],
      summary: 'Start a rescue of a machine (joins the running one if there is one)',
      body: z.strictObject({
        system: objectName,
        reason: z.string().min(1).max(500).default('requested by an operator'),
        /** Start even while automation is paused or the machine is in a maintenance window. */
        force: z.boolean().default(false),
      }),
      response: {
        200: startedReply,
        201: startedReply,
        ...failures,
      },
    },
    handler: async (request, reply) => {
      const system = await inventory.systems.get(request.body.system);
      if (!request.body.force && dependencies.automation) {
        const refusal = await dependencies.automation.operatorStartRefusal(system.name, system.labels ?? {});
        if (refusal !== null) throw new HttpError(409, 'conflict', refusal);
      }
      const started = await rescues.start({ system: request.body.system, reason: request.body.reason, requestedBy: actorOf(request).name });
      return reply.code(started.joined ? 200 : 201).send(started);
    },
  });
  app.get('/api/v1/rescues', {
    config: { role: 'viewer' },
    schema: { tags: ['rescues'], summary: 'Rescue runs, newest first, a page at a time', querystring: z.object({ system: objectName.optional(), ...pageQuery(50) }), response: { 200: z.array(rescueRunView), ...failures } },
    handler: async (request, reply) => sendPage(request, reply, await inventory.rescues.page(request.query)),
  });
  app.get('/api/v1/rescues/:system', {
    config: { role: 'viewer' },
    schema: { tags: ['rescues'], summary: "The machine's rescue as the workflow sees it now (a closed one: as it ended)", params, response: { 200: rescueStatusReply, ...failures } },
    handler: async (request) => mapErrors(() => rescues.status(request.params.system)),
  });
  app.get('/api/v1/rescues/:system/report', {
    config: { role: 'viewer' },
    schema: {
      tags: ['rescues'],
      summary: "The last rescue's record: steps, the diagnosis before and after repair side by side, what each playbook did, evidence",
      params,
      response: { 200: rescueReportView, ...failures },
    },
    handler: async (request) => {
      const [latest] = await inventory.rescues.list({ system: request.params.system, limit: 1 });
      if (latest === undefined) throw new HttpError(404, 'not-found', `"${request.params.system}" has never been rescued`);
      return buildRescueReport(latest);
    },
  });
  const decision = z.strictObject({ comment: z.string().max(500).optional() });
  for (const [verb, approve] of [['approve', true], ['reject', false]] as const) {
    app.post(`/api/v1/rescues/:system/${verb}`, {
      config: { role: 'operator' },
      schema: { tags: ['rescues'], summary: `${verb === 'approve' ? 'Approve' : 'Reject'} the reinstall a rescue waits for`, params, body: decision.default({}), response: { 200: rescueStatusView, ...failures } },
      handler: async (request) =>
        mapErrors(() => rescues.decideReinstall(request.params.system, approve, { by: actorOf(request).name, ...(request.body.comment ? { comment: request.body.comment } : {}) })),
    });
  }
  app.post('/api/v1/rescues/:system/abort', {
    config: { role: 'operator' },
    schema: {
      tags: ['rescues'],
      summary: 'Abort a rescue (its boot config is removed all the same; the workflow ends cancelled)',
      params,
      body: z.strictObject({ reason: z.string().min(1).max(500).default('aborted by an operator') }).default({ reason: 'aborted by an operator' }),
      response: { 202: z.object({ aborting: z.string() }), ...failures },
    },
    handler: async (request, reply) => {
      await mapErrors(() => rescues.abort(request.params.system, { by: actorOf(request).name, reason: request.body.reason }));
      return reply.code(202).send({ aborting: request.params.system });
    },
  });
  app.post('/api/v1/rescues/:system/close', {
    config: { role: 'operator' },
    schema: {
      tags: ['rescues'],
      summary: "Close the machine's open rescue run: its workflow is terminated if it still runs, its boot config removed",
      params,
      body: z.strictObject({ reason: z.string().trim().min(1, 'say why the run is closed').max(500) }),
      response: { 200: rescueRunView, ...failures },
    },
    handler: async (request) => mapErrors(() => reconciler.closeByOperator(request.params.system, { by: actorOf(request).name, reason: request.body.reason })),
  });

  // The rescue environment calls this once it is up (lab/images/RESCUE-CONTRACT.md). No bearer token:
  // the one-time token in the path is bound to this rescue and this MAC, expires, is accepted once, and
  // only from the rescue's known address (rescue/phone-home.ts).
  const phoneHome = createPhoneHomeReceiver({ inventory, signal: (workflowId, call) => rescues.phoneHome(workflowId, call) });
  app.post('/boot/rescue/:token/ready', {
    schema: {
      tags: ['boot'],
      summary: 'Phone-home of a rescue environment',
      params: z.object({ token: z.string().min(16).max(128).regex(/^[A-Za-z0-9_-]+$/) }),
      body: z.object({
        token: z.string().max(128).optional(),
        mac: macAddress,
        ip: z.string().refine((v) => isIP(v) !== 0, 'must be an IP address'),
        sshHostKey: z.string().max(4096).regex(SSH_HOST_KEY, 'must be an OpenSSH public key line (ssh-ed25519 AAAA...)'),
        sshPort: z.number().int().min(1).max(65535).default(22),
      }),
      response: { 200: z.object({ ok: z.boolean(), system: z.string() }), 400: errorReply, 403: errorReply, 409: errorReply, 503: errorReply },
    },
    handler: async (request, reply) => {
      try {
        const accepted = await phoneHome.receive({ token: request.params.token, bodyToken: request.body.token, mac: request.body.mac, ip: request.body.ip, sshHostKey: request.body.sshHostKey, sshPort: request.body.sshPort, source: request.ip });
        return reply.send({ ok: true, system: accepted.system });
      } catch (error) {
        if (error instanceof PhoneHomeRefusedError) throw new HttpError(error.status, error.status === 409 ? 'conflict' : 'forbidden', error.message);
        throw error;
      }
    },
  });
}
