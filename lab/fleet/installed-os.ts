// How a lab machine boots its "installed OS" when the BMC says "boot from disk": the one place that decides it.
// Today a direct kernel boot stands in for the disk's own boot loader: the lab kernel with the installed-system
// check (lab/images/installed/init: root by UUID, fsck, fstab) layered over the rescue image's tools, and
// lab/images/installed-os/up, which checks that the default entry's kernel is on the disk (GRUB's part) and then
// answers SSH on port 22, so that rescued's verification sees the OS itself, never the BMC's word.
// A disk that boots from its own boot loader (BIOS GRUB, UEFI through OVMF) replaces installedOsBoot() here.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpioArchive } from '../vm/cpio.js';
import { ensureLabBootImages } from '../vm/initramfs.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from '../vm/paths.js';
import type { LabVmBoot } from '../vm/qemu.js';
import type { LabDisk } from '../vm/disks.js';

export type LabFirmware = 'bios' | 'uefi';

/**
 * Kernel arguments every lab boot carries. no_timer_check: on an emulated CPU starved by a busy host, the kernel's
 * IO-APIC timer check fails and it panics ("IO-APIC + timer doesn't work!"), seen here at a load of 20 on 2 cores;
 * cloud images boot virtual machines with it for the same reason.
 */
export const LAB_KERNEL_ARGUMENTS = 'no_timer_check';

/**
 * What this lab can boot. The end-to-end tests run the cases that need the rest only when it is here: UEFI
 * machines (OVMF firmware, a disk with an EFI boot loader) and a reinstall (an installer image that writes the OS
 * to the disk and calls the install-status callbacks). Whoever adds them sets these, and the tests run.
 */
export const LAB_CAPABILITIES: Readonly<{ uefi: boolean; reinstall: boolean }> = { uefi: false, reinstall: false };

export interface InstalledOsMachine {
  disk: Pick<LabDisk, 'uuid' | 'kernelVersion'>;
  firmware: LabFirmware;
}

/** The rescue image's tools with the installed-system init and its `up` stage on top (initramfs archives stack). */
async function ensureInstalledOsImage(): Promise<{ kernelPath: string; initrdPath: string }> {
  const images = await ensureLabBootImages();
  const init = readFileSync(join(LAB_IMAGES_SOURCE_DIRECTORY, 'installed', 'init'));
  const up = readFileSync(join(LAB_IMAGES_SOURCE_DIRECTORY, 'installed-os', 'up'));
  const base = readFileSync(images.rescue.path);
  const key = createHash('sha256').update(base).update(init).update(up).digest('hex').slice(0, 16);
  const directory = join(labCacheDirectory(), 'initramfs');
  const path = join(directory, `installed-os-${images.kernel.version}-${key}.cpio.gz`);
  if (!existsSync(path)) {
    const overlay = new CpioArchive();
    overlay.file('init', init, 0o755);
    overlay.directory('etc/installed');
    overlay.file('etc/installed/up', up, 0o755);
    mkdirSync(directory, { recursive: true });
    writeFileSync(`${path}.${process.pid}.tmp`, Buffer.concat([base, overlay.toGzip()]));
    renameSync(`${path}.${process.pid}.tmp`, path);
  }
  return { kernelPath: images.kernel.vmlinuzPath, initrdPath: path };
}

/** What the VM's "disk" boot device does for this machine. */
export async function installedOsBoot(machine: InstalledOsMachine): Promise<LabVmBoot> {
  if (machine.firmware !== 'bios') {
    throw new Error('the lab boots UEFI machines only from a disk with its own boot loader (OVMF), which this lab does not build yet');
  }
  const image = await ensureInstalledOsImage();
  return {
    kind: 'kernel',
    kernelPath: image.kernelPath,
    initrdPath: image.initrdPath,
    kernelArguments: `console=ttyS0 ${LAB_KERNEL_ARGUMENTS} root=UUID=${machine.disk.uuid} ro rescued.installed.kernel=/boot/vmlinuz-${machine.disk.kernelVersion}`,
  };
}

/** QEMU arguments for the machine's firmware: SeaBIOS is QEMU's default; UEFI is the lab helper's OVMF work. */
export function machineFirmwareArguments(firmware: LabFirmware): string[] {
  if (firmware === 'bios') return [];
  throw new Error('UEFI lab machines (OVMF) are not built by this lab yet');
}

/** The console line that says the installed OS is up (or why it is not). */
export const INSTALLED_OS_UP = /RESCUED-INSTALLED: up /;
export const INSTALLED_OS_FAILED = /RESCUED-INSTALLED: failed[^\r\n]*/;
