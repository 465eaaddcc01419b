// Breaking a lab machine on demand, the way servers break: the disk is damaged while the machine is off (through
// its BMC), then it is powered on and fails to boot by itself. no-phone-home breaks the rescue instead: the
// machine's rescue boot config points at an image that never calls back.
import type { ApiClient } from '../../cli/api-client.js';
import { runCommand } from '../vm/commands.js';
import { breakLabDisk, readFileFromDiskImage, type LabDisk } from '../vm/disks.js';
import { powerOffThroughBmc, powerOnThroughBmc } from './bmc-power.js';
import { pinSilentRescueImage } from './lab-inventory.js';
import type { LabFault, LabMachineState } from './lab-state.js';

export const FAULT_DESCRIPTIONS: Record<LabFault, string> = {
  superblock: 'the root file system\'s primary superblock is zeroed (e2fsck repairs it from a backup)',
  fstab: '/etc/fstab mounts / by a UUID no file system has (the repair rewrites it)',
  'kernel-gone': 'the kernel the boot loader names is deleted from /boot (only a reinstall fixes it)',
  'no-phone-home': 'the rescue boot config points at an image that never phones home',
};

function diskOf(machine: LabMachineState): LabDisk {
  return { path: machine.diskPath, uuid: machine.diskUuid, label: 'lab-root', sizeMiB: 0, kernelVersion: machine.diskKernelVersion, fstab: '' };
}

async function deleteKernel(machine: LabMachineState): Promise<string> {
  const kernel = `/boot/vmlinuz-${machine.diskKernelVersion}`;
  await runCommand('debugfs', ['-w', '-R', `rm ${kernel}`, machine.diskPath]);
  const gone = await readFileFromDiskImage(machine.diskPath, kernel).then(() => false, () => true);
  if (!gone) throw new Error(`debugfs could not delete ${kernel} from ${machine.diskPath}`);
  return `${kernel} deleted`;
}

/** Applies the fault; returns what was done, in words. */
export async function applyFault(api: ApiClient, machine: LabMachineState, fault: LabFault): Promise<string> {
  if (fault === 'no-phone-home') {
    await pinSilentRescueImage(api, machine.name);
    return FAULT_DESCRIPTIONS[fault];
  }
  await powerOffThroughBmc(machine.name, machine.bmc, machine.vmDirectory);
  let done: string;
  if (fault === 'kernel-gone') done = await deleteKernel(machine);
  else done = (await breakLabDisk(diskOf(machine), fault === 'superblock' ? 'zeroed-superblock' : 'bad-fstab-uuid')).damage.description;
  await powerOnThroughBmc(machine.name, machine.bmc, machine.vmDirectory);
  return done;
}
