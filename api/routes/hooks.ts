// The webhook receivers: Alertmanager's (payload version 4) and a generic one for other monitoring.
// Answers follow Alertmanager's delivery semantics, which retries a 5xx and drops on a 4xx: 200 once every
// alert is recorded (whatever the guard decided), 400 for a malformed body, 401 without a valid token or
// signature, 503 naming the database when the alerts could not be recorded, so that they are sent again.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenRepository } from '../../db/repositories/tokens.js';
import { ALERT_DECISIONS } from '../../db/repositories/alerts.js';
import { databaseErrorMessage } from '../../db/errors.js';
import { alertmanagerWebhook, fromAlertmanagerWebhook, fromGenericAlert, genericAlert, type AlertReceiver, type ReceivedAlert } from '../../triggers/alert-payloads.js';
import type { AlertIntake, AlertOutcome } from '../../triggers/alert-intake.js';
import { SIGNATURE_HEADER, verifySignature } from '../../triggers/signature.js';
import type { ErrorReply } from '../errors.js';
import { HttpError } from '../errors.js';
import { errorReply } from './collections.js';
import { observeWebhookRequest } from '../../observability/metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for signature checks (hook routes only). */
    rawBody?: Buffer;
    /** Why the body could not be read as JSON, answered after authentication. */
    bodyError?: string;
    /** The body came in another content type than JSON: what the answer says. */
    contentTypeError?: string;
  }
}

const outcome = z.object({
  fingerprint: z.string(),
  status: z.string(),
  system: z.string().nullable(),
  decision: z.enum(ALERT_DECISIONS),
  reason: z.string(),
  workflowId: z.string().nullable(),
});
const deliveryReply = z.object({ recorded: z.number().int(), truncatedAlerts: z.number().int(), alerts: z.array(outcome) });
const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 415: errorReply, 503: errorReply };
const HOOK_BODY_LIMIT = 8 * 1024 * 1024;

export async function registerHookRoutes(parent: FastifyInstance, dependencies: { intake: AlertIntake; tokens: TokenRepository }): Promise<void> {
  await parent.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (request, body, done) => {
      const raw = body as Buffer;
      request.rawBody = raw;
      try {
        done(null, raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8')));
      } catch (error) {
        request.bodyError = `the body is not valid JSON (${(error as Error).message})`;
        done(null, undefined);
      }
    });
    // Any other content type (text/plain, none): kept raw, so a signature is checked over what was sent and
    // the answer names the content type instead of calling a good signature a bad one.
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (request, body, done) => {
      request.rawBody = body as Buffer;
      request.contentTypeError = `the body is sent as ${request.headers['content-type'] ? `"${request.headers['content-type']}"` : 'no content type'}; send it as application/json`;
      done(null, undefined);
    });
    scope.addHook('preValidation', async (request, reply) => {
      if (request.caller === undefined) {
        const signer = verifySignature(String(request.headers[SIGNATURE_HEADER]), request.rawBody ?? Buffer.alloc(0), await dependencies.tokens.webhookSecrets());
        if (signer === undefined) {
          return reply.code(401).send({ error: 'unauthorized', message: `the ${SIGNATURE_HEADER} signature does not match the body under any webhook token's secret` } satisfies ErrorReply);
        }
        request.caller = { name: signer, role: 'webhook' };
      }
      if (request.contentTypeError !== undefined) return reply.code(415).send({ error: 'unsupported-media-type', message: request.contentTypeError } satisfies ErrorReply);
      if (request.bodyError !== undefined) return reply.code(400).send({ error: 'bad-request', message: request.bodyError } satisfies ErrorReply);
      if (request.rawBody === undefined || request.rawBody.length === 0) return reply.code(400).send({ error: 'bad-request', message: 'the body is empty; send the alert as JSON' } satisfies ErrorReply);
    });
    // Every delivery is counted with its answer, refused ones (401, 400) included.
    scope.addHook('onResponse', async (request, reply) => {
      observeWebhookRequest(request.routeOptions.url === '/hooks/generic' ? 'generic' : 'alertmanager', reply.statusCode);
    });
    const app = scope.withTypeProvider<ZodTypeProvider>();

    async function deliver(request: FastifyRequest, receiver: AlertReceiver, alerts: ReceivedAlert[]): Promise<AlertOutcome[]> {
      try {
        return await dependencies.intake.receive({ receiver, deliveredBy: request.caller?.name ?? 'anonymous', alerts });
      } catch (error) {
        request.log.error({ err: error }, 'alerts could not be recorded');
        throw new HttpError(503, 'unavailable', `the alerts could not be recorded: the database did not take them (${databaseErrorMessage(error)}); send them again`);
      }
    }

    app.post('/hooks/alertmanager', {
      config: { role: 'webhook' },
      bodyLimit: HOOK_BODY_LIMIT,
      schema: {
        tags: ['hooks'],
        summary: "Alertmanager's webhook (payload version 4); every alert is recorded with the guard's decision",
        body: alertmanagerWebhook,
        response: { 200: deliveryReply, ...failures },
      },
      handler: async (request) => {
        const alerts = await deliver(request, 'alertmanager', fromAlertmanagerWebhook(request.body));
        if (request.body.truncatedAlerts > 0) request.log.warn({ groupKey: request.body.groupKey, truncatedAlerts: request.body.truncatedAlerts }, 'Alertmanager cut alerts from this group (max_alerts); the poller catches them up when RESCUED_ALERTMANAGER_URL is set');
        return { recorded: alerts.length, truncatedAlerts: request.body.truncatedAlerts, alerts };
      },
    });

    app.post('/hooks/generic', {
      config: { role: 'webhook', signedDelivery: true },
      bodyLimit: HOOK_BODY_LIMIT,
      schema: {
        tags: ['hooks'],
        summary: 'An alert from any monitoring: a machine (system, hostname, mac or ip), a reason, firing or resolved. Bearer token or X-Rescued-Signature: sha256=<HMAC of the body>',
        body: genericAlert,
        response: { 200: deliveryReply, ...failures },
      },
      handler: async (request) => {
        const alerts = await deliver(request, 'generic', [fromGenericAlert(request.body)]);
        return { recorded: alerts.length, truncatedAlerts: 0, alerts };
      },
    });
  });
}
