// The boot loader's kernel command line names a root (root=UUID=...) that no file system has: the kernel waits for
// it and drops to the initramfs shell. Regenerate grub.cfg with the installed system's grub-mkconfig in a chroot
// when it has one (it reads the root's UUID afresh); otherwise, and when that leaves the wrong root, replace the
// root= of every menu entry that names the missing file system by the UUID of the root this grub.cfg belongs to.
// The original grub.cfg is kept as grub.cfg.rescued-<timestamp>.
import { bootLocation, readBootInventory } from '../boot-files.js';
import { describeTools, withInstalledSystem } from '../chroot.js';
import { evidenceOf, type Evidence } from '../evidence.js';
import { parseFstab, parseFstabSource, resolveFstabSource } from '../fstab.js';
import { kernelRootArgument } from '../grub.js';
import { knownFileSystems } from '../inventory.js';
import { shellScript } from '../quote.js';
import type { Playbook } from './types.js';

/** /dev/disk/by-uuid/<uuid> -> the device, as udev's persistent-storage rules make it, when it is missing. */
const UUID_LINK_SCRIPT = [
  'uuid="$1"; device="$2"',
  '[ -e "/dev/disk/by-uuid/$uuid" ] && exit 0',
  'mkdir -p /dev/disk/by-uuid && ln -sf "$device" "/dev/disk/by-uuid/$uuid" && echo "linked /dev/disk/by-uuid/$uuid to $device (no udev in the rescue image), so that grub-mkconfig writes root=UUID="',
].join('\n');

/** grub.cfg with `root=<wrong>` replaced by `root=<right>` on its linux lines; returns the text and the count. */
export function replaceKernelRoot(text: string, wrong: string, right: string): { text: string; replaced: number } {
  let replaced = 0;
  const escaped = wrong.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = text.split('\n').map((line) => {
    if (!/^\s*(linux|linuxefi|linux16|kernel)\s/.test(line)) return line;
    return line.replace(new RegExp(`(\\s)root=${escaped}(?=\\s|$)`, 'g'), (_match, space: string) => {
      replaced += 1;
      return `${space}root=${right}`;
    });
  });
  return { text: lines.join('\n'), replaced };
}

export const grubRootCorrectPlaybook: Playbook = {
  id: 'grub-root-correct',
  async run(context, target) {
    const devices = await context.refreshDevices();
    const known = knownFileSystems(devices);
    const root = known.find((fs) => fs.device === target.device);
    const fstab = await context.reading(target.device, (fs) => fs.readFile('/etc/fstab', { maxBytes: 256 * 1024 }));
    const location = bootLocation(target.device, parseFstab(fstab.content ?? ''), known);
    const look = () => context.reading(location.device, (fs) => readBootInventory(fs, location));
    const inventory = await look();
    const grub = inventory.grub;
    const subject = `${location.device}:${grub?.path ?? location.directory}`;
    if (!grub) return { subject, status: 'failed', changed: false, actions: ['no grub.cfg'], evidence: [inventory.listingEvidence], error: { kind: 'command-failed', message: 'no grub.cfg' } };
    const wrongRoots = [...new Set(grub.config.entries
      .map((entry) => kernelRootArgument(entry.kernelArguments))
      .filter((argument): argument is string => argument !== null && resolveFstabSource(parseFstabSource(argument), known).status === 'missing'))];
    if (wrongRoots.length === 0) return { subject, status: 'unchanged', changed: false, actions: ['every root= in grub.cfg names a file system present'], evidence: [grub.evidence] };
    if (!root?.uuid) {
      return { subject, status: 'failed', changed: false, actions: [`the UUID of ${target.device} is unknown: cannot say which root= is right`], evidence: [grub.evidence], error: { kind: 'command-failed', message: `no UUID for ${target.device}` } };
    }
    const rootUuid = root.uuid;
    const right = `UUID=${rootUuid}`;
    const backup = `${grub.path}.rescued-${context.timestamp()}`;
    if (context.dryRun) {
      return { subject, status: 'would-change', changed: false, actions: [`would keep the original as ${backup}`, `would run grub-mkconfig in a chroot if the installed system has it, else replace root=${wrongRoots.join(', root=')} by root=${right}`], evidence: [grub.evidence] };
    }
    const actions: string[] = [];
    const evidence: Evidence[] = [];
    const original = grub.text;
    await context.writing(location.device, async (fs) => { evidence.push(await fs.writeFile(backup, original)); });
    actions.push(`kept the original as ${backup}`);
    if (context.tools.has('chroot')) {
      const generated = await withInstalledSystem(context, target.device, location.device === target.device ? null : location.device, async (system) => {
        const found = { 'grub-mkconfig': await system.which('grub-mkconfig'), 'grub2-mkconfig': await system.which('grub2-mkconfig') };
        actions.push(`installed system's tools: ${describeTools(found)}`);
        const tool = found['grub-mkconfig'] ? 'grub-mkconfig' : found['grub2-mkconfig'] ? 'grub2-mkconfig' : null;
        if (!tool) return false;
        // grub's 10_linux writes root=UUID= only when /dev/disk/by-uuid/<uuid> exists (else the rescue's device
        // name, root=/dev/vdX, which the machine may not share); a rescue image without udev has no such link.
        const link = await context.host.exec(shellScript(UUID_LINK_SCRIPT, rootUuid, target.device), { timeoutMs: 30_000 });
        evidence.push(evidenceOf(link));
        if (link.stdout.trim()) actions.push(link.stdout.trim());
        const output = `/boot/${grub.path.includes('grub2') ? 'grub2' : 'grub'}/grub.cfg`;
        const result = await system.run([tool, '-o', output]);
        evidence.push(evidenceOf(result));
        actions.push(`chroot ${tool} -o ${output}: exit ${result.exitCode}`);
        return result.exitCode === 0;
      });
      if (generated) {
        const again = await look();
        const stillWrong = (again.grub?.config.entries ?? []).some((entry) => {
          const argument = kernelRootArgument(entry.kernelArguments);
          return argument !== null && resolveFstabSource(parseFstabSource(argument), known).status === 'missing';
        });
        if (!stillWrong) return { subject, status: 'changed', changed: true, actions: [...actions, 'grub.cfg regenerated'], evidence };
        actions.push('the regenerated grub.cfg still names a missing root: correcting it by hand');
      } else {
        actions.push('grub-mkconfig is absent from the installed system (or failed): correcting root= in grub.cfg by hand');
      }
    }
    let text = (await look()).grub?.text ?? original;
    let total = 0;
    for (const wrong of wrongRoots) {
      const replacement = replaceKernelRoot(text, wrong, right);
      text = replacement.text;
      total += replacement.replaced;
      actions.push(`root=${wrong} replaced by root=${right} (the root file system ${target.device}) on ${replacement.replaced} linux line(s)`);
    }
    evidence.push(await context.writing(location.device, (fs) => fs.writeFile(grub.path, text)));
    return { subject, status: total > 0 ? 'changed' : 'failed', changed: total > 0, actions, evidence, ...(total > 0 ? {} : { error: { kind: 'command-failed' as const, message: 'no linux line carried the wrong root=' } }) };
  },
};
