// The pieces every initramfs is made of, for the rescue image (rescue-image.ts) and the virtual lab's own images
// (lab/vm/initramfs.ts): a gzip'd newc cpio archive with busybox's applets as links, host binaries copied with
// their shared libraries (ldd), a kernel's modules resolved through modules.dep in load order, and a cache that
// rebuilds an image only when the key of its inputs changes.
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { CpioArchive } from './cpio.js';
import { runCommand } from './commands.js';
import type { UnpackedPackages } from './debian-packages.js';
import type { DebianKernel } from './kernel.js';

export interface InitramfsImage {
  /** Which image: rescue (the product's), or the lab's marker and installed-system images. */
  kind: string;
  /** The gzip'd cpio file, for `-initrd` or an HTTP/TFTP server. */
  path: string;
  sizeBytes: number;
  kernelVersion: string;
  /** Tools in the image by name (e.g. e2fsck, tune2fs, dropbear), for reports. */
  tools: string[];
  /** Host tools that were wanted but not found, so not in the image. */
  missingOptionalTools: string[];
  /** Kernel modules in load order (paths under lib/modules/<version>/). */
  modules: string[];
}

export interface BuiltImage {
  archive: CpioArchive;
  tools: string[];
  missingOptionalTools: string[];
  modules: string[];
}

export const BUSYBOX_PATH = '/bin/busybox';
export const E2FSCK_STATIC_PATH = '/sbin/e2fsck.static';

/** Modules the rescue image loads: required ones must exist as modules or be built in. */
export const RESCUE_MODULES: ReadonlyArray<{ name: string; required: boolean }> = [
  { name: 'virtio_pci', required: true },
  { name: 'virtio_net', required: true },
  { name: 'virtio_blk', required: true },
  { name: 'virtio_rng', required: false },
  // The standard (non-cloud) kernel has these as modules; the cloud kernel builds them in.
  { name: 'crc32c_generic', required: false },
  { name: 'ext4', required: false },
  // Root file systems and the storage stacks they sit on: XFS, LVM (device mapper), md RAID 1.
  { name: 'xfs', required: false },
  { name: 'dm_mod', required: false },
  { name: 'md_mod', required: false },
  { name: 'raid1', required: false },
];

