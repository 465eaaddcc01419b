// Evidence: the command that showed something, its exit status and its output, trimmed to what a report needs.
import type { ExecResult } from './rescue-host.js';

export interface Evidence {
  /** The command line as sent to the rescue host (arguments quoted). */
  command: string;
  exitCode: number | null;
  /** stdout and stderr, trimmed (head and tail kept, the middle dropped when long). */
  output: string;
}

export const EVIDENCE_OUTPUT_LIMIT = 3000;

/** Keeps the first quarter and the last three quarters of `limit` characters; the end is where tools say why. */
export function trimOutput(text: string, limit = EVIDENCE_OUTPUT_LIMIT): string {
  const trimmed = text.trim();
  if (trimmed.length <= limit) return trimmed;
  const head = Math.floor(limit / 4);
  const tail = limit - head;
  const omitted = trimmed.length - head - tail;
  return `${trimmed.slice(0, head)}\n… [${omitted} characters omitted] …\n${trimmed.slice(trimmed.length - tail)}`;
}

export function evidenceOf(result: ExecResult, options: { limit?: number; stdoutOnly?: boolean } = {}): Evidence {
  const parts = options.stdoutOnly ? [result.stdout] : [result.stdout, result.stderr];
  const output = parts.map((part) => part.trim()).filter((part) => part.length > 0).join('\n');
  return { command: result.commandLine, exitCode: result.exitCode, output: trimOutput(output, options.limit) };
}
