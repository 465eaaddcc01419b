// Bearer tokens with roles. Every /api route says the role it needs in its config; routes without one
// (health, metrics, boot routes for machines) authenticate in their own way or not at all.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAllows, type Role, type TokenRepository } from '../db/repositories/tokens.js';
import type { ErrorReply } from './errors.js';
import { SIGNATURE_HEADER } from '../triggers/signature.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call this route. */
    role?: Role;
    /** A webhook route that also takes deliveries signed with a token's HMAC secret (checked after the body is read). */
    signedDelivery?: boolean;
  }
  interface FastifyRequest {
    caller: { name: string; role: Role } | undefined;
  }
}

export function installBearerAuth(app: FastifyInstance, tokens: TokenRepository): void {
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const needed = request.routeOptions.config.role;
    if (needed === undefined) return;
    const header = request.headers.authorization;
    // A signed delivery carries no bearer token: its signature is checked over the raw body (api/routes/hooks.ts).
    if (header === undefined && request.routeOptions.config.signedDelivery === true && request.headers[SIGNATURE_HEADER] !== undefined) return;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (token === undefined || token === '') {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'this API needs a bearer token (Authorization: Bearer <token>); see "rescuectl token create"' } satisfies ErrorReply);
    }
    const caller = await tokens.authenticate(token);
    if (caller === undefined) {
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'unauthorized', message: 'the bearer token is not valid' } satisfies ErrorReply);
    }
    if (!roleAllows(caller.role, needed)) {
      return reply.code(403).send({ error: 'forbidden', message: `token "${caller.name}" has role ${caller.role}; this needs ${needed}` } satisfies ErrorReply);
    }
    request.caller = caller;
  });
}

/** The name recorded in events for what this request changed. */
export function actorOf(request: FastifyRequest): { name: string } {
  return { name: request.caller ? `token:${request.caller.name}` : 'anonymous' };
}