const TOOL_SEARCH_DIRECTORIES = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findHostTool(name: string): string | undefined {
  for (const directory of TOOL_SEARCH_DIRECTORIES) {
    const candidate = join(directory, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function requireHostFile(path: string, debianPackage: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${debianPackage}: apt-get install -y ${debianPackage}`);
  return path;
}

export function fileFingerprint(path: string): string {
  const stats = statSync(path);
  return `${path}:${stats.size}:${Math.trunc(stats.mtimeMs)}`;
}

/** Shared libraries (and the dynamic loader) a host binary needs, as absolute paths; [] for a static binary. */
export async function sharedLibraries(binaryPath: string, libraryDirectories: readonly string[] = []): Promise<string[]> {
  const env = libraryDirectories.length > 0 ? { ...process.env, LD_LIBRARY_PATH: libraryDirectories.join(':') } : undefined;
  const { stdout, exitCode } = await runCommand('ldd', [binaryPath], { acceptedExitCodes: [0, 1], ...(env ? { env } : {}) });
  if (exitCode !== 0 || /not a dynamic executable|statically linked/.test(stdout)) return [];
  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    if (/not found/.test(line)) throw new Error(`ldd ${binaryPath}: a library is missing: ${line.trim()}`);
    const resolved = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (resolved) libraries.push(resolved);
  }
  return libraries;
}

export function addHostFile(archive: CpioArchive, hostPath: string, archivePath: string, permissions: number): void {
  archive.file(archivePath, readFileSync(realpathSync(hostPath)), permissions);
}

export async function addDynamicBinary(archive: CpioArchive, hostPath: string, archivePath: string, unpacked?: UnpackedPackages): Promise<void> {
  addHostFile(archive, hostPath, archivePath, 0o755);
  for (const library of await sharedLibraries(hostPath, unpacked?.libraryDirectories)) {
    // A library from the unpacked packages goes where the dynamic loader looks for it.
    const inside = unpacked && library.startsWith(`${unpacked.rootDirectory}/`) ? library.slice(unpacked.rootDirectory.length) : library;
    if (!archive.has(inside)) addHostFile(archive, library, inside, 0o755);
  }
}

/** busybox's applets as symlinks (bin/sh, sbin/udhcpc, usr/bin/wget, ...). */
export async function addBusybox(archive: CpioArchive): Promise<string[]> {
  requireHostFile(BUSYBOX_PATH, 'busybox-static');
  if ((await sharedLibraries(BUSYBOX_PATH)).length > 0) {
    throw new Error(`${BUSYBOX_PATH} is dynamically linked: install busybox-static, not busybox`);
  }
  addHostFile(archive, BUSYBOX_PATH, 'bin/busybox', 0o755);
  const { stdout } = await runCommand(BUSYBOX_PATH, ['--list-full']);
  const applets: string[] = [];
  for (const appletPath of stdout.split('\n').map((line) => line.trim())) {
    if (!appletPath || appletPath === 'linuxrc' || appletPath === 'bin/busybox') continue;
    archive.symlink(appletPath, '/bin/busybox');
    applets.push(basename(appletPath));
  }
  return applets;
}

export function addBaseLayout(archive: CpioArchive): void {
  for (const directory of ['proc', 'sys', 'dev', 'run', 'mnt', 'var/log', 'etc', 'lib', 'usr/lib']) archive.directory(directory);
  archive.directory('tmp', 0o1777);
  archive.directory('root', 0o700);
  archive.characterDevice('dev/console', 5, 1, 0o600);
  archive.characterDevice('dev/null', 1, 3, 0o666);
}

interface ModuleIndexEntry {
  path: string;
  dependencies: string[];
}

function moduleNameOf(modulePath: string): string {
  return basename(modulePath).replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

function readModuleIndex(kernel: DebianKernel): Map<string, ModuleIndexEntry> {
  const index = new Map<string, ModuleIndexEntry>();
  const depPath = join(kernel.modulesDirectory, 'modules.dep');
  if (!existsSync(depPath)) throw new Error(`${depPath} is missing: run depmod -b ${kernel.rootDirectory} ${kernel.version}`);
  for (const line of readFileSync(depPath, 'utf8').split('\n')) {
    const [modulePath, dependencyList] = line.split(':');
    if (!modulePath || dependencyList === undefined) continue;
    index.set(moduleNameOf(modulePath), {
      path: modulePath.trim(),
      dependencies: dependencyList.trim().split(/\s+/).filter(Boolean),
    });
  }
  return index;
}

function builtinModules(kernel: DebianKernel): Set<string> {
  const path = join(kernel.modulesDirectory, 'modules.builtin');
  if (!existsSync(path)) return new Set();
  return new Set(readFileSync(path, 'utf8').split('\n').filter(Boolean).map(moduleNameOf));
}

/** The wanted modules and their dependencies, dependencies first; built-in ones left out. */
export function resolveModules(kernel: DebianKernel, wanted: ReadonlyArray<{ name: string; required: boolean }>): string[] {
  const index = readModuleIndex(kernel);
  const builtin = builtinModules(kernel);
  const ordered: string[] = [];
  const visit = (modulePath: string, trail: string[]): void => {
    if (ordered.includes(modulePath)) return;
    if (trail.includes(modulePath)) throw new Error(`module dependency loop: ${[...trail, modulePath].join(' -> ')}`);
    const entry = index.get(moduleNameOf(modulePath));
    for (const dependency of [...(entry?.dependencies ?? [])].reverse()) visit(dependency, [...trail, modulePath]);
    ordered.push(modulePath);
  };
  for (const { name, required } of wanted) {
    const entry = index.get(name.replace(/-/g, '_'));
    if (entry) visit(entry.path, []);
    else if (required && !builtin.has(name.replace(/-/g, '_'))) {
      throw new Error(`kernel ${kernel.version} has no module ${name} and does not build it in`);
    }
  }
  for (const modulePath of ordered) {
    if (!modulePath.endsWith('.ko')) {
      throw new Error(`module ${modulePath} is compressed; busybox insmod in the rescue image loads only plain .ko files`);
    }
  }
  return ordered;
}

export function addModules(archive: CpioArchive, kernel: DebianKernel, modulePaths: string[]): void {
  const base = posix.join('lib/modules', kernel.version);
  const index = readModuleIndex(kernel);
  const depLines: string[] = [];
  for (const modulePath of modulePaths) {
    archive.file(posix.join(base, modulePath), readFileSync(join(kernel.modulesDirectory, modulePath)), 0o644);
    const dependencies = index.get(moduleNameOf(modulePath))?.dependencies ?? [];
    depLines.push(`${modulePath}:${dependencies.map((dependency) => ` ${dependency}`).join('')}`);
  }
  // A modules.dep for just these, so that busybox modprobe works by name too.
  archive.file(posix.join(base, 'modules.dep'), `${depLines.join('\n')}\n`);
  archive.file(posix.join(base, 'load-order'), `${modulePaths.join('\n')}\n`);
}


interface CachedImageManifest extends InitramfsImage {
  cacheKey: string;
}

/**
 * The image at `imagePath` if its manifest carries `key`, else `build()` gzip'd and written there (with the
 * manifest next to it) by rename, so that a reader never sees half a file.
 */
export async function buildCachedInitramfs(input: { kind: string; imagePath: string; key: string; kernelVersion: string; force?: boolean; build: () => Promise<BuiltImage> }): Promise<InitramfsImage> {
  const { imagePath, key } = input;
  const manifestPath = `${imagePath}.json`;
  if (!input.force && existsSync(imagePath) && existsSync(manifestPath)) {
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CachedImageManifest;
      if (manifest.cacheKey === key && statSync(imagePath).size === manifest.sizeBytes) {
        const { cacheKey: _unused, ...image } = manifest;
        return { ...image, path: imagePath };
      }
    } catch {
      // rebuild below
    }
  }
  const built = await input.build();
  const gzipped = built.archive.toGzip();
  mkdirSync(dirname(imagePath), { recursive: true });
  const image: InitramfsImage = {
    kind: input.kind,
    path: imagePath,
    sizeBytes: gzipped.length,
    kernelVersion: input.kernelVersion,
    tools: built.tools,
    missingOptionalTools: built.missingOptionalTools,
    modules: built.modules,
  };
  const temporarySuffix = `.${process.pid}.tmp`;
  writeFileSync(`${imagePath}${temporarySuffix}`, gzipped);
  renameSync(`${imagePath}${temporarySuffix}`, imagePath);
  writeFileSync(`${manifestPath}${temporarySuffix}`, `${JSON.stringify({ ...image, cacheKey: key }, null, 2)}\n`);
  renameSync(`${manifestPath}${temporarySuffix}`, manifestPath);
  return image;
}
