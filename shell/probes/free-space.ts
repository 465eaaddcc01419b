// Space on each ext file system: a full root breaks logins, package managers and services at boot.
import { finding, type Finding } from '../findings.js';
import type { DiagnosisContext, Probe } from './context.js';

export const FREE_SPACE_WARNING_PERCENT = 90;
export const FREE_SPACE_CRITICAL_PERCENT = 98;

export function freeSpaceSeverity(usedPercent: number): 'info' | 'warning' | 'critical' {
  if (usedPercent > FREE_SPACE_CRITICAL_PERCENT) return 'critical';
  if (usedPercent > FREE_SPACE_WARNING_PERCENT) return 'warning';
  return 'info';
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export const freeSpaceProbe: Probe = {
  name: 'free-space',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const device of context.extFileSystems()) {
      const access = await context.readOnly(device.path);
      const { usage, evidence } = await access.usage();
      if (!usage) {
        findings.push(finding({ probe: 'free-space', check: 'unknown', severity: 'info', subject: device.path, device: device.path, summary: 'space usage could not be read', evidence: [evidence] }));
        continue;
      }
      const severity = freeSpaceSeverity(usage.usedPercent);
      findings.push(finding({
        probe: 'free-space', check: severity === 'info' ? 'ok' : 'low', severity, subject: device.path, device: device.path,
        summary: `${usage.usedPercent}% used, ${mebibytes(usage.availableBytes)} available of ${mebibytes(usage.sizeBytes)}`
          + `${usage.source === 'superblock' ? ' (from the superblock)' : ''}`,
        evidence: [evidence],
        ...(severity === 'info' ? {} : { repair: 'free-space' as const }),
      }));
    }
    return findings;
  },
};
