// The installed system's own account of its last boots: error lines at the end of its text logs. Its systemd
// journal is binary; the rescue environment rarely has journalctl, so it is only noted.
import { finding, type Finding } from '../findings.js';
import type { Evidence } from '../evidence.js';
import type { DiagnosisContext, Probe } from './context.js';

export const BOOT_LOG_FILES = ['/var/log/boot.log', '/var/log/syslog', '/var/log/messages', '/var/log/kern.log'] as const;
const TAIL_BYTES = 64 * 1024;
const MAX_LINES = 20;

const ERROR_LINE = /\b(error|failed|failure|panic|oops|segfault|call trace|i\/o error|timed out|emergency mode|cannot|can't|unable to)\b/i;
const SERIOUS_LINE = /kernel panic|EXT4-fs error|I\/O error|emergency mode|Failed to mount|Dependency failed|Timed out waiting for device|Call Trace/i;

/** Error lines among the last lines of a log, newest last, at most `max`. */
export function errorLines(text: string, max = MAX_LINES): string[] {
  const lines = text.split('\n');
  // The first line of a tail may be cut in the middle.
  if (lines.length > 1) lines.shift();
  return lines.filter((line) => ERROR_LINE.test(line)).slice(-max).map((line) => line.slice(0, 300));
}

export const bootLogsProbe: Probe = {
  name: 'boot-logs',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const root of await context.rootFileSystems()) {
      const access = await context.readOnly(root.device);
      const collected: string[] = [];
      const evidence: Evidence[] = [];
      // One listing says which logs exist, so only those are read.
      const logDirectory = await access.list('/var/log');
      const present = new Set((logDirectory.entries ?? []).filter((entry) => entry.type === 'file').map((entry) => `/var/log/${entry.name}`));
      for (const path of BOOT_LOG_FILES.filter((candidate) => present.has(candidate))) {
        const read = await access.readFile(path, { tailBytes: TAIL_BYTES });
        if (read.content === null) continue;
        const lines = errorLines(read.content);
        if (lines.length === 0) continue;
        collected.push(...lines.map((line) => `${path}: ${line}`));
        evidence.push({ command: read.evidence.command, exitCode: read.evidence.exitCode, output: lines.join('\n') });
      }
      if (collected.length > 0) {
        const serious = collected.filter((line) => SERIOUS_LINE.test(line));
        findings.push(finding({
          // Past events, not the present state: clues for the operator, never something a repair makes go away.
          probe: 'boot-logs', check: 'errors', severity: 'info', subject: `${root.device}:/var/log`, device: root.device,
          summary: `${collected.length} error line(s) at the end of the logs${serious.length > 0 ? `, e.g. ${serious.at(-1)}` : ''}`,
          evidence,
        }));
      }
      const hasJournal = (logDirectory.entries ?? []).some((entry) => entry.name === 'journal' && entry.type === 'directory');
      if (hasJournal && !context.tools.has('journalctl')) {
        findings.push(finding({
          probe: 'boot-logs', check: 'journal-unread', severity: 'info', subject: `${root.device}:/var/log/journal`, device: root.device,
          summary: 'the installed system keeps a systemd journal; journalctl is not available in the rescue environment to read it',
          evidence: [],
        }));
      }
    }
    return findings;
  },
};
