// Which disks, partitions and file systems the rescue environment sees.
import { finding, type Finding } from '../findings.js';
import type { DiagnosisContext, Probe } from './context.js';

function describeSize(bytes: number | null): string {
  if (bytes === null) return 'size unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export const blockDevicesProbe: Probe = {
  name: 'block-devices',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    if (context.devices.length === 0) {
      findings.push(finding({
        probe: 'block-devices', check: 'none-found', severity: 'critical', subject: context.host.name, device: null,
        summary: 'no disks found in /proc/partitions (missing disk driver in the rescue image, or a dead disk controller)',
        evidence: [],
      }));
    }
    for (const device of context.devices) {
      if (device.kind === 'missing') {
        findings.push(finding({
          probe: 'block-devices', check: 'missing', severity: 'critical', subject: device.path, device: device.path,
          summary: `${device.path} does not exist in the rescue environment`, evidence: [],
        }));
        continue;
      }
      const fs = device.fileSystem;
      const what = device.kind === 'disk' && device.partitions.length > 0
        ? `disk with partitions ${device.partitions.join(', ')}`
        : fs
          ? `${fs.type ?? 'unknown type'}${fs.uuid ? ` UUID=${fs.uuid}` : ''}${fs.label ? ` LABEL=${fs.label}` : ''}`
          : 'no file system recognised';
      findings.push(finding({
        probe: 'block-devices', check: 'device', severity: 'info', subject: device.path, device: device.path,
        summary: `${device.kind} ${device.path}, ${describeSize(device.sizeBytes)}: ${what}`, evidence: [],
      }));
    }
    return findings;
  },
};
