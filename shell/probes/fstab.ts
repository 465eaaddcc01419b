// /etc/fstab of each installed system against the file systems that exist: an entry whose UUID or LABEL names
// nothing stops the boot in emergency mode (unless it is nofail/noauto).
import { finding, type Finding } from '../findings.js';
import { entryIsOptional, fstabEntries, namesLocalDevice, resolveFstabSource } from '../fstab.js';
import type { DiagnosisContext, Probe } from './context.js';

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
      const entries = fstabEntries(root.fstab);
      let checked = 0;
      for (const entry of entries) {
        if (!namesLocalDevice(entry)) continue;
        checked += 1;
        const subject = `${root.device}:/etc/fstab:${entry.mountPoint}`;
        const resolution = resolveFstabSource(entry.source, known);
        if (resolution.status === 'found') continue;
        if (resolution.status === 'unverifiable') {
          findings.push(finding({
            probe: 'fstab', check: 'unverifiable', severity: 'info', subject, device: root.device,
            summary: `line ${entry.lineNumber} (${entry.spec} on ${entry.mountPoint}) cannot be checked: ${resolution.reason}`,
            evidence: [root.fstabEvidence],
          }));
          continue;
        }
        const optional = entryIsOptional(entry);
        const severity = optional || entry.type === 'swap' ? 'warning' : 'critical';
        findings.push(finding({
          probe: 'fstab', check: 'unresolved', severity, subject, device: root.device, repair: 'fstab-correct',
          summary: `line ${entry.lineNumber}: ${entry.spec} (${entry.mountPoint}, ${entry.type}) matches no file system present`
            + (severity === 'critical' ? '; the boot stops in emergency mode' : ''),
          evidence: [root.fstabEvidence],
        }));
      }
      if (!findings.some((item) => item.device === root.device && item.severity !== 'info')) {
        findings.push(finding({
          probe: 'fstab', check: 'ok', severity: 'info', subject: `${root.device}:/etc/fstab`, device: root.device,
          summary: `${checked} device entr${checked === 1 ? 'y' : 'ies'} in /etc/fstab, each matches a file system present`,
          evidence: [root.fstabEvidence],
        }));
      }
    }
    return findings;
  },
};
