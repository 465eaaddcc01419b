// The default kernel's initramfs is missing or empty: rebuild it with the installed system's own tool in a chroot
// (update-initramfs on Debian/Ubuntu, dracut on Red Hat/SUSE), as the system itself would after a kernel update.
// When the installed system has neither (or the rebuild fails), make the newest kernel that has a complete
// kernel and initramfs the default instead, and say which tool was missing.
import { bootLocation, effectiveDefaultEntry, entryComplete, entryKernelVersion, readBootInventory } from '../boot-files.js';
import { describeTools, withInstalledSystem } from '../chroot.js';
import { evidenceOf, type Evidence } from '../evidence.js';
import { parseFstab } from '../fstab.js';
import { knownFileSystems } from '../inventory.js';
import { makeGrubDefault, newestCompleteEntry } from './kernel-previous-default.js';
import type { Playbook } from './types.js';

export const initramfsRebuildPlaybook: Playbook = {
  id: 'initramfs-rebuild',
  async run(context, target) {
    const devices = await context.refreshDevices();
    const fstab = await context.reading(target.device, (fs) => fs.readFile('/etc/fstab', { maxBytes: 256 * 1024 }));
    const location = bootLocation(target.device, parseFstab(fstab.content ?? ''), knownFileSystems(devices));
    const look = () => context.reading(location.device, (fs) => readBootInventory(fs, location));
    const inventory = await look();
    const subject = `${location.device}:${location.directory}`;
    const entry = effectiveDefaultEntry(inventory);
    if (!entry) return { subject, status: 'failed', changed: false, actions: ['no default menu entry'], evidence: [inventory.listingEvidence], error: { kind: 'command-failed', message: 'no default menu entry' } };
    const version = entryKernelVersion(entry);
    if (entryComplete(inventory, entry)) {
      return { subject, status: 'unchanged', changed: false, actions: [`the default kernel ${version} has its kernel and initramfs`], evidence: [inventory.listingEvidence] };
    }
    const actions: string[] = [];
    const evidence: Evidence[] = [];
    if (context.dryRun) {
      actions.push(`would rebuild the initramfs of ${version} in a chroot of ${target.device} (update-initramfs or dracut), else make the newest complete kernel the default`);
      return { subject, status: 'would-change', changed: false, actions, evidence: [inventory.listingEvidence] };
    }
    if (context.tools.has('chroot')) {
      const rebuilt = await withInstalledSystem(context, target.device, location.device === target.device ? null : location.device, async (system) => {
        const found = { 'update-initramfs': await system.which('update-initramfs'), dracut: await system.which('dracut'), sh: await system.which('sh') };
        actions.push(`installed system's tools: ${describeTools(found)}`);
        evidence.push(...system.evidence);
        const command = found['update-initramfs'] ? ['update-initramfs', '-c', '-k', version]
          : found.dracut ? ['dracut', '--force', `/boot/initramfs-${version}.img`, version] : null;
        if (!command) {
          actions.push('update-initramfs and dracut are both absent from the installed system: the initramfs cannot be rebuilt there');
          return false;
        }
        const result = await system.run(command);
        evidence.push(evidenceOf(result));
        actions.push(`chroot ${command.join(' ')}: exit ${result.exitCode}`);
        return result.exitCode === 0;
      });
      if (rebuilt) {
        const again = await look();
        if (entryComplete(again, entry)) {
          return { subject, status: 'changed', changed: true, actions: [...actions, `the initramfs of ${version} is back`], evidence };
        }
        actions.push(`the rebuild ran but ${version} still has no usable initramfs`);
      }
    } else {
      actions.push('the rescue image lacks chroot: the installed system\'s own tools cannot run');
    }
    const chosen = newestCompleteEntry(inventory);
    if (!chosen) {
      return {
        subject, status: 'failed', changed: false, actions: [...actions, 'no other kernel has a complete kernel and initramfs: reinstall the kernel package or the system'], evidence,
        error: { kind: 'command-failed', message: `no usable initramfs for ${version} and no complete kernel to fall back to` },
      };
    }
    const fallback = await makeGrubDefault(context, location, inventory, chosen, `the initramfs of ${version} could not be rebuilt; ${entryKernelVersion(chosen)} is the newest complete kernel`);
    return { ...fallback, actions: [...actions, ...fallback.actions], evidence: [...evidence, ...fallback.evidence] };
  },
};
