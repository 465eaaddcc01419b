// /etc/fstab of each installed system, judged (fstab-check.ts) against the file systems and disks that exist:
// a source that names nothing, an unknown or wrong type, a `/` that is not the file system the fstab lives on.
// Without nofail such an entry stops the boot in emergency mode. What cannot be judged is said, with why.
import { finding, type Finding, type Severity } from '../findings.js';
import { describeFstabJudgment, isPlainText, judgeFstab, type FstabProblemCheck, type JudgedFstabEntry } from '../fstab-check.js';
import type { DiagnosisContext, Probe } from './context.js';

function severityOf(item: JudgedFstabEntry, check: FstabProblemCheck): Severity {
  // The kernel's root= decides what is mounted as /; a wrong `/` entry misleads fsck and remount, it does not stop the boot.
  if (check === 'not-root') return 'warning';
  if (item.optional || item.entry.type === 'swap') return 'warning';
  return 'critical';
}

const CONSEQUENCE: Record<FstabProblemCheck, string> = {
  unresolved: 'names nothing present',
  'unknown-type': 'has a type Linux does not know',
  'wrong-type': 'has the wrong type',
  'not-root': 'is not the file system this fstab lives on',
};

export const fstabProbe: Probe = {
  name: 'fstab',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const roots = await context.rootFileSystems();
    if (roots.length === 0) {
      return [finding({
        probe: 'fstab', check: 'no-root', severity: 'warning', subject: context.host.name, device: null,
        summary: 'no readable file system holds an /etc/fstab: the installed system\'s root was not found', evidence: [],
      })];
    }
    const known = context.knownFileSystems();
    const findings: Finding[] = [];
    for (const root of roots) {
      const judgment = judgeFstab({ lines: root.fstab, known, rootDevice: root.device, blockDevices: context.blockDevices });
      const evidence = [root.fstabEvidence];
      let problems = 0;
      if (!isPlainText(root.fstabText)) {
        problems += 1;
        findings.push(finding({
          probe: 'fstab', check: 'not-text', severity: 'warning', subject: `${root.device}:/etc/fstab`, device: root.device,
          summary: '/etc/fstab holds bytes that are not text (NUL or invalid UTF-8, as a crash leaves a file): lines with them are skipped at boot, and it is not rewritten automatically',
          evidence,
        }));
      }
      for (const item of judgment.entries) {
        // Swap entries all mount on "none": their source tells them apart.
        const mount = item.entry.type === 'swap' || item.entry.mountPoint === 'none' ? `swap ${item.entry.spec}` : item.entry.mountPoint;
        const subject = `${root.device}:/etc/fstab:${mount}`;
        const where = `line ${item.entry.lineNumber} (${item.entry.spec} on ${item.entry.mountPoint}, ${item.entry.type})`;
        for (const problem of item.problems) {
          problems += 1;
          const severity = severityOf(item, problem.check);
          findings.push(finding({
            probe: 'fstab', check: problem.check, severity, subject, device: root.device, repair: 'fstab-correct',
            summary: `${where} ${CONSEQUENCE[problem.check]}: ${problem.detail}`
              + (severity === 'critical' ? '; without nofail the boot stops in emergency mode' : item.optional ? '; nofail/noauto: the boot goes on without it' : ''),
            evidence,
          }));
        }
        if (item.problems.length === 0 && item.source.status === 'unjudged') {
          findings.push(finding({
            probe: 'fstab', check: 'unverifiable', severity: 'info', subject, device: root.device,
            summary: `${where} cannot be checked: ${item.source.reason}`, evidence,
          }));
        }
      }
      if (problems === 0) {
        findings.push(finding({
          probe: 'fstab', check: 'ok', severity: 'info', subject: `${root.device}:/etc/fstab`, device: root.device,
          summary: describeFstabJudgment(judgment), evidence,
        }));
      }
    }
    return findings;
  },
};
