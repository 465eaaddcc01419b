// PostgreSQL's text and jsonb cannot hold the NUL character (U+0000), and jsonb refuses a lone UTF-16
// surrogate (JSON's "\ud800" without its pair: half of a character, which no UTF-8 text can hold). A value
// carrying either failed in the database, a 500 for the caller's mistake (and a 503 "send it again" to a
// webhook, retried for ever). Every JSON body and query string is checked before the handler, and the first
// such value refused, naming the field.
import type { FastifyInstance } from 'fastify';
import type { ErrorReply } from './errors.js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units: no `u` flag). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** What cannot be shown literally in a reply's message: NUL and lone surrogates, written as escapes such as \u0000 and \ud800. */
const UNSTORABLE_CODE_UNITS = new RegExp(`\u0000|${LONE_SURROGATE.source}`, 'g');

const escaped = (text: string): string => text.replace(UNSTORABLE_CODE_UNITS, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Why the database cannot store this text, or undefined when it can. */
function unstorableReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate !== null) return `contains a lone UTF-16 surrogate (${escaped(surrogate[0])}), half of a character, which cannot be stored`;
  return undefined;
}

/** A key or string the database cannot store: the path to it, and why. */
export interface UnstorableText {
  path: string[];
  reason: string;
}

/** The first key or string that holds U+0000 or a lone surrogate. Iterative, and each step keeps only its
 * parent (a path is built only when found): bodies may nest thousands deep. */
export function findUnstorableText(value: unknown): UnstorableText | undefined {
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
      const reason = unstorableReason(current);
      if (reason !== undefined) return { path: pathOf(step), reason };
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push({ value: item, key: String(index), parent: step }));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const reason = unstorableReason(key);
        if (reason !== undefined) return { path: pathOf(step, key), reason };
        pending.push({ value: item, key, parent: step });
      }
    }
  }
  return undefined;
}

/**
 * A preHandler, not a preValidation hook: a route's own preValidation (the webhooks' HMAC signature check) must
 * answer an unauthenticated caller 401 before anything is said about its body. Named for the NUL character it
 * first refused; it refuses lone surrogates as well.
 */
export function installNulCharacterCheck(app: FastifyInstance): void {
  app.addHook('preHandler', async (request, reply) => {
    for (const [where, value] of [['body', request.body], ['query', request.query]] as const) {
      const found = findUnstorableText(value);
      if (found === undefined) continue;
      const field = escaped(found.path.join('.'));
      const body: ErrorReply = { error: 'bad-request', message: `invalid ${where}: ${field ? `${field}: ` : ''}${found.reason}`, ...(field ? { field } : {}) };
      return reply.code(400).send(body);
    }
  });
}
