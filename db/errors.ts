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
