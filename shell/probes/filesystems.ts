// File system checks that change nothing: `e2fsck -fn` on ext2/3/4, `xfs_repair -n` on XFS where the rescue
// environment has it. Runs before any other probe reads (and maybe mounts) the file systems.
import { e2fsckProblemLines, interpretE2fsckExit, saysNoExtFileSystem } from '../e2fsck-exit.js';
import { classifyExtDamage, describeExtDamage } from '../ext-damage.js';
import { interpretXfsRepairCheck } from '../xfs-repair-output.js';
import { evidenceOf } from '../evidence.js';
import { finding, type Finding } from '../findings.js';
import { candidateDevices, isExtType } from '../inventory.js';
import type { DiagnosisContext, Probe } from './context.js';

export const filesystemsProbe: Probe = {
  name: 'filesystems',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    const mounts = (await context.host.exec(['cat', '/proc/mounts'])).stdout;
    const mountedDevices = new Set(mounts.split('\n').map((line) => line.split(' ')[0]).filter(Boolean));

    for (const device of candidateDevices(context.devices)) {
      const type = device.fileSystem?.type ?? null;
      const base = { subject: device.path, device: device.path, probe: 'filesystems' as const };
      if (type === 'xfs') {
        findings.push(...await checkXfs(context, device.path));
        continue;
      }
      if (type !== null && !isExtType(type)) {
        findings.push(finding({ ...base, check: 'not-checked', severity: 'info', summary: `${type}: no checker for this type`, evidence: [] }));
        continue;
      }
      if (!context.tools.has('e2fsck')) {
        findings.push(finding({ ...base, check: 'unavailable', severity: 'info', summary: 'e2fsck is not available in the rescue environment', evidence: [] }));
        continue;
      }
      if (mountedDevices.has(device.path)) {
        findings.push(finding({ ...base, check: 'mounted', severity: 'warning', summary: `${device.path} is mounted in the rescue environment; not checked`, evidence: [] }));
        continue;
      }
      const result = await context.host.exec(['e2fsck', '-fn', device.path], { timeoutMs: context.settings.fsckTimeoutMs });
      const output = `${result.stdout}\n${result.stderr}`;
      const outcome = interpretE2fsckExit(result.exitCode ?? 8);
      const evidence = [evidenceOf(result)];
      const name = `${type ?? 'file system'}${device.fileSystem?.label ? ` "${device.fileSystem.label}"` : ''}`;
      // The superblock says what e2fsck -n keeps quiet about: a journal to replay, an orphan list to release.
      const superblock = context.tools.has('tune2fs') ? await context.host.exec(['tune2fs', '-l', device.path], { timeoutMs: 30_000 }) : null;
      const superblockText = superblock?.exitCode === 0 ? superblock.stdout : '';
      const damage = classifyExtDamage(output, superblockText);
      if (superblock && superblockText) evidence.push(evidenceOf(superblock, { stdoutOnly: true, limit: 1200 }));
      if (outcome.clean && damage.classes.includes('journal-recovery')) {
        findings.push(finding({
          ...base, check: 'journal-recovery', severity: 'warning', repair: 'filesystem-repair',
          summary: `${name}: the journal needs recovery (needs_recovery set: the system stopped without unmounting); e2fsck -fy replays it`, evidence,
        }));
      } else if (outcome.clean) {
        findings.push(finding({ ...base, check: 'clean', severity: 'info', summary: `${name}: clean (e2fsck -fn: ${outcome.description})`, evidence }));
      } else if (outcome.operationalError && saysNoExtFileSystem(output)) {
        context.unreadable.add(device.path);
        if (type === null) {
          findings.push(finding({ ...base, check: 'unrecognised', severity: 'info', summary: 'no ext2/3/4 file system (no valid superblock, primary or backup)', evidence }));
        } else {
          findings.push(finding({ ...base, check: 'unreadable', severity: 'critical', summary: `${name}: e2fsck finds no valid superblock, primary or backup`, evidence }));
        }
      } else if (outcome.uncorrected) {
        if (/Superblock invalid|Bad magic number/.test(output)) context.unreadable.add(device.path);
        const first = e2fsckProblemLines(output, 3).join('; ');
        const named = describeExtDamage(damage);
        findings.push(finding({
          ...base, check: 'errors', severity: 'critical', repair: 'filesystem-repair',
          summary: `${name}: e2fsck -fn found errors (${outcome.description})${named ? `: ${named}` : ''}${first ? ` [${first}]` : ''}`, evidence,
        }));
      } else {
        findings.push(finding({ ...base, check: 'check-failed', severity: 'warning', summary: `${name}: e2fsck -fn: ${outcome.description}`, evidence }));
      }
    }
    return findings;
  },
};

async function checkXfs(context: DiagnosisContext, device: string): Promise<Finding[]> {
  const base = { probe: 'filesystems' as const, subject: device, device };
  if (!context.tools.has('xfs_repair')) {
    return [finding({ ...base, check: 'unavailable', severity: 'warning', summary: 'xfs: not checked: the rescue image lacks xfs_repair (xfsprogs)', evidence: [] })];
  }
  const result = await context.host.exec(['xfs_repair', '-n', device], { timeoutMs: context.settings.fsckTimeoutMs });
  const evidence = [evidenceOf(result)];
  const check = interpretXfsRepairCheck(result.exitCode, `${result.stdout}\n${result.stderr}`);
  const findings: Finding[] = [];
  if (check.dirtyLog) {
    findings.push(finding({
      ...base, check: 'xfs-dirty-log', severity: 'warning', repair: 'xfs-repair',
      summary: 'xfs: the log holds metadata changes not yet replayed (the system stopped without unmounting); a mount replays them', evidence,
    }));
  }
  if (check.corrupt) {
    findings.push(finding({
      ...base, check: 'errors', severity: 'critical', repair: 'xfs-repair',
      summary: `xfs: xfs_repair -n found metadata corruption${check.problems.length > 0 ? `: ${check.problems.slice(0, 3).join('; ')}` : ''}${check.dirtyLog ? ' (some may go away once the log is replayed)' : ''}`,
      evidence,
    }));
  }
  if (check.unreadable) {
    findings.push(finding({ ...base, check: 'unreadable', severity: 'critical', summary: `xfs: xfs_repair cannot read the file system: ${check.problems.slice(0, 2).join('; ')}`, evidence }));
  }
  if (findings.length === 0) findings.push(finding({ ...base, check: 'clean', severity: 'info', summary: 'xfs: clean (xfs_repair -n)', evidence }));
  return findings;
}
