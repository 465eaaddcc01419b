// A disk whose installed OS boots the way a real one does, from its own boot loader: a raw image with a partition
// table, the root ext4 partition filled from a directory tree by `mke2fs -d -E offset=` (no loop device, no mount),
// the lab kernel and the installed OS's initramfs in /boot (installed-os-initramfs.ts), a grub.cfg booting them
// with root=UUID=, and GRUB itself:
//   bios  MBR (DOS label): boot.img's first 440 bytes in the MBR, core.img (`grub-mkimage -O i386-pc`) in the gap
//         after it from sector 1 (diskboot.img's blocklist, as grub-mkimage fills it, reads a core.img that lies
//         contiguously from sector 1), partition 1 = root from 1 MiB.
//   uefi  GPT: partition 1 = an ESP (FAT built with `mkfs.vfat -C`, filled with mtools' mmd/mcopy) holding
//         EFI/BOOT/BOOTX64.EFI (`grub-mkimage -O x86_64-efi`, the removable-media path OVMF boots without NVRAM
//         entries), partition 2 = root.
// Both GRUB images embed the modules they need and an early config that finds the root file system by UUID and
// reads its /boot/grub/grub.cfg, as grub-install's load.cfg does. The disk's own GRUB then fails as a real one
// would: a zeroed primary superblock is "no such device" (GRUB's ext2 reads only the primary), a removed kernel is
// "file not found".
import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from './commands.js';
import { rootFstab, writeFakeRoot, type LabDisk } from './disks.js';
import { ensureInstalledOsBootFiles, type InstalledOsBootFiles } from './rescue-based-images.js';
import type { LabVmFirmware } from './qemu.js';

export const GRUB_I386_PC_DIRECTORY = '/usr/lib/grub/i386-pc';
export const GRUB_X86_64_EFI_DIRECTORY = '/usr/lib/grub/x86_64-efi';

/** Modules in both GRUB images: partition tables, ext4, the Linux loader, search by UUID, serial console. */
const GRUB_COMMON_MODULES = ['part_msdos', 'part_gpt', 'ext2', 'normal', 'linux', 'search', 'search_fs_uuid', 'configfile', 'echo', 'serial', 'terminal', 'test', 'gzio'];
const GRUB_BIOS_MODULES = ['biosdisk', ...GRUB_COMMON_MODULES];
const GRUB_EFI_MODULES = ['fat', 'efi_gop', ...GRUB_COMMON_MODULES];

const SECTOR = 512;
/** Partitions start at 1 MiB, as fdisk and parted align them; the BIOS core.img lives in the gap before. */
const FIRST_PARTITION_SECTOR = 2048;
const ESP_SIZE_MIB = 8;
/** boot.h: GRUB_BOOT_MACHINE_DRIVE_CHECK; grub-bios-setup turns its jump into two NOPs for a hard disk. */
const BOOT_IMG_DRIVE_CHECK_OFFSET = 0x66;
/** MBR bytes 0-439 are boot code; 440-511 hold the disk signature and the partition table. */
const MBR_BOOT_CODE_BYTES = 440;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface BuildBootableDiskOptions {
  /** Folder for the image (created if missing). */
  directory: string;
  /** The image is <directory>/<name>.raw (default "bootable"). */
  name?: string;
  /** Default bios. */
  firmware?: LabVmFirmware;
  /**
   * The installed system's root tree (a zoo root, say): copied, never changed. Its /boot/grub/grub.cfg is replaced,
   * its /etc/fstab kept when it has one. Default: the lab's installed root (disks.ts), fstab mounting / by UUID.
   */
  rootTree?: string;
  /** Whole disk, default 96. */
  sizeMiB?: number;
  /** Root file system UUID, default a random one. */
  uuid?: string;
  /** Root file system label, default lab-root. */
  label?: string;
  /** /etc/hostname of the default root, default lab-server. */
  hostname?: string;
  /** Appended to the kernel command line in grub.cfg. */
  extraKernelArguments?: string;
  /** Kernel and initramfs to install; default ensureInstalledOsBootFiles(). */
  bootFiles?: InstalledOsBootFiles;
}

export interface BootableDisk extends LabDisk {
  firmware: LabVmFirmware;
  /** Byte offset of the root partition (e2fsprogs open it as `path?offset=N`: disks.ts rootFileSystemPath). */
  rootOffsetBytes: number;
  /** UEFI: byte offset of the ESP. */
  espOffsetBytes?: number;
  /** The kernel command line grub.cfg boots with. */
  kernelArguments: string;
}

interface PartitionPlacement {
  startSector: number;
  sectors: number;
}

/** The disk's kernel command line: the root by UUID, the serial console. */
function installedKernelArguments(uuid: string, extra: string | undefined): string {
  return ['root=UUID=' + uuid, 'ro', 'console=ttyS0', extra ?? ''].join(' ').trim();
}

