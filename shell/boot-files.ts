// Where an installed system keeps its kernels, initramfs images and GRUB files: /boot on the root file system,
// or the root of a separate /boot file system named in its fstab. Shared by the boot probe and the playbooks.
import type { FileSystemAccess, DirectoryEntry } from './file-systems/access.js';
import type { Evidence } from './evidence.js';
import { fstabEntries, resolveFstabSource, type FstabLine, type KnownFileSystem } from './fstab.js';
import { findEntry, initramfsVersionOf, kernelVersionOf, parseGrubConfig, parseGrubEnv, resolveDefaultEntry, type DefaultEntryResolution, type GrubConfig, type GrubMenuEntry } from './grub.js';

export interface BootLocation {
  /** The device that holds the boot files. */
  device: string;
  /** The boot directory on that device: `/boot`, or `/` for a separate /boot file system. */
  directory: string;
}

/** /boot of a root: the separate file system its fstab names for /boot when present, else /boot on the root. */
export function bootLocation(rootDevice: string, fstab: readonly FstabLine[], known: readonly KnownFileSystem[]): BootLocation {
  const bootEntry = fstabEntries(fstab).find((entry) => entry.mountPoint === '/boot');
  if (bootEntry) {
    const resolution = resolveFstabSource(bootEntry.source, known);
    if (resolution.status === 'found' && resolution.fileSystem.device !== rootDevice) return { device: resolution.fileSystem.device, directory: '/' };
  }
  return { device: rootDevice, directory: '/boot' };
}

export function inBoot(location: BootLocation, relative: string): string {
  return location.directory === '/' ? `/${relative}` : `${location.directory}/${relative}`;
}

export const GRUB_DIRECTORIES = ['grub', 'grub2'] as const;

export interface BootInventory {
  location: BootLocation;
  entries: DirectoryEntry[] | null;
  kernels: string[];
  initramfs: string[];
  listingEvidence: Evidence;
  grub: {
    /** Path of grub.cfg inside the boot file system. */
    path: string;
    text: string;
    config: GrubConfig;
    grubenvPath: string;
    grubenv: Map<string, string> | null;
    defaultEntry: DefaultEntryResolution;
    evidence: Evidence;
  } | null;
}

export async function readBootInventory(access: FileSystemAccess, location: BootLocation): Promise<BootInventory> {
  const listing = await access.list(location.directory);
  const names = (listing.entries ?? []).filter((entry) => entry.type === 'file' || entry.type === 'symlink').map((entry) => entry.name);
  const kernels = names.map(kernelVersionOf).filter((version): version is string => version !== null);
  const initramfs = names.map(initramfsVersionOf).filter((version): version is string => version !== null);
  let grub: BootInventory['grub'] = null;
  for (const directory of GRUB_DIRECTORIES) {
    const path = inBoot(location, `${directory}/grub.cfg`);
    const read = await access.readFile(path, { maxBytes: 512 * 1024 });
    if (read.content === null) continue;
    const grubenvPath = inBoot(location, `${directory}/grubenv`);
    const config = parseGrubConfig(read.content);
    // grubenv matters only when grub.cfg takes its default from saved_entry.
    const usesSavedEntry = config.defaultSettings.some((setting) => setting.value.includes('saved_entry'));
    const grubenvRead = usesSavedEntry ? await access.readFile(grubenvPath, { maxBytes: 4096 }) : null;
    const grubenv = grubenvRead?.content == null ? null : parseGrubEnv(grubenvRead.content);
    grub = { path, text: read.content, config, grubenvPath, grubenv, defaultEntry: resolveDefaultEntry(config, grubenv), evidence: { ...read.evidence, output: read.evidence.output.slice(0, 1500) } };
    break;
  }
  return { location, entries: listing.entries, kernels, initramfs, listingEvidence: listing.evidence, grub };
}

/** The file name a GRUB `linux` path points at, when it is in the boot directory; null for anything else. */
export function kernelFileName(location: BootLocation, grubPath: string): string | null {
  const path = grubPath.replace(/^\([^)]*\)/, '');
  const slash = path.lastIndexOf('/');
  const directory = path.slice(0, slash) || '/';
  const name = path.slice(slash + 1);
  // With /boot on the root file system GRUB names /boot/vmlinuz-*, with a separate /boot it names /vmlinuz-*.
  return directory === (location.directory === '/' ? '/' : '/boot') ? name : null;
}

/** Whether the entry's kernel file exists; null when it lives outside the boot directory (not checked). */
export function entryKernelPresent(inventory: BootInventory, entry: GrubMenuEntry): boolean | null {
  if (!entry.kernel) return false;
  const name = kernelFileName(inventory.location, entry.kernel);
  if (name === null) return null;
  return (inventory.entries ?? []).some((file) => file.name === name && file.type !== 'directory');
}

/** The default entry GRUB will boot (entry 0 when the default names nothing). */
export function effectiveDefaultEntry(inventory: BootInventory): GrubMenuEntry | null {
  if (!inventory.grub) return null;
  const resolution = inventory.grub.defaultEntry;
  return resolution.status === 'found' ? resolution.entry : findEntry(inventory.grub.config.entries, '0');
}

/** The boot-directory file a GRUB path names, with its size, or null when absent or outside the boot directory. */
export function bootFile(inventory: BootInventory, grubPath: string | null | undefined): DirectoryEntry | null {
  if (!grubPath) return null;
  const name = kernelFileName(inventory.location, grubPath);
  if (name === null) return null;
  return (inventory.entries ?? []).find((file) => file.name === name && file.type !== 'directory') ?? null;
}

/** The kernel version of an entry (`/boot/vmlinuz-6.1.0-18-amd64` → `6.1.0-18-amd64`). */
export function entryKernelVersion(entry: GrubMenuEntry): string {
  return entry.kernel?.split('/').at(-1)?.replace(/^vmlinuz-/, '') ?? '';
}

/**
 * Whether the entry can boot as far as the files go: a kernel that is not empty, and an initramfs that is not
 * empty when the entry loads one. A zero-length vmlinuz or initrd is what an interrupted package install leaves.
 */
export function entryComplete(inventory: BootInventory, entry: GrubMenuEntry): boolean {
  const kernel = bootFile(inventory, entry.kernel);
  if (!kernel || kernel.sizeBytes === 0) return false;
  return entry.initrd.every((path) => {
    const file = bootFile(inventory, path);
    return file !== null && file.sizeBytes > 0;
  });
}
