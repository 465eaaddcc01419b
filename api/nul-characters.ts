// PostgreSQL's text and jsonb cannot hold the NUL character (U+0000): a value carrying one failed in the
// database, a 500 for the caller's mistake (and a 503 "send it again" to a webhook, retried for ever).
// Every JSON body and query string is checked before the handler, and the first such value refused,
// naming the field.
import type { FastifyInstance } from 'fastify';
import type { ErrorReply } from './errors.js';

/** The path to the first key or string holding U+0000, or undefined. Iterative, and each step keeps only
 * its parent (a path is built only when found): bodies may nest thousands deep. */
export function findNulCharacter(value: unknown): string[] | undefined {
  interface Step {
    value: unknown;
    key: string | undefined;
    parent: Step | undefined;
  }
  const pathOf = (step: Step | undefined, last?: string): string[] => {
    const path: string[] = last === undefined ? [] : [last];
    for (let at = step; at !== undefined && at.key !== undefined; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const pending: Step[] = [{ value, key: undefined, parent: undefined }];
  while (pending.length > 0) {
    const step = pending.pop()!;
    const current = step.value;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return pathOf(step);
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push({ value: item, key: String(index), parent: step }));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (key.includes('\u0000')) return pathOf(step, key);
        pending.push({ value: item, key, parent: step });
      }
    }
  }
  return undefined;
}

/**
 * A preHandler, not a preValidation hook: a route's own preValidation (the webhooks' HMAC signature check) must
 * answer an unauthenticated caller 401 before anything is said about its body.
 */
export function installNulCharacterCheck(app: FastifyInstance): void {
  app.addHook('preHandler', async (request, reply) => {
    for (const [where, value] of [['body', request.body], ['query', request.query]] as const) {
      const path = findNulCharacter(value);
      if (path === undefined) continue;
      const field = path.join('.').replaceAll('\u0000', '\\u0000');
      const body: ErrorReply = { error: 'bad-request', message: `invalid ${where}: ${field ? `${field}: ` : ''}contains a NUL character (\\u0000), which cannot be stored`, ...(field ? { field } : {}) };
      return reply.code(400).send(body);
    }
  });
}
