// SMART health of whole disks, where the rescue environment has smartctl (it usually does not).
import { evidenceOf } from '../evidence.js';
import { finding, type Finding } from '../findings.js';
import type { DiagnosisContext, Probe } from './context.js';

/** smartctl's exit status is a bit mask (smartctl(8) "RETURN VALUES"). */
export function interpretSmartctlExit(exitCode: number): { severity: 'info' | 'warning' | 'critical'; description: string } {
  if (exitCode & 0b11) return { severity: 'info', description: 'SMART not readable on this device' };
  if (exitCode & 0b1000) return { severity: 'critical', description: 'SMART says the disk is failing' };
  if (exitCode & 0b10000) return { severity: 'warning', description: 'prefail attributes at or below threshold' };
  if (exitCode & 0b100) return { severity: 'info', description: 'a SMART command failed (checksum or unsupported)' };
  if (exitCode & 0b100000) return { severity: 'warning', description: 'an attribute was at or below threshold in the past' };
  if (exitCode & 0b11000000) return { severity: 'warning', description: 'errors in the device error log or self-test log' };
  return { severity: 'info', description: 'SMART health PASSED' };
}

export const smartProbe: Probe = {
  name: 'smart',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    if (!context.tools.has('smartctl')) {
      return [finding({ probe: 'smart', check: 'unavailable', severity: 'info', subject: context.host.name, device: null, summary: 'smartctl is not available in the rescue environment; SMART not read', evidence: [] })];
    }
    const findings: Finding[] = [];
    for (const device of context.devices.filter((candidate) => candidate.kind === 'disk')) {
      const result = await context.host.exec(['smartctl', '-H', device.path], { timeoutMs: 60_000 });
      const reading = interpretSmartctlExit(result.exitCode ?? 2);
      findings.push(finding({ probe: 'smart', check: reading.severity === 'info' ? 'health' : 'failing', severity: reading.severity, subject: device.path, device: device.path, summary: reading.description, evidence: [evidenceOf(result)] }));
    }
    return findings;
  },
};
