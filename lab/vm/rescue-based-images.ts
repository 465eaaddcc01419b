// Two more boot images made from the rescue image, each with its own /init:
//   installed-os  the initramfs of the lab's installed OS on a bootable disk (bootable-disk.ts):
//                 lab/images/installed/init (root by UUID, fsck, fstab, then DHCP and sshd on port 22)
//   installer     the lab's installer for the reinstall case (installer.ts): lab/images/installer/init
// Both need only part of the rescue image's userland: busybox (sh, udhcpc, wget, gunzip, dd), e2fsck, blkid,
// dropbear and the libraries they link, the virtio disk and network drivers, /etc (udhcpc's script). The rest (LVM,
// mdadm, the XFS tools and module, ...) is left out: the image is read by GRUB through BIOS calls, and every
// megabyte costs boot time under emulation. The rescue image is read back (cpio-reader.ts) and filtered rather than
// built a second way. Cached next to the other images, keyed by the rescue image and the init script.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { CpioArchive } from './cpio.js';
import { CPIO_CHARACTER_DEVICE, CPIO_DIRECTORY, CPIO_SYMLINK, CPIO_TYPE_MASK, readCpioEntries, type CpioReadEntry } from './cpio-reader.js';
import { runCommand } from './commands.js';
import { buildRescueInitramfs } from './initramfs.js';
import { ensureLabKernel, type LabKernel } from './kernel.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from './paths.js';

/** The rescue image's programs the installed OS and the installer run (busybox's applets are symlinks to it). */
const KEPT_PROGRAMS = ['bin/busybox', 'sbin/e2fsck', 'usr/sbin/blkid', 'usr/sbin/dropbear', 'usr/bin/dropbearkey'];
/** Modules kept: the virtio transport, disk, network (and its failover dependencies) and entropy drivers. */
const KEPT_MODULE = /\/(virtio[^/]*|net_failover|failover)\.ko$/;
/** Host binaries whose shared libraries (ldd) the image keeps; the rescue image copied them from these. */
const LINKED_HOST_PROGRAMS = ['/usr/sbin/dropbear', '/usr/bin/dropbearkey', '/usr/sbin/blkid', '/sbin/blkid'];

export type RescueBasedImageKind = 'installed-os' | 'installer';

export interface RescueBasedBootFiles {
  kernel: LabKernel;
  /** The gzip'd cpio initramfs. */
  initrdPath: string;
}

/** The installed OS's boot files: what a bootable disk's /boot holds. */
export type InstalledOsBootFiles = RescueBasedBootFiles;

const INIT_SOURCES: Record<RescueBasedImageKind, string> = {
  'installed-os': join(LAB_IMAGES_SOURCE_DIRECTORY, 'installed', 'init'),
  installer: join(LAB_IMAGES_SOURCE_DIRECTORY, 'installer', 'init'),
};

/** Base names of the shared libraries (and dynamic loader) the kept programs link. */
async function linkedLibraries(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const program of LINKED_HOST_PROGRAMS.filter((path) => existsSync(path))) {
    const { stdout } = await runCommand('ldd', [program], { acceptedExitCodes: [0, 1] });
    for (const match of stdout.matchAll(/(\/\S+\.so[^\s]*)/g)) names.add(posix.basename(match[1]!));
  }
  return names;
}

/** The rescue image's entries the installed OS and installer need (see the file comment). */
function keptEntries(entries: CpioReadEntry[], libraries: Set<string>): CpioReadEntry[] {
  const keptFiles = (entry: CpioReadEntry): boolean => {
    const { path } = entry;
    if (KEPT_PROGRAMS.includes(path) || path === 'init') return true;
    if (path.startsWith('etc/')) return true;
    if (/^(usr\/)?lib(64|32)?\//.test(path) && libraries.has(posix.basename(path))) return true;
    if (path.startsWith('lib/modules/')) return !path.endsWith('.ko') || KEPT_MODULE.test(path);
    return false;
  };
  const kept = entries.filter((entry) => {
    const type = entry.mode & CPIO_TYPE_MASK;
    return type === CPIO_DIRECTORY || type === CPIO_CHARACTER_DEVICE || type === CPIO_SYMLINK || keptFiles(entry);
  });
  const keptPaths = new Set(kept.map((entry) => entry.path));
  const originalPaths = new Set(entries.map((entry) => entry.path));
  return kept
    // A symlink to something left out (lvm's aliases) goes too; one that points outside the image (etc/mtab) stays.
    .filter((entry) => {
      if ((entry.mode & CPIO_TYPE_MASK) !== CPIO_SYMLINK) return true;
      const target = entry.data.toString('utf8');
      const resolved = posix.normalize(target.startsWith('/') ? target.slice(1) : posix.join(posix.dirname(entry.path), target));
      return keptPaths.has(resolved) || !originalPaths.has(resolved);
    })
    .map((entry) => {
      if (!/^lib\/modules\/[^/]+\/load-order$/.test(entry.path)) return entry;
      const order = entry.data.toString('utf8').split('\n').filter((line) => line !== '' && KEPT_MODULE.test(`/${line}`));
      return { ...entry, data: Buffer.from(`${order.join('\n')}\n`) };
    });
}

async function ensureRescueBasedImage(kind: RescueBasedImageKind, options: { cacheDirectory?: string }): Promise<RescueBasedBootFiles> {
  const cache = options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {};
  const kernel = await ensureLabKernel(cache);
  const rescue = await buildRescueInitramfs({ kernel, ...cache });
  const init = readFileSync(INIT_SOURCES[kind]);
  const rescueImage = readFileSync(rescue.path);
  const key = createHash('sha256').update(rescueImage).update(init).update(KEPT_PROGRAMS.join()).update(KEPT_MODULE.source).digest('hex').slice(0, 16);
  const initrdPath = join(options.cacheDirectory ?? labCacheDirectory(), 'initramfs', `${kind}-${kernel.version}-${key}.cpio.gz`);
  if (!existsSync(initrdPath) || statSync(initrdPath).size === 0) {
    const archive = new CpioArchive();
    for (const entry of keptEntries(readCpioEntries(rescueImage), await linkedLibraries())) {
      const type = entry.mode & CPIO_TYPE_MASK;
      const permissions = entry.mode & 0o7777;
      if (entry.path === '.') continue;
      if (type === CPIO_DIRECTORY) archive.directory(entry.path, permissions);
      else if (type === CPIO_SYMLINK) archive.symlink(entry.path, entry.data.toString('utf8'));
      else if (type === CPIO_CHARACTER_DEVICE) archive.characterDevice(entry.path, entry.rdevMajor, entry.rdevMinor, permissions);
      else archive.file(entry.path, entry.data, permissions);
    }
    archive.file('init', init, 0o755);
    mkdirSync(dirname(initrdPath), { recursive: true });
    const temporary = `${initrdPath}.${process.pid}.tmp`;
    writeFileSync(temporary, archive.toGzip());
    renameSync(temporary, initrdPath);
  }
  return { kernel, initrdPath };
}

/** The lab kernel and the installed OS's initramfs (cached under .cache/lab/initramfs/). */
export function ensureInstalledOsBootFiles(options: { cacheDirectory?: string } = {}): Promise<InstalledOsBootFiles> {
  return ensureRescueBasedImage('installed-os', options);
}

/** The lab kernel and the installer's initramfs (cached under .cache/lab/initramfs/). */
export function ensureInstallerBootFiles(options: { cacheDirectory?: string } = {}): Promise<RescueBasedBootFiles> {
  return ensureRescueBasedImage('installer', options);
}
