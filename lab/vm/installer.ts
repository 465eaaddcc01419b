// The lab's installer for the reinstall case, as rescued drives a real one: a profile whose distro boots the
// installer image (rescue-based-images.ts, lab/images/installer/init) and whose autoinstall template (kind
// "script") names the OS image and the install-status callbacks. rescued serves the install boot to the machine
// (boot/netboot.ts: the autoinstall URL on the kernel command line as url=, for breed debian), renders the
// template with the per-install token in status_url_started/status_url_finished (boot/install-status.ts), and the
// installer fetches it, calls started, writes the image to /dev/vda, calls finished (failed on error) and reboots.
// The OS image is the lab's bootable disk (bootable-disk.ts), gzip'd.
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { buildBootableDisk, type BootableDisk, type BuildBootableDiskOptions } from './bootable-disk.js';
import { ensureInstallerBootFiles } from './rescue-based-images.js';

export interface LabOsImage {
  /** The bootable disk, as built (raw). */
  disk: BootableDisk;
  /** The same, gzip'd: what the installer fetches (it gunzips a URL ending in .gz). */
  gzipPath: string;
  gzipBytes: number;
}

/** Builds the OS image the installer writes: a bootable disk (BIOS or UEFI), and its gzip'd copy next to it. */
export async function buildLabOsImage(options: BuildBootableDiskOptions): Promise<LabOsImage> {
  const disk = await buildBootableDisk({ name: 'os-image', ...options });
  const gzipPath = `${disk.path}.gz`;
  // Level 1: the image is mostly empty blocks and already-compressed kernel and initramfs.
  await pipeline(createReadStream(disk.path), createGzip({ level: 1 }), createWriteStream(gzipPath));
  return { disk, gzipPath, gzipBytes: statSync(gzipPath).size };
}

/**
 * The autoinstall template the lab's installer reads (kind "script"): key=value lines. `imageUrl` is the OS
 * image's URL as the machine reaches it; it may itself use the template's variables ({{ server.http }}).
 */
export function labInstallerTemplate(imageUrl: string): string {
  if (/[\r\n]/.test(imageUrl)) throw new Error(`image URL must be one line: ${JSON.stringify(imageUrl)}`);
  return [
    '# rescued lab installer (lab/images/installer/init): key=value lines',
    `image=${imageUrl}`,
    'started={{ status_url_started }}',
    'finished={{ status_url_finished }}',
    'disk=/dev/vda',
    '',
  ].join('\n');
}

export interface PublishedInstaller {
  /** Paths inside the TFTP root (also served over HTTP as /boot/files/<path>), for a distro's kernel and initrd. */
  kernel: string;
  initrd: string;
  /** The OS image's path inside the TFTP root: its URL is {{ server.http }}/boot/files/<osImage>. */
  osImage: string;
}

/**
 * Copies the lab kernel, the installer's initramfs and an OS image into `folder` of a TFTP root, where rescued's
 * boot routes serve them. The distro is then { kernel, initrd, breed: 'debian' } and the profile's template
 * labInstallerTemplate(`{{ server.http }}/boot/files/${osImage}`).
 */
export async function publishLabInstaller(tftpRoot: string, osImage: LabOsImage, folder = 'lab'): Promise<PublishedInstaller> {
  if (!/^[A-Za-z0-9._-]+$/.test(folder)) throw new Error(`folder must be a plain name: ${JSON.stringify(folder)}`);
  const installer = await ensureInstallerBootFiles();
  mkdirSync(join(tftpRoot, folder), { recursive: true });
  const published = { kernel: posix.join(folder, 'installer-vmlinuz'), initrd: posix.join(folder, 'installer.cpio.gz'), osImage: posix.join(folder, 'os-image.raw.gz') };
  await copyFile(installer.kernel.vmlinuzPath, join(tftpRoot, published.kernel));
  await copyFile(installer.initrdPath, join(tftpRoot, published.initrd));
  await copyFile(osImage.gzipPath, join(tftpRoot, published.osImage));
  return published;
}
