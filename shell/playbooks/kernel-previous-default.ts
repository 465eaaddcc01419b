// When GRUB's default entry boots a kernel that is gone, make the newest entry whose kernel exists the default:
// in grubenv (saved_entry) when grub.cfg takes its default from there, else in grub.cfg's `set default=` line.
// The original file is kept as <file>.rescued-<timestamp>.
import { bootLocation, effectiveDefaultEntry, entryComplete, readBootInventory, type BootInventory, type BootLocation } from '../boot-files.js';
import type { Evidence } from '../evidence.js';
import { compareKernelVersions, defaultReferenceFor, renderGrubEnv, type GrubMenuEntry } from '../grub.js';
import { parseFstab } from '../fstab.js';
import { knownFileSystems } from '../inventory.js';
import type { Playbook, PlaybookContext, PlaybookResult } from './types.js';

function kernelVersion(entry: GrubMenuEntry): string {
  return entry.kernel?.split('/').at(-1)?.replace(/^vmlinuz-/, '') ?? '';
}

/** grub.cfg with its effective `set default=` replaced (or one added at the top). */
export function withGrubDefault(text: string, lineNumber: number | null, reference: string): string {
  const line = `set default="${reference.replace(/["\\$]/g, '\\$&')}"`;
  const lines = text.split('\n');
  if (lineNumber === null) return `${line}\n${text}`;
  const index = lineNumber - 1;
  const indent = /^\s*/.exec(lines[index] ?? '')?.[0] ?? '';
  lines[index] = `${indent}${line}`;
  return lines.join('\n');
}

type Outcome = Omit<PlaybookResult, 'durationMs' | 'findings' | 'playbook' | 'dryRun' | 'device'>;

/** The newest menu entry whose kernel and initramfs are there and not empty. */
export function newestCompleteEntry(inventory: BootInventory): GrubMenuEntry | null {
  return (inventory.grub?.config.entries ?? [])
    .filter((entry) => entryComplete(inventory, entry))
    .sort((a, b) => compareKernelVersions(kernelVersion(b), kernelVersion(a)))[0] ?? null;
}

/** Makes `chosen` GRUB's default (grubenv or grub.cfg, as the current default is set), keeping a backup. */
export async function makeGrubDefault(context: PlaybookContext, location: BootLocation, inventory: BootInventory, chosen: GrubMenuEntry, why: string): Promise<Outcome> {
  const grub = inventory.grub;
  const subject = `${location.device}:${grub?.path ?? location.directory}`;
  if (!grub) return { subject, status: 'failed', changed: false, actions: ['no grub.cfg'], evidence: [inventory.listingEvidence], error: { kind: 'command-failed', message: 'no grub.cfg to change' } };
  const current = effectiveDefaultEntry(inventory);
  const reference = defaultReferenceFor(chosen);
  const useGrubenv = grub.defaultEntry.via === 'grubenv' && grub.grubenv !== null;
  const file = useGrubenv ? grub.grubenvPath : grub.path;
  const backup = `${file}.rescued-${context.timestamp()}`;
  let content: string;
  if (useGrubenv) {
    const values = new Map(grub.grubenv);
    values.set('saved_entry', reference);
    content = renderGrubEnv(values);
  } else {
    const settings = grub.config.defaultSettings.filter((setting) => !setting.value.includes('next_entry'));
    content = withGrubDefault(grub.text, settings.at(-1)?.lineNumber ?? null, reference);
  }
  const action = `default set to "${chosen.title}" (${reference}, kernel ${chosen.kernel ?? '?'}) in ${file}, was "${current?.title ?? '?'}" (${current?.kernel ?? 'no kernel'}): ${why}`;
  if (context.dryRun) {
    return { subject, status: 'would-change', changed: false, actions: [`would keep the original as ${backup}`, `would have ${action}`], evidence: [grub.evidence] };
  }
  const original = useGrubenv ? renderGrubEnv(grub.grubenv ?? new Map()) : grub.text;
  const evidence: Evidence[] = await context.writing(location.device, async (fs) => {
    const backupRead = await fs.readFile(file, { maxBytes: 512 * 1024 });
    const backupEvidence = await fs.writeFile(backup, backupRead.content ?? original);
    return [backupEvidence, await fs.writeFile(file, content)];
  });
  return {
    subject, status: 'changed', changed: true,
    actions: [`kept the original as ${backup}`, action, 'update-grub on the repaired system regenerates grub.cfg: set GRUB_DEFAULT in /etc/default/grub to keep this choice'],
    evidence,
  };
}

export const kernelPreviousDefaultPlaybook: Playbook = {
  id: 'kernel-previous-default',
  async run(context, target) {
    const devices = await context.refreshDevices();
    const fstab = await context.reading(target.device, (fs) => fs.readFile('/etc/fstab', { maxBytes: 256 * 1024 }));
    const location = bootLocation(target.device, parseFstab(fstab.content ?? ''), knownFileSystems(devices));
    const inventory = await context.reading(location.device, (fs) => readBootInventory(fs, location));
    const subject = `${location.device}:${inventory.grub?.path ?? location.directory}`;
    const grub = inventory.grub;
    if (!grub) return { subject, status: 'failed', changed: false, actions: ['no grub.cfg'], evidence: [inventory.listingEvidence], error: { kind: 'command-failed', message: 'no grub.cfg to change' } };
    const current = effectiveDefaultEntry(inventory);
    const currentKernel = current?.kernel ? inventory.entries?.find((file) => file.name === current.kernel?.split('/').at(-1)) : undefined;
    if (current && currentKernel && currentKernel.sizeBytes > 0) {
      return { subject, status: 'unchanged', changed: false, actions: [`the default entry "${current.title}" boots ${current.kernel ?? '?'}, which exists`], evidence: [grub.evidence] };
    }
    const chosen = newestCompleteEntry(inventory);
    if (!chosen) return { subject, status: 'failed', changed: false, actions: ['no menu entry boots a kernel that exists'], evidence: [grub.evidence, inventory.listingEvidence], error: { kind: 'command-failed', message: 'no menu entry boots a kernel that exists' } };
    return makeGrubDefault(context, location, inventory, chosen, `the default kernel ${currentKernel ? 'is empty (a failed update)' : 'is gone'}; this is the newest complete one`);
  },
};