export function bootableGrubConfig(uuid: string, kernelVersion: string, kernelArguments: string): string {
  return [
    '# rescued lab: the installed system (lab/vm/bootable-disk.ts)',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    'set default=0',
    'set timeout=0',
    `menuentry 'Debian GNU/Linux, with Linux ${kernelVersion}' {`,
    `\tsearch --no-floppy --fs-uuid --set=root ${uuid}`,
    `\techo 'RESCUED-GRUB: loading Linux ${kernelVersion}'`,
    `\tlinux\t/boot/vmlinuz-${kernelVersion} ${kernelArguments}`,
    `\tinitrd\t/boot/initrd.img-${kernelVersion}`,
    '}',
    '',
  ].join('\n');
}

/**
 * What grub-install's load.cfg does: find the root file system by UUID, read its grub.cfg. The serial console
 * first, so that GRUB's own errors (a root it cannot find) reach the serial log: the lab VMs have no display.
 */
function grubEarlyConfig(uuid: string): string {
  return ['serial --unit=0 --speed=115200', 'terminal_input serial console', 'terminal_output serial console', `search --no-floppy --fs-uuid --set=root ${uuid}`, 'set prefix=($root)/boot/grub', 'configfile $prefix/grub.cfg', ''].join('\n');
}

function requireFile(path: string, debianPackage: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${debianPackage} (scripts/setup/vm-lab.sh)`);
}

async function partitionTable(imagePath: string, script: string): Promise<PartitionPlacement[]> {
  // sfdisk on a regular file: no kernel, no device, just the table written into the image.
  const scratch = mkdtempSync(join(tmpdir(), 'rescued-sfdisk-'));
  try {
    const scriptPath = join(scratch, 'layout');
    writeFileSync(scriptPath, script);
    await runCommand('sh', ['-c', 'sfdisk -q --no-reread --no-tell-kernel "$1" < "$2"', 'sh', imagePath, scriptPath]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const { stdout } = await runCommand('sfdisk', ['--json', imagePath]);
  const parsed = JSON.parse(stdout) as { partitiontable?: { partitions?: Array<{ start: number; size: number }> } };
  return (parsed.partitiontable?.partitions ?? []).map((partition) => ({ startSector: partition.start, sectors: partition.size }));
}

function writeAt(imagePath: string, data: Buffer, offset: number): void {
  const descriptor = openSync(imagePath, 'r+');
  try {
    writeSync(descriptor, data, 0, data.length, offset);
  } finally {
    closeSync(descriptor);
  }
}

async function installBiosGrub(imagePath: string, scratch: string, uuid: string): Promise<void> {
  requireFile(join(GRUB_I386_PC_DIRECTORY, 'boot.img'), 'grub-pc-bin');
  const earlyConfig = join(scratch, 'load.cfg');
  writeFileSync(earlyConfig, grubEarlyConfig(uuid));
  const coreImage = join(scratch, 'core.img');
  await runCommand('grub-mkimage', ['-O', 'i386-pc', '-d', GRUB_I386_PC_DIRECTORY, '-o', coreImage, '-c', earlyConfig, '-p', '/boot/grub', ...GRUB_BIOS_MODULES]);
  const core = readFileSync(coreImage);
  const gap = (FIRST_PARTITION_SECTOR - 1) * SECTOR;
  if (core.length > gap) throw new Error(`GRUB core.img is ${core.length} bytes: more than the ${gap} bytes before the first partition`);
  const boot = Buffer.from(readFileSync(join(GRUB_I386_PC_DIRECTORY, 'boot.img')).subarray(0, MBR_BOOT_CODE_BYTES));
  boot[BOOT_IMG_DRIVE_CHECK_OFFSET] = 0x90;
  boot[BOOT_IMG_DRIVE_CHECK_OFFSET + 1] = 0x90;
  writeAt(imagePath, boot, 0);
  writeAt(imagePath, core, SECTOR);
}

async function buildEsp(scratch: string, uuid: string, sizeMiB: number): Promise<Buffer> {
  requireFile(join(GRUB_X86_64_EFI_DIRECTORY, 'kernel.img'), 'grub-efi-amd64-bin');
  const earlyConfig = join(scratch, 'load.cfg');
  writeFileSync(earlyConfig, grubEarlyConfig(uuid));
  const efiImage = join(scratch, 'BOOTX64.EFI');
  await runCommand('grub-mkimage', ['-O', 'x86_64-efi', '-d', GRUB_X86_64_EFI_DIRECTORY, '-o', efiImage, '-c', earlyConfig, '-p', '/boot/grub', ...GRUB_EFI_MODULES]);
  const espImage = join(scratch, 'esp.img');
  await runCommand('mkfs.vfat', ['-C', '-n', 'EFI', espImage, String(sizeMiB * 1024)]);
  await runCommand('mmd', ['-i', espImage, '::/EFI', '::/EFI/BOOT']);
  await runCommand('mcopy', ['-i', espImage, efiImage, '::/EFI/BOOT/BOOTX64.EFI']);
  return readFileSync(espImage);
}

/** Writes the lab kernel, the installed OS's initramfs and grub.cfg into a root tree; fstab when it has none. */
function installBootFiles(root: string, uuid: string, bootFiles: InstalledOsBootFiles, kernelArguments: string): void {
  const version = bootFiles.kernel.version;
  mkdirSync(join(root, 'boot', 'grub'), { recursive: true });
  copyFileSync(bootFiles.kernel.vmlinuzPath, join(root, 'boot', `vmlinuz-${version}`));
  copyFileSync(bootFiles.initrdPath, join(root, 'boot', `initrd.img-${version}`));
  writeFileSync(join(root, 'boot', 'grub', 'grub.cfg'), bootableGrubConfig(uuid, version, kernelArguments));
  mkdirSync(join(root, 'etc'), { recursive: true });
  if (!existsSync(join(root, 'etc', 'fstab'))) writeFileSync(join(root, 'etc', 'fstab'), rootFstab(uuid));
}

/** Builds the bootable disk image; see the file comment. */
export async function buildBootableDisk(options: BuildBootableDiskOptions): Promise<BootableDisk> {
  const name = options.name ?? 'bootable';
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`disk name must be plain: ${JSON.stringify(name)}`);
  const firmware = options.firmware ?? 'bios';
  if (firmware !== 'bios' && firmware !== 'uefi') throw new Error(`firmware must be "bios" or "uefi": ${JSON.stringify(firmware)}`);
  const sizeMiB = options.sizeMiB ?? 96;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 48) throw new Error(`sizeMiB must be an integer >= 48 (kernel and initramfs take ~15 MiB): ${sizeMiB}`);
  const uuid = (options.uuid ?? randomUUID()).toLowerCase();
  if (!UUID_PATTERN.test(uuid)) throw new Error(`not a UUID: ${JSON.stringify(uuid)}`);
  const label = options.label ?? 'lab-root';
  if (!/^[A-Za-z0-9._-]{1,16}$/.test(label)) throw new Error(`ext4 label must be 1-16 plain characters: ${JSON.stringify(label)}`);
  if (options.rootTree !== undefined && !existsSync(options.rootTree)) throw new Error(`root tree not found: ${options.rootTree}`);

  const bootFiles = options.bootFiles ?? (await ensureInstalledOsBootFiles());
  const kernelArguments = installedKernelArguments(uuid, options.extraKernelArguments);
  const directory = resolve(options.directory);
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `${name}.raw`);
  const scratch = mkdtempSync(join(tmpdir(), 'rescued-bootable-'));
  try {
    const root = join(scratch, 'root');
    mkdirSync(root);
    if (options.rootTree !== undefined) await runCommand('cp', ['-a', `${resolve(options.rootTree)}/.`, `${root}/`]);
    else writeFakeRoot(root, uuid, bootFiles.kernel.version, options.hostname ?? 'lab-server');
    installBootFiles(root, uuid, bootFiles, kernelArguments);
    const fstab = readFileSync(join(root, 'etc', 'fstab'), 'utf8');

    rmSync(path, { force: true });
    writeFileSync(path, '');
    truncateSync(path, sizeMiB * 1024 * 1024);
    const layout = firmware === 'bios'
      ? `label: dos\nstart=${FIRST_PARTITION_SECTOR}, type=83, bootable\n`
      : [
          'label: gpt',
          `start=${FIRST_PARTITION_SECTOR}, size=${ESP_SIZE_MIB * 2048}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"`,
          `start=${FIRST_PARTITION_SECTOR + ESP_SIZE_MIB * 2048}, type=0FC63DAF-8483-4772-8E4D-3D69E4C79C47, name="root"`,
          '',
        ].join('\n');
    const partitions = await partitionTable(path, layout);
    const rootPartition = partitions.at(-1);
    if (rootPartition === undefined) throw new Error(`sfdisk wrote no partition into ${path}`);
    const rootOffsetBytes = rootPartition.startSector * SECTOR;
    // The size in KiB keeps the file system inside its partition (a GPT's backup header follows it).
    await runCommand('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, '-L', label, '-U', uuid, '-E', `root_owner=0:0,offset=${rootOffsetBytes}`, path, `${Math.floor((rootPartition.sectors * SECTOR) / 1024)}k`]);

    let espOffsetBytes: number | undefined;
    if (firmware === 'bios') await installBiosGrub(path, scratch, uuid);
    else {
      espOffsetBytes = FIRST_PARTITION_SECTOR * SECTOR;
      writeAt(path, await buildEsp(scratch, uuid, ESP_SIZE_MIB), espOffsetBytes);
    }
    return {
      path, uuid, label, sizeMiB, kernelVersion: bootFiles.kernel.version, fstab, firmware, rootOffsetBytes, kernelArguments,
      ...(espOffsetBytes !== undefined ? { espOffsetBytes } : {}),
    };
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
