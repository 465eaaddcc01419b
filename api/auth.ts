// Bearer tokens with roles, denied by default: every route says the role it needs in its config, or is on
// the explicit public list (api/public-routes.ts). A route that is neither cannot even be registered, and
// a request that reaches one anyway is refused.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAllows, type Role, type TokenRepository } from '../db/repositories/tokens.js';
import type { ErrorReply } from './errors.js';
import { isPublicRoute, type PublicRoute } from './public-routes.js';

/** A route as the server registered it: what it needs, for the route-table test and the docs. */
export interface RegisteredRoute {
  method: string;
  url: string;
  role: Role | undefined;
  public: boolean;
}
import { SIGNATURE_HEADER } from '../triggers/signature.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call this route. */
    role?: Role;
    /** A webhook route that also takes deliveries signed with a token's HMAC secret (checked after the body is read). */
    signedDelivery?: boolean;
    /** A route that, without an Authorization header, takes its bearer token from this cookie (/codec/decode, for the Temporal UI in a browser). */
    tokenCookie?: string;
  }
  interface FastifyRequest {
    caller: { name: string; role: Role } | undefined;
  }
  interface FastifyInstance {
    /** Every route registered, with the role it needs or that it is public. */
    registeredRoutes: RegisteredRoute[];
  }
}

export class UnguardedRouteError extends Error {
  override readonly name = 'UnguardedRouteError';
}

/** `alsoPublic`: routes made public by this server's configuration (RESCUED_METRICS_PUBLIC=true makes /metrics one). */
export function installBearerAuth(app: FastifyInstance, tokens: TokenRepository, alsoPublic: readonly PublicRoute[] = []): void {
  app.decorateRequest('caller', undefined);
  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', registered);
  app.addHook('onRoute', (route) => {
    const role = (route.config as { role?: Role } | undefined)?.role;
    for (const method of [route.method].flat()) {
      const open = isPublicRoute(method, route.url, alsoPublic);
      if (role === undefined && !open) throw new UnguardedRouteError(`route ${method} ${route.url} names no role and is not on the public list (api/public-routes.ts)`);
      registered.push({ method, url: route.url, role, public: role === undefined });
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const needed = request.routeOptions.config.role;
    if (needed === undefined) {
      // No route matched (the 404 handler), or a public one; anything else is refused.
      const url = request.routeOptions.url;
      if (url === undefined || isPublicRoute(request.method, url, alsoPublic)) return;
      return reply.code(403).send({ error: 'forbidden', message: `route ${request.method} ${url} names no role` } satisfies ErrorReply);
    }
    const header = request.headers.authorization;
    // A signed delivery carries no bearer token: its signature is checked over the raw body (api/routes/hooks.ts).
    if (header === undefined && request.routeOptions.config.signedDelivery === true && request.headers[SIGNATURE_HEADER] !== undefined) return;
    const cookieName = request.routeOptions.config.tokenCookie;
    const token = header !== undefined ? bearerTokenOf(header) : cookieName !== undefined ? cookieValue(request.headers.cookie, cookieName) : undefined;
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

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined for another scheme. The scheme is
 * case-insensitive (RFC 9110 §11.1): Alertmanager sends its `authorization.type` as written, `bearer` too.
 */
export function bearerTokenOf(header: string): string | undefined {
  const credentials = /^bearer +(.*)$/is.exec(header);
  return credentials === null ? undefined : credentials[1]!.trim();
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: "name=value" pairs separated by "; "). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(pair.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The name recorded in events for what this request changed. */
export function actorOf(request: FastifyRequest): { name: string } {
  return { name: request.caller ? `token:${request.caller.name}` : 'anonymous' };
}
