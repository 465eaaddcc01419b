// Two more boot images on top of the rescue image's userland (busybox with wget and udhcpc, e2fsck, blkid,
// dropbear, the virtio disk and network drivers, udhcpc's script), each with its own /init:
//   installed-os  the initramfs of the lab's installed OS on a bootable disk (bootable-disk.ts):
//                 lab/images/installed/init (root by UUID, fsck, fstab, then DHCP and sshd on port 22)
//   installer     the lab's installer for the reinstall case (installer.ts): lab/images/installer/init
// Each is two concatenated gzip'd cpio archives, the rescue image and a small overlay whose /init replaces the
// rescue one (the kernel unpacks concatenated archives in order, a later file replacing an earlier one:
// Documentation/driver-api/early-userspace/buffer-format.rst), so the rescue image is reused as it is rather than
// built a second way. Cached next to the other images, keyed by the rescue image and the init script.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CpioArchive } from './cpio.js';
import { buildRescueInitramfs } from './initramfs.js';
import { ensureLabKernel, type LabKernel } from './kernel.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from './paths.js';

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

async function ensureRescueBasedImage(kind: RescueBasedImageKind, options: { cacheDirectory?: string }): Promise<RescueBasedBootFiles> {
  const cache = options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {};
  const kernel = await ensureLabKernel(cache);
  const rescue = await buildRescueInitramfs({ kernel, ...cache });
  const init = readFileSync(INIT_SOURCES[kind]);
  const rescueImage = readFileSync(rescue.path);
  const key = createHash('sha256').update(rescueImage).update(init).digest('hex').slice(0, 16);
  const initrdPath = join(options.cacheDirectory ?? labCacheDirectory(), 'initramfs', `${kind}-${kernel.version}-${key}.cpio.gz`);
  if (!existsSync(initrdPath) || statSync(initrdPath).size === 0) {
    const overlay = new CpioArchive().file('init', init, 0o755).toGzip();
    mkdirSync(dirname(initrdPath), { recursive: true });
    const temporary = `${initrdPath}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.concat([rescueImage, overlay]));
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
