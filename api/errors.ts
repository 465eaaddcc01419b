// One error shape for every reply: { error, message, field? }. The caller's mistakes are 4xx with a
// message naming what was wrong; a dependency that is down (Temporal, the database, no worker to answer)
// is a 503 naming it; only our own failures are 500s, and those never carry internals.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { InventoryError } from '../inventory/errors.js';
import { DependencyUnavailableError } from '../config/unavailable.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { temporalUnavailable } from '../temporal/unavailable.js';

export interface ErrorReply {
  error: string;
  message: string;
  field?: string;
}

const STATUS_BY_KIND = { 'not-found': 404, conflict: 409, 'in-use': 409, invalid: 400 } as const;

/** An error a route throws on purpose, with the status and message the caller should see. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

function describeValidation(error: FastifyError & { validation: Array<{ instancePath: string; message?: string | undefined; params?: unknown }> }): ErrorReply {
  const where = (error as { validationContext?: string }).validationContext ?? 'body';
  const first = error.validation[0];
  const path = first?.instancePath.replace(/^\//, '').replaceAll('/', '.') ?? '';
  const unknownKeys = (first?.params as { keys?: string[] } | undefined)?.keys;
  const field = unknownKeys?.length ? [path, unknownKeys[0]].filter(Boolean).join('.') : path;
  const messages = error.validation.map((v) => {
    const at = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return `${at ? `${at}: ` : ''}${v.message ?? 'is invalid'}`;
  });
  return { error: 'bad-request', message: `invalid ${where}: ${messages.join('; ')}`, ...(field ? { field } : {}) };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      return reply.code(400).send(describeValidation(error));
    }
    if (error instanceof InventoryError) {
      const body: ErrorReply = { error: error.kind, message: error.message, ...(error.field ? { field: error.field } : {}) };
      return reply.code(STATUS_BY_KIND[error.kind]).send(body);
    }
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({ error: error.error, message: error.message } satisfies ErrorReply);
    }
    const unavailable = temporalUnavailable(error) ?? (isDatabaseUnavailable(error) ? new DependencyUnavailableError('database', 'not reachable') : undefined);
    if (unavailable !== undefined) {
      request.log.warn({ err: error }, `${unavailable.dependency} unavailable`);
      return reply.code(503).header('retry-after', '10').send({ error: 'unavailable', message: unavailable.message } satisfies ErrorReply);
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error }, 'reply did not match its schema');
      return reply.code(500).send({ error: 'internal', message: 'the server built a reply it could not send; see the server log' } satisfies ErrorReply);
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own refusals: a broken JSON body, a wrong content type, a body too large.
      return reply.code(status).send({ error: 'bad-request', message: error.message } satisfies ErrorReply);
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' } satisfies ErrorReply);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` } satisfies ErrorReply);
  });
}
