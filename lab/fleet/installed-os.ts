// How a lab machine boots its "installed OS", and how that OS gets (back) onto its disk: the one place that decides
// it. Every machine's disk is a bootable disk (lab/vm/bootable-disk.ts): BIOS machines boot GRUB from the MBR
// (SeaBIOS), UEFI machines GRUB EFI from the ESP (OVMF); GRUB loads the kernel named by the disk's own grub.cfg,
// the installed system's init checks its root and fstab, then answers SSH on port 22, so that rescued's
// verification hears the OS itself, never the BMC's word. A reinstall writes the lab's OS image (the same kind
// of disk, gzip'd) through the lab installer (lab/vm/installer.ts), booted by rescued's install path.
import { join } from 'node:path';
import { buildBootableDisk, type BootableDisk } from '../vm/bootable-disk.js';
import { buildLabOsImage, publishLabInstaller, type PublishedInstaller } from '../vm/installer.js';
import type { LabVmBoot, LabVmFirmware } from '../vm/qemu.js';

export type LabFirmware = LabVmFirmware;

/**
 * Kernel arguments every lab boot carries. no_timer_check: on an emulated CPU starved by a busy host, the kernel's
 * IO-APIC timer check fails and it panics ("IO-APIC + timer doesn't work!"), seen here at a load of 20 on 2 cores;
 * cloud images boot virtual machines with it for the same reason.
 */
export const LAB_KERNEL_ARGUMENTS = 'no_timer_check';

/** A lab machine's disk, and the OS image a reinstall writes (small: a rescue's e2fsck and the install stay quick). */
export const LAB_DISK_MIB = 64;

/** The machine's disk with its installed OS: a partitioned disk with its own boot loader for the firmware. */
export function createInstalledOsDisk(options: { directory: string; firmware: LabFirmware; hostname: string }): Promise<BootableDisk> {
  return buildBootableDisk({ directory: options.directory, name: 'disk', firmware: options.firmware, hostname: options.hostname, sizeMiB: LAB_DISK_MIB, extraKernelArguments: LAB_KERNEL_ARGUMENTS });
}

/** What the VM's "disk" boot device does: the firmware boots the first disk (its MBR, or its ESP under OVMF). */
export function installedOsBoot(): LabVmBoot {
  return { kind: 'disk' };
}

/**
 * The installer's kernel options for the firmware. OVMF network-boots first on every boot (its order is fixed),
 * so a UEFI installer powers off when done and rescued's restore step powers the machine on from its disk; a
 * BIOS network boot is a one-time one, and the installer's reboot boots the new disk.
 */
export function installerKernelOptions(firmware: LabFirmware): string {
  return `console=ttyS0 ${LAB_KERNEL_ARGUMENTS}${firmware === 'uefi' ? ' rescued.after-install=poweroff' : ''}`;
}

/** Builds the OS image for the firmware and puts it with the installer into rescued's TFTP root (FOLDER/...). */
export async function publishInstalledOsInstaller(tftpRoot: string, firmware: LabFirmware, workDirectory: string, folder: string): Promise<PublishedInstaller> {
  const osImage = await buildLabOsImage({ directory: join(workDirectory, `os-image-${firmware}`), firmware, sizeMiB: LAB_DISK_MIB, extraKernelArguments: LAB_KERNEL_ARGUMENTS });
  return publishLabInstaller(tftpRoot, osImage, folder);
}

/** The console line that says the installed OS is up (or why it is not): lab/images/installed/init. */
export const INSTALLED_OS_UP = /RESCUED-INSTALLED: sshd up/;
export const INSTALLED_OS_FAILED = /RESCUED-INSTALLED: failed[^\r\n]*/;
