// Breaking a lab machine on demand, the way servers break: the disk is damaged while the machine is off (through
// its BMC), then it is powered on and fails to boot by itself. no-phone-home breaks the rescue instead: the
// machine's rescue boot config points at an image that never calls back.
import type { ApiClient } from '../../cli/api-client.js';
import { breakLabDisk, type LabDisk } from '../vm/disks.js';
import { powerOffThroughBmc, powerOnThroughBmc } from './bmc-power.js';
import { pinSilentRescueImage } from './lab-inventory.js';
import type { LabFault, LabMachineState } from './lab-state.js';

export const FAULT_DESCRIPTIONS: Record<LabFault, string> = {
  superblock: 'the root file system\'s primary superblock is zeroed (e2fsck repairs it from a backup)',
  fstab: '/etc/fstab mounts / by a UUID no file system has (the repair rewrites it)',
  'kernel-gone': 'the kernel and initramfs the boot loader names are deleted from /boot (only a reinstall fixes it)',
  'no-phone-home': 'the rescue boot config points at an image that never phones home',
};

function diskOf(machine: LabMachineState): LabDisk {
  return { path: machine.diskPath, uuid: machine.diskUuid, label: 'lab-root', sizeMiB: 0, kernelVersion: machine.diskKernelVersion, fstab: '', rootOffsetBytes: machine.diskRootOffsetBytes };
}

const DISK_BREAKAGE = { superblock: 'zeroed-superblock', fstab: 'bad-fstab-uuid', 'kernel-gone': 'kernel-gone' } as const;

/** Applies the fault; returns what was done, in words. */
export async function applyFault(api: ApiClient, machine: LabMachineState, fault: LabFault): Promise<string> {
  if (fault === 'no-phone-home') {
    await pinSilentRescueImage(api, machine.name);
    return FAULT_DESCRIPTIONS[fault];
  }
  await powerOffThroughBmc(machine.name, machine.bmc, machine.vmDirectory);
  const done = (await breakLabDisk(diskOf(machine), DISK_BREAKAGE[fault])).damage.description;
  await powerOnThroughBmc(machine.name, machine.bmc, machine.vmDirectory);
  return done;
}
