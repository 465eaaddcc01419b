// An md array that did not start because a member is missing: start it degraded (`mdadm --run` on the array that
// `mdadm --incremental` left inactive), so that the file system on it can be checked and the machine boots,
// and say which member is missing. Redundancy comes back only with a new disk (mdadm --add), which the record says.
import { evidenceOf } from '../evidence.js';
import { shellScript } from '../quote.js';
import { lacking } from '../tools.js';
import type { Playbook } from './types.js';

const FIND_ARRAY = 'm=$(basename "$1"); for b in /sys/block/md*; do [ -e "$b/slaves/$m" ] && { echo "${b##*/} $(cat "$b/md/array_state")"; exit 0; }; done; exit 1';

export const raidAssembleDegradedPlaybook: Playbook = {
  id: 'raid-assemble-degraded',
  async run(context, target) {
    const { host } = context;
    const subject = target.device;
    if (!context.tools.has('mdadm')) return { subject, status: 'unavailable', changed: false, actions: [lacking('mdadm')], evidence: [] };
    let found = await host.exec(shellScript(FIND_ARRAY, target.device));
    if (found.exitCode !== 0) {
      // Not even assembled inactive (e.g. stopped since): gather the member into its array again.
      await host.exec(['mdadm', '--incremental', target.device], { timeoutMs: 60_000 });
      found = await host.exec(shellScript(FIND_ARRAY, target.device));
    }
    const [array, state] = found.stdout.trim().split(/\s+/);
    if (found.exitCode !== 0 || !array) {
      return { subject, status: 'failed', changed: false, actions: [`no md array holds ${target.device}`], evidence: [evidenceOf(found)], error: { kind: 'command-failed', message: `no md array holds ${target.device}` } };
    }
    if (state !== 'inactive') {
      return { subject, status: 'unchanged', changed: false, actions: [`/dev/${array} is already running (${state})`], evidence: [evidenceOf(found)] };
    }
    if (context.dryRun) return { subject, status: 'would-change', changed: false, actions: [`would start /dev/${array} degraded (mdadm --run)`], evidence: [evidenceOf(found)] };
    const run = await host.exec(['mdadm', '--run', `/dev/${array}`], { timeoutMs: 120_000 });
    const detail = await host.exec(['mdadm', '--detail', `/dev/${array}`], { timeoutMs: 60_000 });
    const evidence = [evidenceOf(run), evidenceOf(detail, { limit: 2000 })];
    if (run.exitCode !== 0) {
      return { subject, status: 'failed', changed: false, actions: [`mdadm --run /dev/${array} failed`], evidence, error: { kind: 'command-failed', message: `mdadm --run /dev/${array} exited ${run.exitCode}` } };
    }
    const removed = detail.stdout.split('\n').filter((line) => /\bremoved\b/.test(line)).length;
    await context.refreshDevices();
    return {
      subject, status: 'changed', changed: true, evidence,
      actions: [
        `/dev/${array} started degraded (mdadm --run): ${/State : (.*)/.exec(detail.stdout)?.[1]?.trim() ?? 'running'}`,
        `${removed} member slot(s) empty: replace the missing disk and mdadm --add it to restore redundancy`,
      ],
    };
  },
};
