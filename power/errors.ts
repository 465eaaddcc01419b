// Errors are values with a kind: the chain records them, the activities decide retry or stop from the kind.

export type BmcErrorKind =
  /** The BMC refused the credentials or the privilege level. Never retried. */
  | 'auth'
  /** Nothing answered (connection refused, no route, no IPMI session reply). Retried with backoff. */
  | 'unreachable'
  /** Something answered too slowly, or the operation ran out of time. Retried with backoff. */
  | 'timeout'
  /** The driver or this BMC does not offer the operation (or the value asked for). */
  | 'unsupported'
  /** The BMC answered and refused the request ("Invalid data field", HTTP 409, ...). */
  | 'rejected'
  /** The BMC accepted the request but the machine did not reach the state asked for before the deadline. */
  | 'state-not-reached'
  /** The inventory's settings for this BMC are wrong (unknown option value, no such system, no agent). */
  | 'invalid-config'
  /** The BMC's TLS certificate did not verify (self-signed, wrong name, expired). Never retried. */
  | 'tls'
  /** A bug or an answer the driver could not make sense of. */
  | 'internal';

export const BMC_ERROR_KINDS: readonly BmcErrorKind[] = [
  'auth', 'unreachable', 'timeout', 'unsupported', 'rejected', 'state-not-reached', 'invalid-config', 'tls', 'internal',
];

/**
 * Whether trying the same operation again later may succeed. Inside a driver only `unreachable` and `timeout`
 * are retried; `state-not-reached` is retryable at the activity level (a slow BMC may get there on a second try).
 */
export function isRetryable(kind: BmcErrorKind): boolean {
  return kind === 'unreachable' || kind === 'timeout' || kind === 'state-not-reached';
}

/** The JSON-plain form of a failure, as stored in the chain record. */
export interface BmcFailure {
  kind: BmcErrorKind;
  message: string;
}

export interface BmcErrorOrigin {
  systemName: string;
  driver: string;
}

/** Thrown by drivers. The message names the machine, the driver and what the BMC said. */
export class BmcError extends Error {
  override readonly name = 'BmcError';
  readonly kind: BmcErrorKind;
  readonly systemName: string;
  readonly driver: string;
  /** What the BMC (or the tool) said, verbatim and trimmed; empty when it said nothing. */
  readonly bmcSaid: string;
  /** The same read may give a usable answer a moment later (e.g. a PowerState outside the schema mid-transition). */
  readonly transient: boolean;

  constructor(kind: BmcErrorKind, origin: BmcErrorOrigin, summary: string, bmcSaid = '', transient = false) {
    const said = bmcSaid.trim();
    super(`${origin.systemName}: ${origin.driver}: ${summary}${said ? ` (BMC said: ${said})` : ''}`);
    this.kind = kind;
    this.systemName = origin.systemName;
    this.driver = origin.driver;
    this.bmcSaid = said;
    this.transient = transient;
  }

  toFailure(): BmcFailure {
    return { kind: this.kind, message: this.message };
  }
}

export function isBmcError(error: unknown): error is BmcError {
  return error instanceof BmcError;
}

/** Any thrown value as a BmcFailure; what is not a BmcError is a bug, reported as `internal`. */
export function toFailure(error: unknown, origin: BmcErrorOrigin): BmcFailure {
  if (isBmcError(error)) return error.toFailure();
  const detail = error instanceof Error ? error.message : String(error);
  return { kind: 'internal', message: `${origin.systemName}: ${origin.driver}: unexpected error: ${detail}` };
}
