// Corrects /etc/fstab entries that name no file system present (see fstab-correction.ts for the rules). Reads
// through a read-only access; only when something must change does it open the file system for writing, keep
// the original as /etc/fstab.rescued-<timestamp> and write the corrected file.
import { ShellError } from '../errors.js';
import { planFstabCorrection } from '../fstab-correction.js';
import { parseFstab } from '../fstab.js';
import { isExtType, knownFileSystems, candidateDevices } from '../inventory.js';
import type { Playbook } from './types.js';

const FSTAB = '/etc/fstab';

export const fstabCorrectPlaybook: Playbook = {
  id: 'fstab-correct',
  async run(context, target) {
    const devices = await context.refreshDevices();
    const known = knownFileSystems(devices);
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
    const plan = planFstabCorrection({ lines: parseFstab(original), known, rootDevice: target.device, otherRoots, date: context.date() });
    const described = plan.changes.map((change) => change.action === 'replaced'
      ? `line ${change.lineNumber} (${change.mountPoint}): ${change.from} replaced by ${change.to} (${change.reason})`
      : `line ${change.lineNumber} (${change.mountPoint}): commented out, ${change.from} not found (${change.reason})`);
    if (plan.changes.length === 0) {
      return { subject, status: 'unchanged', changed: false, actions: ['every device entry matches a file system present'], evidence: [read.evidence] };
    }
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
    return { subject, status: 'changed', changed: true, actions: [`kept the original as ${backup}`, ...described], evidence: [...evidence, { command: `new ${FSTAB}`, exitCode: 0, output: plan.text }] };
  },
};
