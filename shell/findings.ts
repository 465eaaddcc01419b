// The vocabulary of a diagnosis: findings, their severities, the probes that make them and the playbooks that
// repair them. Everything here is JSON-plain: it goes into workflow results and the database as is.
import type { Evidence } from './evidence.js';

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export type ProbeName = 'block-devices' | 'storage' | 'filesystems' | 'fstab' | 'boot' | 'free-space' | 'smart' | 'boot-logs';
export const PROBE_NAMES: readonly ProbeName[] = ['block-devices', 'storage', 'filesystems', 'fstab', 'boot', 'free-space', 'smart', 'boot-logs'];

export type PlaybookId =
  | 'raid-assemble-degraded' | 'filesystem-repair' | 'xfs-repair' | 'fstab-correct' | 'bootloader-reinstall' | 'kernel-previous-default'
  | 'initramfs-rebuild' | 'grub-root-correct' | 'free-space';
export const PLAYBOOK_IDS: readonly PlaybookId[] = [
  'raid-assemble-degraded', 'filesystem-repair', 'xfs-repair', 'fstab-correct', 'bootloader-reinstall', 'kernel-previous-default',
  'initramfs-rebuild', 'grub-root-correct', 'free-space',
];

export interface Finding {
  /** Stable across runs for the same problem: `<probe>:<check>:<subject>`, so a re-diagnosis can be compared. */
  id: string;
  probe: ProbeName;
  severity: Severity;
  /** What the finding is about: a device (`/dev/vda1`), or a device and a path (`/dev/vda1:/etc/fstab`). */
  subject: string;
  /** The device a playbook acts on; null when the finding is about the host as a whole. */
  device: string | null;
  summary: string;
  evidence: Evidence[];
  /** The playbook that repairs it, when there is one. */
  repair?: PlaybookId;
  /** Why only a reinstall (or new hardware) brings the machine back, when no playbook can. */
  reinstall?: string;
}

export function finding(fields: Omit<Finding, 'id'> & { check: string }): Finding {
  const { check, ...rest } = fields;
  return { id: `${rest.probe}:${check}:${rest.subject}`, ...rest };
}

/** Warnings and critical findings: what a repair is for. */
export function problems(findings: readonly Finding[]): Finding[] {
  return findings.filter((item) => item.severity !== 'info');
}
