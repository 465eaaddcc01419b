// Evidence: the command that showed something, its exit status and its output, made safe (safe-text.ts) and
// trimmed to what a report needs.
import type { ExecResult } from './rescue-host.js';
import { EVIDENCE_TEXT_LIMIT, safeText } from './safe-text.js';

export interface Evidence {
  /** The command line as sent to the rescue host (arguments quoted). */
  command: string;
  exitCode: number | null;
  /** stdout and stderr, made safe and trimmed (head and tail kept, the middle cut with a note of its size). */
  output: string;
}

/** Output as evidence keeps it: cleaned, blank ends trimmed, at most `limit` characters (head and tail kept). */
export function evidenceText(text: string, limit = EVIDENCE_TEXT_LIMIT): string {
  return safeText(text.trim(), { limit });
}

export function evidenceOf(result: ExecResult, options: { limit?: number; stdoutOnly?: boolean } = {}): Evidence {
  const streams = options.stdoutOnly
    ? [{ name: 'stdout', text: result.stdout, truncated: result.stdoutTruncated }]
    : [{ name: 'stdout', text: result.stdout, truncated: result.stdoutTruncated }, { name: 'stderr', text: result.stderr, truncated: result.stderrTruncated }];
  const parts = streams.map((stream) => stream.text.trim()).filter((part) => part.length > 0);
  // The session stops reading a stream at its cap: say so, or a report would pass half an output for all of it.
  const cutAtSource = streams.filter((stream) => stream.truncated).map((stream) => `[${stream.name} cut by the session's output cap]`);
  return { command: safeText(result.commandLine), exitCode: result.exitCode, output: evidenceText([...parts, ...cutAtSource].join('\n'), options.limit) };
}
