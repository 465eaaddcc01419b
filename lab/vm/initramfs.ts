// The lab's boot images: gzip'd newc cpio initramfs images, built with the rescue image builder's pieces
// (images/initramfs.ts) and cached under .cache/lab/initramfs/. Three kinds:
//   marker: prints `RESCUED-LAB-MARKER <rescued.marker>` on the console and powers off.
//   rescue: the product's rescue image (images/rescue-image.ts), without its extras (smartmontools, GRUB).
//   installed: a stand-in for an installed system's own initramfs, to boot a repaired disk (lab/images/installed/init).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpioArchive } from '../../images/cpio.js';
import {
  BUSYBOX_PATH, E2FSCK_STATIC_PATH, RESCUE_MODULES, addBaseLayout, addBusybox, addDynamicBinary, addHostFile, addModules,
  buildCachedInitramfs, fileFingerprint, findHostTool, requireHostFile, resolveModules, type BuiltImage, type InitramfsImage,
} from '../../images/initramfs.js';
import { buildRescueInitramfs } from '../../images/rescue-image.js';
import { ensureLabKernel, type LabKernel } from './kernel.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from './paths.js';

export type { InitramfsImage } from '../../images/initramfs.js';
export { buildRescueInitramfs } from '../../images/rescue-image.js';

export type InitramfsKind = 'marker' | 'rescue' | 'installed';

export interface BuildInitramfsOptions {
  kernel?: LabKernel;
  cacheDirectory?: string;
  /** Rebuild even when the cached image matches. */
  force?: boolean;
}

export interface LabBootImages {
  kernel: LabKernel;
  marker: InitramfsImage;
  rescue: InitramfsImage;
  installed: InitramfsImage;
}

/** Bump when the layout of the images changes in a way the cache key cannot see. */
const IMAGE_FORMAT_VERSION = 5;

function imageSource(...parts: string[]): string {
  return readFileSync(join(LAB_IMAGES_SOURCE_DIRECTORY, ...parts), 'utf8');
}

async function buildMarkerArchive(): Promise<BuiltImage> {
  const archive = new CpioArchive();
  addBaseLayout(archive);
  const applets = await addBusybox(archive);
  archive.file('init', imageSource('marker', 'init'), 0o755);
  return { archive, tools: ['busybox', ...applets], missingOptionalTools: [], modules: [] };
}

/** The installed-system stand-in: busybox, e2fsck (as fsck), the disk and file system modules, and its init. */
async function buildInstalledArchive(kernel: LabKernel): Promise<BuiltImage> {
  const archive = new CpioArchive();
  addBaseLayout(archive);
  const applets = await addBusybox(archive);
  addHostFile(archive, requireHostFile(E2FSCK_STATIC_PATH, 'e2fsck-static'), 'sbin/e2fsck', 0o755);
  const blkid = findHostTool('blkid');
  if (blkid) await addDynamicBinary(archive, blkid, 'usr/sbin/blkid');
  const modules = resolveModules(kernel, RESCUE_MODULES.filter((module) => !/net|rng/.test(module.name)));
  addModules(archive, kernel, modules);
  archive.file('init', imageSource('installed', 'init'), 0o755);
  return { archive, tools: ['busybox', ...applets, 'e2fsck', ...(blkid ? ['blkid'] : [])], missingOptionalTools: blkid ? [] : ['blkid'], modules };
}

function cacheKey(kind: 'marker' | 'installed', kernel: LabKernel): string {
  const hostFiles = kind === 'installed' ? [BUSYBOX_PATH, E2FSCK_STATIC_PATH] : [BUSYBOX_PATH];
  const material = JSON.stringify({
    IMAGE_FORMAT_VERSION,
    kind,
    kernel: [kernel.packageName, kernel.packageVersion, kernel.version],
    modules: kind === 'marker' ? [] : RESCUE_MODULES,
    sources: [imageSource(kind, 'init')],
    hostFiles: hostFiles.filter((path) => existsSync(path)).map(fileFingerprint),
  });
  return createHash('sha256').update(material).digest('hex');
}

async function buildLabInitramfs(kind: 'marker' | 'installed', options: BuildInitramfsOptions): Promise<InitramfsImage> {
  const kernel = options.kernel ?? (await ensureLabKernel({ cacheDirectory: options.cacheDirectory }));
  return buildCachedInitramfs({
    kind,
    imagePath: join(options.cacheDirectory ?? labCacheDirectory(), 'initramfs', `${kind}-${kernel.version}.cpio.gz`),
    key: cacheKey(kind, kernel),
    kernelVersion: kernel.version,
    ...(options.force !== undefined ? { force: options.force } : {}),
    build: () => (kind === 'marker' ? buildMarkerArchive() : buildInstalledArchive(kernel)),
  });
}

/** The marker image (cached). */
export function buildMarkerInitramfs(options: BuildInitramfsOptions = {}): Promise<InitramfsImage> {
  return buildLabInitramfs('marker', options);
}

/** The installed-system stand-in (cached). */
export function buildInstalledInitramfs(options: BuildInitramfsOptions = {}): Promise<InitramfsImage> {
  return buildLabInitramfs('installed', options);
}

/** Kernel, marker, rescue and installed-system images, each built once and cached under .cache/lab/. */
export async function ensureLabBootImages(options: Omit<BuildInitramfsOptions, 'kernel'> = {}): Promise<LabBootImages> {
  const kernel = await ensureLabKernel({ cacheDirectory: options.cacheDirectory });
  const marker = await buildMarkerInitramfs({ ...options, kernel });
  const rescue = await buildRescueInitramfs({ ...options, kernel });
  const installed = await buildInstalledInitramfs({ ...options, kernel });
  return { kernel, marker, rescue, installed };
}
