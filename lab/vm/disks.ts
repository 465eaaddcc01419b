// Disk images for the lab, made without loop devices or mounts: `mke2fs -d` fills an ext4 image from a small
// fake root file system (etc/fstab naming the file system's UUID, boot/vmlinuz-* and initrd placeholders,
// var/log), and `debugfs -w` or plain writes break it on purpose:
//   cleared-inode      `clri` on a file's inode: its directory entry points at a cleared inode
//   freed-blocks       `freeb` on a file's blocks: the block bitmap says they are free while the file uses them
//   zeroed-superblock  the primary superblock overwritten with zeros (e2fsck must use a backup)
//   bad-fstab-uuid     /etc/fstab mounts / by a UUID that no file system has (the file system itself is fine)
//   kernel-gone        every /boot/vmlinuz-* and /boot/initrd.img-* removed (the boot loader has nothing to load;
//                      only a reinstall brings the kernel back)
// A disk whose root file system sits in a partition (bootable-disk.ts) names its byte offset: e2fsprogs open
// `IMAGE?offset=N` (unix_io's offset option), so the same breakers work on a partitioned image.
// The first two also mark the file system as having errors, as the kernel does when it meets such damage, so
// that a plain `e2fsck -n` (without -f) looks at it.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand, type CommandResult } from './commands.js';

export type DiskBreakage = 'cleared-inode' | 'freed-blocks' | 'zeroed-superblock' | 'bad-fstab-uuid' | 'kernel-gone';

export const DISK_BREAKAGES: readonly DiskBreakage[] = ['cleared-inode', 'freed-blocks', 'zeroed-superblock', 'bad-fstab-uuid', 'kernel-gone'];

export interface CreateLabDiskOptions {
  /** Folder for the image (created if missing). */
  directory: string;
  /** File name without extension (default "disk"); the image is <directory>/<name>.raw. */
  name?: string;
  /** Default 64. */
  sizeMiB?: number;
  /** File system label, default "lab-root". */
  label?: string;
  /** File system UUID, default a random one. */
  uuid?: string;
  /** Kernel release named by the placeholder boot files, default 6.1.0-lab-amd64. */
  kernelVersion?: string;
  /** Host name written to etc/hostname, default lab-server. */
  hostname?: string;
}

export interface LabDisk {
  path: string;
  uuid: string;
  label: string;
  sizeMiB: number;
  kernelVersion: string;
  /** The /etc/fstab written at creation (root by UUID). */
  fstab: string;
  /** Where the root file system starts in the image, in bytes (a partitioned disk); absent or 0: at the start. */
  rootOffsetBytes?: number;
}

export interface DiskDamage {
  kind: DiskBreakage;
  /** What was done, in words for a report. */
  description: string;
  /** The file inside the file system that was damaged, when there is one. */
  damagedFile?: string;
  inode?: number;
  blocks?: number[];
  /** bad-fstab-uuid: the UUID /etc/fstab now names, which no file system has. */
  missingUuid?: string;
  /** kernel-gone: the files removed from /boot. */
  removedFiles?: string[];
}

