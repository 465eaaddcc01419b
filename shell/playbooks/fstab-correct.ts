// Corrects /etc/fstab entries that the judgment (fstab-check.ts) finds wrong (see fstab-correction.ts for the
// rules). Reads through a read-only access; only when something must change does it open the file system for
// writing, keep the original as /etc/fstab.rescued-<timestamp> and write the corrected file. A file that is not
// text (NULs, bytes that are not UTF-8) is never rewritten: the rewrite would not keep those bytes.
import { ShellError } from '../errors.js';
import { evidenceText } from '../evidence.js';
import { describeFstabJudgment, isPlainText, judgeFstab } from '../fstab-check.js';
import { planFstabCorrection, type FstabChange } from '../fstab-correction.js';
import { parseFstab } from '../fstab.js';
import { isExtType, knownFileSystems, candidateDevices } from '../inventory.js';
import type { Playbook } from './types.js';

const FSTAB = '/etc/fstab';

function describeChange(change: FstabChange): string {
  const where = `line ${change.lineNumber} (${change.mountPoint})`;
  if (change.action === 'replaced') return `${where}: ${change.from} replaced by ${change.to} (${change.reason})`;
  if (change.action === 'retyped') return `${where}: type ${change.from} replaced by ${change.to} (${change.reason})`;
  return `${where}: commented out ${change.from} (${change.reason})`;
}

export const fstabCorrectPlaybook: Playbook = {
  id: 'fstab-correct',
  async run(context, target) {
    const devices = await context.refreshDevices();
    const known = knownFileSystems(devices);
    const blockDevices = context.blockDevices();
    const subject = `${target.device}:${FSTAB}`;
    const otherRoots: string[] = [];
    for (const device of candidateDevices(devices)) {
      if (device.path === target.device || !isExtType(device.fileSystem?.type)) continue;
      if (await context.reading(device.path, async (fs) => (await fs.readFile(FSTAB, { maxBytes: 1 })).content !== null)) otherRoots.push(device.path);
    }
    const read = await context.reading(target.device, (fs) => fs.readFile(FSTAB, { maxBytes: 256 * 1024 }));
    if (read.content === null) {
      return { subject, status: 'failed', changed: false, actions: [`${FSTAB} not found on ${target.device}`], evidence: [read.evidence], error: { kind: 'command-failed', message: `${FSTAB} not found on ${target.device}` } };
    }
    const original = read.content;
    const lines = parseFstab(original);
    const plan = planFstabCorrection({ lines, known, rootDevice: target.device, blockDevices, otherRoots, date: context.date() });
    if (plan.changes.length === 0) {
      const judged = describeFstabJudgment(judgeFstab({ lines, known, rootDevice: target.device, blockDevices }));
      return { subject, status: 'unchanged', changed: false, actions: [`nothing to correct in ${FSTAB}: ${judged}`], evidence: [read.evidence] };
    }
    if (!isPlainText(original)) {
      const message = `${FSTAB} on ${target.device} holds bytes that are not text (NUL or invalid UTF-8); not rewritten, correct it by hand`;
      return {
        subject, status: 'failed', changed: false, actions: [message, ...plan.changes.map((change) => `would have changed ${describeChange(change)}`)],
        evidence: [read.evidence], error: { kind: 'command-failed', message },
      };
    }
    const described = plan.changes.map(describeChange);
    const backup = `${FSTAB}.rescued-${context.timestamp()}`;
    if (context.dryRun) {
      return { subject, status: 'would-change', changed: false, actions: [`would keep the original as ${backup}`, ...described.map((line) => `would change ${line}`)], evidence: [read.evidence] };
    }
    const evidence = await context.writing(target.device, async (fs) => {
      // Written only if the file is still what the plan was made from.
      const again = await fs.readFile(FSTAB, { maxBytes: 256 * 1024 });
      if (again.content !== original) throw new ShellError('command-failed', `${FSTAB} on ${target.device} changed while the correction was planned`);
      const backupEvidence = await fs.writeFile(backup, original);
      const writeEvidence = await fs.writeFile(FSTAB, plan.text);
      return [backupEvidence, writeEvidence];
    });
    return {
      subject, status: 'changed', changed: true, actions: [`kept the original as ${backup}`, ...described],
      evidence: [...evidence, { command: `new ${FSTAB}`, exitCode: 0, output: evidenceText(plan.text) }],
    };
  },
};
