// PostgreSQL (and PGlite, which reports the same SQLSTATE codes) errors that are the caller's doing.
export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
/** PostgreSQL 17 (PGlite) reports an ON DELETE RESTRICT refusal with its own code. */
export const RESTRICT_VIOLATION = '23001';

interface ErrorWithCode {
  code?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

/** The SQLSTATE of a database error, looking through drizzle's wrapping. */
export function sqlStateOf(error: unknown): { code: string; constraint: string | undefined } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as ErrorWithCode;
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      return { code: candidate.code, constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined };
    }
    current = candidate.cause;
  }
  return undefined;
}

/** Node socket errors and PostgreSQL's own codes that mean the database is not there (not a bad query). */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '53300']);
const CONNECTION_ERROR_MESSAGES = /PGlite is closed|Connection terminated|Cannot use a pool after calling end|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** Whether a database call failed because the database is down or unreachable (SQLSTATE class 08, 57P0x). */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as ErrorWithCode & { message?: unknown };
    if (typeof candidate.code === 'string' && (CONNECTION_ERROR_CODES.has(candidate.code) || /^08[0-9A-Z]{3}$/.test(candidate.code))) return true;
    if (typeof candidate.message === 'string' && CONNECTION_ERROR_MESSAGES.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}

/**
 * What the database said, for a reply: the innermost message of the error's causes (drizzle wraps the driver's
 * error in "Failed query: <the statement> params: <its parameters>", which is no business of the caller's and
 * can be as long as what was sent), at most 200 characters.
 */
export function databaseErrorMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let current: unknown = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}