export interface BrokenLabDisk extends LabDisk {
  damage: DiskDamage;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIMPLE_NAME = /^[A-Za-z0-9._-]+$/;
// debugfs splits its command lines on blanks; the host paths we hand it must have none.
const DEBUGFS_SAFE_PATH = /^[A-Za-z0-9._/+-]+$/;

export function rootFstab(uuid: string): string {
  return [
    '# /etc/fstab: static file system information.',
    '# <file system> <mount point> <type> <options> <dump> <pass>',
    `UUID=${uuid} / ext4 errors=remount-ro 0 1`,
    'proc /proc proc defaults 0 0',
    '',
  ].join('\n');
}

function logLines(name: string, count: number): string {
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const second = String(index % 60).padStart(2, '0');
    lines.push(`Nov 25 10:${String(Math.trunc(index / 60) % 60).padStart(2, '0')}:${second} lab-server ${name}[${1000 + index}]: lab log line ${index}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The lab's small installed root (fstab by UUID, placeholder kernel files, grub.cfg, logs) in a directory. */
export function writeFakeRoot(root: string, uuid: string, kernelVersion: string, hostname: string): string {
  const fstab = rootFstab(uuid);
  const files: Record<string, string> = {
    'etc/fstab': fstab,
    'etc/hostname': `${hostname}\n`,
    'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
    [`boot/vmlinuz-${kernelVersion}`]: `placeholder for the kernel ${kernelVersion}\n`,
    [`boot/initrd.img-${kernelVersion}`]: `placeholder for the initrd of ${kernelVersion}\n`,
    'boot/grub/grub.cfg': `menuentry 'Debian GNU/Linux' {\n  linux /boot/vmlinuz-${kernelVersion} root=UUID=${uuid} ro quiet\n  initrd /boot/initrd.img-${kernelVersion}\n}\n`,
    'var/log/messages': logLines('kernel', 1500),
    'var/log/syslog': logLines('systemd', 600),
    'root/.profile': '# ~/.profile\n',
  };
  for (const [relativePath, content] of Object.entries(files)) {
    const path = join(root, relativePath);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content, { mode: 0o644 });
  }
  for (const directory of ['home', 'tmp', 'var/tmp', 'mnt', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(root, directory), { recursive: true });
  return fstab;
}

/** The root file system as e2fsprogs (debugfs, e2fsck, dumpe2fs, tune2fs) open it: `IMAGE` or `IMAGE?offset=N`. */
export function rootFileSystemPath(disk: Pick<LabDisk, 'path' | 'rootOffsetBytes'>): string {
  const offset = disk.rootOffsetBytes ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`rootOffsetBytes must be a non-negative integer: ${offset}`);
  return offset === 0 ? disk.path : `${disk.path}?offset=${offset}`;
}

async function debugfs(imagePath: string, commands: string[], writable: boolean): Promise<CommandResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'rescued-debugfs-'));
  try {
    const commandFile = join(scratch, 'commands');
    writeFileSync(commandFile, `${commands.join('\n')}\n`);
    const result = await runCommand('debugfs', [...(writable ? ['-w'] : []), '-f', commandFile, imagePath]);
    // debugfs reports a failed command on stderr and still exits 0.
    const failure = result.stderr.split('\n').find((line) => /: (File not found|Filesystem not open|Invalid|Couldn't|Could not)|^debugfs: .*error/i.test(line));
    if (failure) throw new Error(`debugfs ${commands.join('; ')} on ${imagePath}: ${failure.trim()}`);
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A file's inode number inside an image. */
async function inodeOf(imagePath: string, pathInside: string): Promise<number> {
  const { stdout } = await runCommand('debugfs', ['-R', `stat ${pathInside}`, imagePath]);
  const inode = /Inode:\s*(\d+)/.exec(stdout)?.[1];
  if (!inode) throw new Error(`debugfs: no inode for ${pathInside} in ${imagePath}`);
  return Number(inode);
}

/** Data block numbers of a file inside an image. */
async function blocksOf(imagePath: string, pathInside: string): Promise<number[]> {
  const { stdout } = await runCommand('debugfs', ['-R', `blocks ${pathInside}`, imagePath]);
  const blocks = stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  if (blocks.length === 0 || blocks.some((block) => !Number.isInteger(block))) {
    throw new Error(`debugfs: no blocks for ${pathInside} in ${imagePath}: ${stdout.trim()}`);
  }
  return blocks;
}

/** Marks the file system as "not clean, with errors", as the kernel does when it finds corruption. */
async function markFileSystemErrors(imagePath: string): Promise<void> {
  await debugfs(imagePath, ['ssv state 2'], true);
}

/** Reads a file from inside an ext2/3/4 image (debugfs `cat`), without mounting it. */
export async function readFileFromDiskImage(imagePath: string, pathInside: string): Promise<string> {
  if (!DEBUGFS_SAFE_PATH.test(pathInside)) throw new Error(`path inside the image must be plain: ${JSON.stringify(pathInside)}`);
  const { stdout, stderr } = await runCommand('debugfs', ['-R', `cat ${pathInside}`, imagePath]);
  if (/File not found/.test(stderr)) throw new Error(`${pathInside} not found in ${imagePath}`);
  return stdout;
}

/** Replaces a file inside an image (debugfs `rm` + `write`), keeping mode 0644. */
export async function writeFileToDiskImage(imagePath: string, pathInside: string, content: string): Promise<void> {
  if (!DEBUGFS_SAFE_PATH.test(pathInside) || !pathInside.startsWith('/')) {
    throw new Error(`path inside the image must be absolute and plain: ${JSON.stringify(pathInside)}`);
  }
  const scratch = mkdtempSync(join(tmpdir(), 'rescued-disk-file-'));
  try {
    const localPath = join(scratch, 'content');
    if (!DEBUGFS_SAFE_PATH.test(localPath)) throw new Error(`temporary folder has characters debugfs cannot take: ${localPath}`);
    writeFileSync(localPath, content, { mode: 0o644 });
    const slash = pathInside.lastIndexOf('/');
    const directory = slash === 0 ? '/' : pathInside.slice(0, slash);
    const name = pathInside.slice(slash + 1);
    // `write` creates its target in the current directory, so cd there first; rm may fail if the file is absent.
    await runCommand('debugfs', ['-w', '-R', `rm ${pathInside}`, imagePath]);
    await debugfs(imagePath, [`cd ${directory}`, `write ${localPath} ${name}`], true);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Host `e2fsck -fn IMAGE` (read-only, forced): exit 0 means clean, 4 means errors left uncorrected. */
export async function checkDiskImage(imagePath: string): Promise<CommandResult> {
  return runCommand('e2fsck', ['-fn', imagePath], { acceptedExitCodes: [0, 1, 2, 4, 8, 12] });
}

/** Builds a healthy ext4 image with a small fake root file system. */
export async function createLabDisk(options: CreateLabDiskOptions): Promise<LabDisk> {
  const name = options.name ?? 'disk';
  if (!SIMPLE_NAME.test(name)) throw new Error(`disk name must be plain: ${JSON.stringify(name)}`);
  const sizeMiB = options.sizeMiB ?? 64;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 8) throw new Error(`sizeMiB must be an integer >= 8: ${sizeMiB}`);
  const uuid = (options.uuid ?? randomUUID()).toLowerCase();
  if (!UUID_PATTERN.test(uuid)) throw new Error(`not a UUID: ${JSON.stringify(uuid)}`);
  const label = options.label ?? 'lab-root';
  if (!/^[A-Za-z0-9._-]{1,16}$/.test(label)) throw new Error(`ext4 label must be 1-16 plain characters: ${JSON.stringify(label)}`);
  const kernelVersion = options.kernelVersion ?? '6.1.0-lab-amd64';
  if (!SIMPLE_NAME.test(kernelVersion)) throw new Error(`kernel version must be plain: ${JSON.stringify(kernelVersion)}`);

  const directory = resolve(options.directory);
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `${name}.raw`);
  rmSync(path, { force: true });
  const root = mkdtempSync(join(tmpdir(), 'rescued-disk-root-'));
  try {
    const fstab = writeFakeRoot(root, uuid, kernelVersion, options.hostname ?? 'lab-server');
    await runCommand('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, '-L', label, '-U', uuid, '-E', 'root_owner=0:0', path, `${sizeMiB}M`]);
    return { path, uuid, label, sizeMiB, kernelVersion, fstab };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Damages an existing lab disk image in place. */
export async function breakLabDisk(disk: LabDisk, kind: DiskBreakage): Promise<BrokenLabDisk> {
  if (!existsSync(disk.path)) throw new Error(`disk image not found: ${disk.path}`);
  const fileSystem = rootFileSystemPath(disk);
  let damage: DiskDamage;
  switch (kind) {
    case 'cleared-inode': {
      const damagedFile = '/var/log/syslog';
      const inode = await inodeOf(fileSystem, damagedFile);
      await debugfs(fileSystem, [`clri <${inode}>`], true);
      await markFileSystemErrors(fileSystem);
      damage = { kind, damagedFile, inode, description: `inode ${inode} (${damagedFile}) cleared with debugfs clri` };
      break;
    }
    case 'freed-blocks': {
      const damagedFile = '/var/log/messages';
      const blocks = await blocksOf(fileSystem, damagedFile);
      const freed = blocks.slice(0, Math.min(8, blocks.length));
      await debugfs(fileSystem, freed.map((block) => `freeb ${block}`), true);
      await markFileSystemErrors(fileSystem);
      damage = { kind, damagedFile, blocks: freed, description: `blocks ${freed.join(', ')} of ${damagedFile} marked free with debugfs freeb` };
      break;
    }
    case 'zeroed-superblock': {
      // The primary superblock is the 1024 bytes at offset 1024, whatever the block size.
      const descriptor = openSync(disk.path, 'r+');
      try {
        writeSync(descriptor, Buffer.alloc(1024), 0, 1024, (disk.rootOffsetBytes ?? 0) + 1024);
      } finally {
        closeSync(descriptor);
      }
      damage = { kind, description: 'primary superblock (bytes 1024-2047) overwritten with zeros' };
      break;
    }
    case 'bad-fstab-uuid': {
      let missingUuid = randomUUID();
      while (missingUuid === disk.uuid) missingUuid = randomUUID();
      await writeFileToDiskImage(fileSystem, '/etc/fstab', rootFstab(missingUuid));
      damage = {
        kind,
        damagedFile: '/etc/fstab',
        missingUuid,
        description: `/etc/fstab mounts / by UUID=${missingUuid}, which no file system has (the root file system is ${disk.uuid})`,
      };
      break;
    }
    case 'kernel-gone': {
      const { stdout } = await runCommand('debugfs', ['-R', 'ls -p /boot', fileSystem]);
      // `ls -p` lines: /inode/mode/uid/gid/name/size/
      const names = stdout.split('\n').map((line) => line.split('/')[5] ?? '').filter((name) => /^(vmlinuz|initrd\.img)-/.test(name));
      if (names.length === 0) throw new Error(`kernel-gone: ${disk.path} has no /boot/vmlinuz-* or /boot/initrd.img-* to remove`);
      const removedFiles = names.map((name) => `/boot/${name}`);
      await debugfs(fileSystem, removedFiles.map((path) => `rm ${path}`), true);
      damage = { kind, removedFiles, description: `${removedFiles.join(', ')} removed: the boot loader finds no kernel to load` };
      break;
    }
    default: {
      const unknown: never = kind;
      throw new Error(`unknown disk breakage: ${String(unknown)}`);
    }
  }
  return { ...disk, damage };
}

/** A new lab disk, broken in the given way. */
export async function createBrokenLabDisk(kind: DiskBreakage, options: CreateLabDiskOptions): Promise<BrokenLabDisk> {
  const disk = await createLabDisk({ name: kind, ...options });
  return breakLabDisk(disk, kind);
}
