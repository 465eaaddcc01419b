// Errors are values with a kind: the activity decides retry or stop from the kind, never from the message.
import { safeText } from './safe-text.js';

/** Characters kept of a failure message (they quote tools' stderr). */
const FAILURE_MESSAGE_LIMIT = 4000;

export type ShellErrorKind =
  /** The server's host key is not the one the rescue environment phoned home with. Never retried. */
  | 'host-key-mismatch'
  /** The server refused our key (or the key we were given could not be used). Never retried. */
  | 'auth'
  /** Nothing answered: connection refused, no route, no such host. Retried with backoff. */
  | 'unreachable'
  /** The handshake or a command ran out of time. Retried with backoff. */
  | 'timeout'
  /** A command ran and exited with a status the caller did not accept. */
  | 'command-failed'
  /** The connection broke, or the server said something we could not make sense of. */
  | 'protocol';

export const SHELL_ERROR_KINDS: readonly ShellErrorKind[] = [
  'host-key-mismatch', 'auth', 'unreachable', 'timeout', 'command-failed', 'protocol',
];

export function isRetryableShellError(kind: ShellErrorKind): boolean {
  return kind === 'unreachable' || kind === 'timeout' || kind === 'protocol';
}

/** The JSON-plain form of a failure, as stored in a diagnosis or a playbook result. */
export interface ShellFailure {
  kind: ShellErrorKind;
  message: string;
}

export class ShellError extends Error {
  override readonly name = 'ShellError';
  readonly kind: ShellErrorKind;
  /** The command line, for `timeout` and `command-failed`. */
  readonly command: string | undefined;
  readonly exitCode: number | null;

  constructor(kind: ShellErrorKind, message: string, details: { command?: string; exitCode?: number | null; cause?: unknown } = {}) {
    // Messages quote tools' stderr: made safe here, so that every path they take (a stored failure, an activity
    // failure in the workflow history, a log line) carries safe text.
    super(safeText(message, { limit: FAILURE_MESSAGE_LIMIT }), details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.command = details.command;
    this.exitCode = details.exitCode ?? null;
  }

  toFailure(): ShellFailure {
    return { kind: this.kind, message: this.message };
  }
}

export function isShellError(error: unknown): error is ShellError {
  return error instanceof ShellError;
}

/** Any thrown value as a ShellFailure; what is not a ShellError is reported as `protocol` with its message. */
export function toShellFailure(error: unknown): ShellFailure {
  if (isShellError(error)) return error.toFailure();
  return { kind: 'protocol', message: safeText(error instanceof Error ? error.message : String(error), { limit: FAILURE_MESSAGE_LIMIT }) };
}
