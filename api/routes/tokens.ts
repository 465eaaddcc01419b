import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES, type TokenRepository } from '../../db/repositories/tokens.js';
import { objectName } from '../../inventory/schemas.js';
import { actorOf } from '../auth.js';
import { errorReply } from './collections.js';
import { pageQuery, sendPage } from '../pagination.js';

const tokenView = z.object({ name: z.string(), role: z.enum(ROLES), createdAt: z.string(), lastUsedAt: z.string().nullable(), hmac: z.boolean() });

export function registerTokenRoutes(parent: FastifyInstance, tokens: TokenRepository): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply };
  app.post('/api/v1/tokens', {
    config: { role: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'Create an API token; the token is in this reply only',
      body: z.strictObject({
        name: objectName,
        role: z.enum(ROLES),
        /** Webhook tokens only: the secret for X-Rescued-Signature (HMAC-SHA256 of the body). */
        hmacSecret: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
      }),
      response: { 201: tokenView.extend({ token: z.string() }), ...failures },
    },
    handler: async (request, reply) => reply.code(201).send(await tokens.create(request.body, actorOf(request))),
  });
  app.get('/api/v1/tokens', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'List API tokens (never the tokens themselves), by name, a page at a time', querystring: z.object(pageQuery()), response: { 200: z.array(tokenView), ...failures } },
    handler: async (request, reply) => sendPage(request, reply, await tokens.page(request.query)),
  });
  app.delete('/api/v1/tokens/:name', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'Revoke an API token', params: z.object({ name: objectName }), response: { 204: z.null(), ...failures } },
    handler: async (request, reply) => {
      await tokens.remove(request.params.name, actorOf(request));
      return reply.code(204).send(null);
    },
  });
}
