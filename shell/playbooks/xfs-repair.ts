// XFS repair, the way xfs_repair(8) asks for it: a log with unreplayed changes is replayed by mounting and
// unmounting the file system first; only when that mount fails, and only when the rescue policy allows losing the
// log, does xfs_repair -L zero it (and the record says so, with what that costs). Then xfs_repair, and a last
// xfs_repair -n that must find nothing.
import { evidenceOf, type Evidence } from '../evidence.js';
import { shellScript } from '../quote.js';
import { lacking } from '../tools.js';
import { interpretXfsRepairCheck, refusedForDirtyLog, xfsProblemLines } from '../xfs-repair-output.js';
import type { Playbook } from './types.js';

const REPLAY_SCRIPT = 'mp=$(mktemp -d /tmp/rescued-xfs.XXXXXX) || exit 1; if mount -t xfs "$1" "$mp"; then umount "$mp"; rc=$?; else rc=1; fi; rmdir "$mp"; exit $rc';

export const xfsRepairPlaybook: Playbook = {
  id: 'xfs-repair',
  async run(context, target) {
    const { host } = context;
    const subject = target.device;
    if (!context.tools.has('xfs_repair')) return { subject, status: 'unavailable', changed: false, actions: [lacking('xfs_repair')], evidence: [] };
    const mounts = (await host.exec(['cat', '/proc/mounts'])).stdout;
    if (mounts.split('\n').some((line) => line.split(' ')[0] === target.device)) {
      return { subject, status: 'failed', changed: false, actions: [`${target.device} is mounted; not repaired`], evidence: [], error: { kind: 'command-failed', message: `${target.device} is mounted in the rescue environment` } };
    }
    const check = await host.exec(['xfs_repair', '-n', target.device], { timeoutMs: context.fsckTimeoutMs });
    const before = interpretXfsRepairCheck(check.exitCode, `${check.stdout}\n${check.stderr}`);
    const evidence: Evidence[] = [evidenceOf(check)];
    if (!before.dirtyLog && !before.corrupt && !before.unreadable) {
      return { subject, status: 'unchanged', changed: false, actions: ['xfs_repair -n finds nothing to repair'], evidence };
    }
    if (context.dryRun) {
      return {
        subject, status: 'would-change', changed: false, evidence,
        actions: [
          ...(before.dirtyLog ? ['would replay the log by mounting and unmounting (xfs_repair -L only if that fails and the policy allows losing the log)'] : []),
          `would run xfs_repair ${target.device}${before.problems.length > 0 ? ` (${before.problems.slice(0, 3).join('; ')})` : ''}`,
        ],
      };
    }
    const actions: string[] = [];
    let changed = false;
    let repair = await host.exec(['xfs_repair', target.device], { timeoutMs: context.fsckTimeoutMs });
    evidence.push(evidenceOf(repair));
    if (refusedForDirtyLog(repair.exitCode, `${repair.stdout}\n${repair.stderr}`)) {
      const replay = await host.exec(shellScript(REPLAY_SCRIPT, target.device), { timeoutMs: context.fsckTimeoutMs });
      evidence.push(evidenceOf(replay));
      if (replay.exitCode === 0) {
        actions.push('log replayed by mounting and unmounting the file system (no change lost)');
        changed = true;
      } else if (context.policy.allowXfsLogZeroing) {
        const zero = await host.exec(['xfs_repair', '-L', target.device], { timeoutMs: context.fsckTimeoutMs });
        evidence.push(evidenceOf(zero));
        actions.push('LOG ZEROED: the log could not be replayed (mount failed) and the rescue policy allows losing it: xfs_repair -L discarded the metadata changes in the log; files written just before the failure may be lost or damaged');
        changed = true;
        if (zero.exitCode !== 0) {
          return { subject, status: 'failed', changed, actions, evidence, error: { kind: 'command-failed', message: `xfs_repair -L ${target.device} exited ${zero.exitCode}` } };
        }
      } else {
        actions.push('the log could not be replayed (mount failed); xfs_repair -L would discard it, which the rescue policy does not allow (allowXfsLogZeroing)');
        return { subject, status: 'failed', changed: false, actions, evidence, error: { kind: 'command-failed', message: `the XFS log on ${target.device} cannot be replayed and zeroing it is not allowed` } };
      }
      repair = await host.exec(['xfs_repair', target.device], { timeoutMs: context.fsckTimeoutMs });
      evidence.push(evidenceOf(repair));
    }
    if (repair.exitCode !== 0) {
      return { subject, status: 'failed', changed, actions: [...actions, `xfs_repair ${target.device} exited ${repair.exitCode}`], evidence, error: { kind: 'command-failed', message: `xfs_repair ${target.device} exited ${repair.exitCode}` } };
    }
    actions.push(`xfs_repair ${target.device}: done`, ...xfsProblemLines(`${repair.stdout}\n${repair.stderr}`).slice(0, 10));
    const after = await host.exec(['xfs_repair', '-n', target.device], { timeoutMs: context.fsckTimeoutMs });
    evidence.push(evidenceOf(after));
    const verdict = interpretXfsRepairCheck(after.exitCode, `${after.stdout}\n${after.stderr}`);
    if (verdict.corrupt || verdict.dirtyLog || verdict.unreadable) {
      return { subject, status: 'failed', changed: true, actions: [...actions, 'xfs_repair -n still finds problems'], evidence, error: { kind: 'command-failed', message: `xfs_repair -n ${target.device} still finds problems after the repair` } };
    }
    return { subject, status: 'changed', changed: true, actions, evidence };
  },
};
