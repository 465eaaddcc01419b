// e2fsck -fy on an unmounted ext2/3/4 file system. Exit 1 or 2 means repaired (2: reboot needed, which the
// rescue does anyway); 0 means there was nothing to repair, so a second run changes nothing.
import { ShellError } from '../errors.js';
import { e2fsckProblemLines, interpretE2fsckExit } from '../e2fsck-exit.js';
import { evidenceOf } from '../evidence.js';
import { e2fsckModified } from '../ext-damage.js';
import type { Playbook } from './types.js';

export const filesystemRepairPlaybook: Playbook = {
  id: 'filesystem-repair',
  async run(context, target) {
    const { host } = context;
    const subject = target.device;
    if (!context.tools.has('e2fsck')) {
      return { subject, status: 'unavailable', changed: false, actions: ['e2fsck is not available in the rescue environment'], evidence: [] };
    }
    const mounts = (await host.exec(['cat', '/proc/mounts'])).stdout;
    if (mounts.split('\n').some((line) => line.split(' ')[0] === target.device)) {
      return { subject, status: 'failed', changed: false, actions: [`${target.device} is mounted; not checked`], evidence: [], error: { kind: 'command-failed', message: `${target.device} is mounted in the rescue environment` } };
    }
    if (context.dryRun) {
      const check = await host.exec(['e2fsck', '-fn', target.device], { timeoutMs: context.fsckTimeoutMs });
      const outcome = interpretE2fsckExit(check.exitCode ?? 8);
      if (outcome.clean && !/skipping journal recovery/.test(`${check.stdout}\n${check.stderr}`)) return { subject, status: 'unchanged', changed: false, actions: ['e2fsck -fn finds no errors: nothing to repair'], evidence: [evidenceOf(check)] };
      return {
        subject, status: 'would-change', changed: false,
        actions: [`would run e2fsck -fy ${target.device} (e2fsck -fn: ${outcome.description}; ${e2fsckProblemLines(`${check.stdout}\n${check.stderr}`, 3).join('; ')})`],
        evidence: [evidenceOf(check)],
      };
    }
    const result = await host.exec(['e2fsck', '-fy', target.device], { timeoutMs: context.fsckTimeoutMs });
    const outcome = interpretE2fsckExit(result.exitCode ?? 8);
    const evidence = [evidenceOf(result)];
    const output = `${result.stdout}\n${result.stderr}`;
    // Replaying the journal and releasing orphan inodes change the file system even though e2fsck exits 0.
    if (outcome.clean && !e2fsckModified(output)) return { subject, status: 'unchanged', changed: false, actions: ['e2fsck -fy found nothing to repair'], evidence };
    if (outcome.clean) {
      return { subject, status: 'changed', changed: true, actions: [`e2fsck -fy ${target.device}: journal replayed or orphan inodes released`, ...e2fsckProblemLines(output, 10)], evidence };
    }
    const actions = [`e2fsck -fy ${target.device}: ${outcome.description}`, ...e2fsckProblemLines(`${result.stdout}\n${result.stderr}`, 10)];
    if (outcome.uncorrected || outcome.operationalError || outcome.usageError || outcome.cancelled || outcome.libraryError) {
      const error = new ShellError('command-failed', `e2fsck -fy ${target.device} exited ${result.exitCode}: ${outcome.description}`, { command: result.commandLine, exitCode: result.exitCode });
      return { subject, status: 'failed', changed: outcome.corrected, actions, evidence, error: error.toFailure() };
    }
    return { subject, status: 'changed', changed: true, actions, evidence };
  },
};
