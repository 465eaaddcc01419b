// Reinstalls GRUB's boot code on the disk of the installed system, with the rescue environment's grub-install
// (BIOS boot; the root mounted read-write so that GRUB's modules land in its /boot/grub). Where the rescue
// environment has no grub-install (the lab's image has none yet), it reports `unavailable` and changes nothing.
import { ShellError } from '../errors.js';
import { evidenceOf } from '../evidence.js';
import { MountedFileSystem } from '../file-systems/mounted.js';
import type { Playbook } from './types.js';

export const bootloaderReinstallPlaybook: Playbook = {
  id: 'bootloader-reinstall',
  async run(context, target) {
    const subject = target.device;
    if (!context.tools.has('grub-install')) {
      return { subject, status: 'unavailable', changed: false, actions: ['grub-install is not available in the rescue environment: the boot loader cannot be reinstalled from here'], evidence: [] };
    }
    const device = context.currentDevices().find((candidate) => candidate.path === target.device);
    if (!device || (device.kind !== 'partition' && device.kind !== 'disk')) {
      return { subject, status: 'unavailable', changed: false, actions: [`${target.device} is not a block device: there is no disk to install a boot loader on`], evidence: [] };
    }
    const disk = device.parent ?? device.path;
    if (context.dryRun) {
      return { subject, status: 'would-change', changed: false, actions: [`would mount ${target.device} read-write and run grub-install --boot-directory=<mount>/boot ${disk}`], evidence: [] };
    }
    const result = await context.writing(target.device, async (fs) => {
      if (!(fs instanceof MountedFileSystem)) throw new ShellError('protocol', 'grub-install needs a mounted file system');
      return context.host.exec(['grub-install', `--boot-directory=${fs.mountPoint}/boot`, disk], { timeoutMs: 300_000 });
    }, 'mount');
    if (result.exitCode !== 0) {
      return { subject, status: 'failed', changed: false, actions: [`grub-install on ${disk} failed`], evidence: [evidenceOf(result)], error: { kind: 'command-failed', message: `grub-install exited ${result.exitCode}: ${result.stderr.trim().split('\n').at(-1) ?? ''}` } };
    }
    return {
      subject, status: 'changed', changed: true,
      actions: [`grub-install --boot-directory=<root>/boot ${disk}`, 'grub.cfg is not regenerated from the rescue environment: run update-grub on the repaired system'],
      evidence: [evidenceOf(result)],
    };
  },
};
