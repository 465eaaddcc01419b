// What the installed system needs to boot: a kernel, its initramfs, a grub.cfg, and a default entry whose
// kernel exists (a removed or failed kernel package leaves GRUB pointing at nothing).
import { finding, type Finding } from '../findings.js';
import { bootFile, bootLocation, effectiveDefaultEntry, entryComplete, entryKernelPresent, entryKernelVersion, readBootInventory } from '../boot-files.js';
import { parseFstabSource, resolveFstabSource } from '../fstab.js';
import { kernelRootArgument } from '../grub.js';
import { describeTools, findInstalledPrograms } from '../chroot.js';
import type { DiagnosisContext, Probe } from './context.js';

export const bootProbe: Probe = {
  name: 'boot',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const root of await context.rootFileSystems()) {
      const location = bootLocation(root.device, root.fstab, context.knownFileSystems());
      const access = await context.readOnly(location.device);
      const inventory = await readBootInventory(access, location);
      const where = `${location.device}:${location.directory}`;
      const base = { probe: 'boot' as const, device: root.device };
      if (inventory.entries === null) {
        findings.push(finding({ ...base, check: 'no-boot-directory', severity: 'critical', subject: where, summary: `${location.directory} does not exist on ${location.device}`, evidence: [inventory.listingEvidence] }));
        continue;
      }
      if (inventory.kernels.length === 0) {
        findings.push(finding({
          ...base, check: 'no-kernel', severity: 'critical', subject: where,
          summary: `no kernel (vmlinuz-*) in ${location.directory}: install a kernel package or reinstall`, evidence: [inventory.listingEvidence],
        }));
      }
      for (const version of inventory.kernels.filter((kernel) => !inventory.initramfs.includes(kernel))) {
        findings.push(finding({
          ...base, check: `no-initramfs-${version}`, severity: 'warning', subject: where,
          summary: `kernel ${version} has no initramfs (initrd.img-${version} or initramfs-${version}.img)`, evidence: [inventory.listingEvidence],
        }));
      }
      if (!inventory.grub) {
        findings.push(finding({
          ...base, check: 'no-grub-config', severity: 'critical', subject: where, repair: 'bootloader-reinstall',
          summary: `no grub/grub.cfg or grub2/grub.cfg in ${location.directory}`, evidence: [inventory.listingEvidence],
        }));
        continue;
      }
      const grub = inventory.grub;
      const entry = effectiveDefaultEntry(inventory);
      const grubSubject = `${location.device}:${grub.path}`;
      if (grub.defaultEntry.status === 'not-found') {
        findings.push(finding({
          ...base, check: 'default-entry-unknown', severity: 'warning', subject: grubSubject,
          summary: `the default "${grub.defaultEntry.reference}" (from ${grub.defaultEntry.via}) names no menu entry; GRUB falls back to the first`,
          evidence: [grub.evidence],
        }));
      }
      if (!entry) {
        findings.push(finding({ ...base, check: 'no-menu-entry', severity: 'critical', subject: grubSubject, repair: 'bootloader-reinstall', summary: `${grub.path} has no menu entry`, evidence: [grub.evidence] }));
        continue;
      }
      const present = entryKernelPresent(inventory, entry);
      if (present === false) {
        const alternatives = grub.config.entries.filter((other) => other !== entry && entryKernelPresent(inventory, other) === true);
        findings.push(finding({
          ...base, check: 'default-kernel-missing', severity: 'critical', subject: grubSubject,
          summary: `the default entry "${entry.title}" boots ${entry.kernel ?? '(no linux line)'}, which does not exist`
            + (alternatives.length > 0 ? `; ${alternatives.length} other entr${alternatives.length === 1 ? 'y has' : 'ies have'} a kernel` : '; no entry has an existing kernel'),
          evidence: [grub.evidence, inventory.listingEvidence],
          ...(alternatives.length > 0 ? { repair: 'kernel-previous-default' as const } : {}),
        }));
      } else {
        const problemsBefore = findings.length;
        const completeOthers = grub.config.entries.filter((other) => other !== entry && entryComplete(inventory, other));
        const kernelFile = bootFile(inventory, entry.kernel);
        const version = entryKernelVersion(entry);
        if (kernelFile && kernelFile.sizeBytes === 0) {
          // A bad kernel update: the package left an empty (or truncated to nothing) vmlinuz behind.
          findings.push(finding({
            ...base, check: 'default-kernel-empty', severity: 'critical', subject: grubSubject,
            summary: `the default entry "${entry.title}" boots ${entry.kernel}, which is empty (a failed kernel update)`
              + (completeOthers.length > 0 ? `; the previous kernel can boot instead` : '; no other entry has a complete kernel and initramfs'),
            evidence: [grub.evidence, inventory.listingEvidence],
            ...(completeOthers.length > 0 ? { repair: 'kernel-previous-default' as const } : { reinstall: 'no kernel on the disk can boot: reinstall the kernel package or the system' }),
          }));
        } else {
          const missingInitrd = entry.initrd.filter((path) => (bootFile(inventory, path)?.sizeBytes ?? 0) === 0);
          if (entry.initrd.length === 0 && !inventory.initramfs.includes(version)) missingInitrd.push(`initrd.img-${version}`);
          if (missingInitrd.length > 0) {
            const tools = await findInstalledPrograms(await context.readOnly(root.device), ['update-initramfs', 'dracut']);
            const how = tools['update-initramfs'] || tools.dracut
              ? `the installed system's ${tools['update-initramfs'] ? 'update-initramfs' : 'dracut'} can rebuild it in a chroot`
              : 'the installed system has neither update-initramfs nor dracut: the repair makes the newest complete kernel the default instead';
            findings.push(finding({
              ...base, check: 'initramfs-missing', severity: 'critical', subject: grubSubject, repair: 'initramfs-rebuild',
              summary: `the default kernel ${version} has no usable initramfs (${missingInitrd.map((path) => `${path} ${bootFile(inventory, path) ? 'is empty' : 'is missing'}`).join(', ')}): it cannot mount its root; ${how} (${describeTools(tools)})`,
              evidence: [grub.evidence, inventory.listingEvidence],
            }));
          }
        }
        const rootArgument = kernelRootArgument(entry.kernelArguments);
        if (rootArgument) {
          const resolution = resolveFstabSource(parseFstabSource(rootArgument), context.knownFileSystems());
          if (resolution.status === 'missing') {
            const tools = await findInstalledPrograms(await context.readOnly(root.device), ['grub-mkconfig', 'grub2-mkconfig']);
            const how = tools['grub-mkconfig'] || tools['grub2-mkconfig']
              ? 'the installed system\'s grub-mkconfig can regenerate grub.cfg in a chroot'
              : 'the installed system has no grub-mkconfig: the repair corrects root= in grub.cfg itself';
            findings.push(finding({
              ...base, check: 'grub-root-missing', severity: 'critical', subject: `${grubSubject}:root`, repair: 'grub-root-correct',
              summary: `the default entry "${entry.title}" boots with root=${rootArgument}, which names no file system present: the kernel waits for a root that never comes; ${how}`,
              evidence: [grub.evidence],
            }));
          }
        }
        if (findings.length > problemsBefore) continue;
        findings.push(finding({
          ...base, check: 'ok', severity: 'info', subject: grubSubject,
          summary: `default entry "${entry.title}" boots ${entry.kernel ?? '?'}${present === null ? ' (outside the boot directory, not checked)' : ''}; kernels: ${inventory.kernels.join(', ') || 'none'}`,
          evidence: [grub.evidence],
        }));
      }
    }
    return findings;
  },
};
