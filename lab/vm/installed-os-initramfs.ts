// The initramfs of the lab's "installed OS" (the one on a bootable disk, bootable-disk.ts): the rescue image's
// userland (busybox, e2fsck, blkid, dropbear, the virtio disk and network drivers, udhcpc's script) with
// lab/images/installed/init as its /init. Built as two concatenated gzip'd cpio archives, the rescue image and a
// small overlay whose /init replaces the rescue one (the kernel unpacks concatenated archives in order, a later
// file replacing an earlier one: Documentation/driver-api/early-userspace/buffer-format.rst), so the rescue image
// is reused as it is rather than built a second way. Cached next to the other images.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CpioArchive } from './cpio.js';
import { buildRescueInitramfs } from './initramfs.js';
import { ensureLabKernel, type LabKernel } from './kernel.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from './paths.js';

export interface InstalledOsBootFiles {
  kernel: LabKernel;
  /** The installed OS's initramfs (gzip'd cpio), to be written to the disk's /boot/initrd.img-<version>. */
  initrdPath: string;
}

/** The lab kernel and the installed OS's initramfs, built once and cached under .cache/lab/initramfs/. */
export async function ensureInstalledOsBootFiles(options: { cacheDirectory?: string } = {}): Promise<InstalledOsBootFiles> {
  const kernel = await ensureLabKernel(options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {});
  const rescue = await buildRescueInitramfs({ kernel, ...(options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {}) });
  const init = readFileSync(join(LAB_IMAGES_SOURCE_DIRECTORY, 'installed', 'init'));
  const rescueImage = readFileSync(rescue.path);
  const key = createHash('sha256').update(rescueImage).update(init).digest('hex').slice(0, 16);
  const initrdPath = join(options.cacheDirectory ?? labCacheDirectory(), 'initramfs', `installed-os-${kernel.version}-${key}.cpio.gz`);
  if (!existsSync(initrdPath) || statSync(initrdPath).size === 0) {
    const overlay = new CpioArchive().file('init', init, 0o755).toGzip();
    mkdirSync(dirname(initrdPath), { recursive: true });
    const temporary = `${initrdPath}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.concat([rescueImage, overlay]));
    renameSync(temporary, initrdPath);
  }
  return { kernel, initrdPath };
}
