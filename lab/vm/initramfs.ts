// The lab's boot images: gzip'd newc cpio initramfs images built from Debian's busybox-static, dropbear-bin and
// e2fsck-static (plus dynamically linked tools copied with their libraries: e2fsprogs, util-linux and xfsprogs
// from the host, lvm2 and mdadm unpacked from their packages by debian-packages.ts), the lab kernel's virtio,
// XFS, device-mapper and md RAID 1 modules, and the init scripts in lab/images/. Two kinds:
//   marker: prints `RESCUED-LAB-MARKER <rescued.marker>` on the console and powers off.
//   rescue: the rescue environment of lab/images/RESCUE-CONTRACT.md (DHCP, dropbear, phone-home).
//   installed: a stand-in for an installed system's own initramfs, to boot a repaired disk (lab/images/installed/init).
// Built once per kernel and inputs; the cache key covers scripts, host tools and the kernel.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { CpioArchive } from './cpio.js';
import { runCommand } from './commands.js';
import { ensureUnpackedDebianPackages, type UnpackedPackages } from './debian-packages.js';
import { ensureLabKernel, type LabKernel } from './kernel.js';
import { LAB_IMAGES_SOURCE_DIRECTORY, labCacheDirectory } from './paths.js';

export type InitramfsKind = 'marker' | 'rescue' | 'installed';

export interface InitramfsImage {
  kind: InitramfsKind;
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

const BUSYBOX_PATH = '/bin/busybox';
const E2FSCK_STATIC_PATH = '/sbin/e2fsck.static';

/** Modules the rescue image loads: required ones must exist as modules or be built in. */
const RESCUE_MODULES: ReadonlyArray<{ name: string; required: boolean }> = [
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

/** Dynamically linked tools copied in with their libraries (ldd). Optional ones are skipped when absent. */
const RESCUE_DYNAMIC_TOOLS: ReadonlyArray<{ name: string; required: boolean; aliases?: string[] }> = [
  { name: 'dropbear', required: true },
  { name: 'dropbearkey', required: true },
  { name: 'tune2fs', required: false, aliases: ['e2label'] },
  { name: 'dumpe2fs', required: false },
  { name: 'debugfs', required: false },
  { name: 'resize2fs', required: false },
  { name: 'blkid', required: false },
  { name: 'sfdisk', required: false },
  { name: 'lsblk', required: false },
  // xfsprogs (installed on the host by scripts/setup/vm-lab.sh: mkfs.xfs builds the lab's XFS disks there too).
  { name: 'xfs_repair', required: false },
  { name: 'xfs_db', required: false },
  // xfs_io -x -c shutdown: how the zoo leaves an XFS log dirty inside the VM, as a crash would (xfstests' godown).
  { name: 'xfs_io', required: false },
];

/**
 * Tools copied from Debian packages unpacked into the lab cache (never installed on this machine: lvm2 and mdadm
 * would bring udev and monitoring daemons with them). The aliases are the names LVM answers to as symlinks.
 */
const RESCUE_PACKAGED_TOOLS: ReadonlyArray<{ name: string; path: string; aliases?: string[] }> = [
  {
    name: 'lvm', path: 'sbin/lvm',
    aliases: ['pvs', 'vgs', 'lvs', 'pvscan', 'vgscan', 'lvscan', 'vgchange', 'lvchange', 'vgck', 'pvck', 'vgmknodes', 'vgreduce', 'lvconvert', 'pvcreate', 'vgcreate', 'lvcreate', 'vgcfgrestore', 'vgcfgbackup', 'pvdisplay', 'vgdisplay', 'lvdisplay'],
  },
  { name: 'mdadm', path: 'sbin/mdadm' },
];
const RESCUE_PACKAGES = ['lvm2', 'mdadm', 'libdevmapper-event1.02.1'];

/** LVM without udev (the rescue image has none): LVM makes the /dev/mapper nodes itself. lvm.conf(5). */
const RESCUE_LVM_CONF = [
  '# rescued lab rescue image: no udev, no lvmetad, no monitoring daemon.',
  'devices {',
  '  obtain_device_list_from_udev = 0',
  '  external_device_info_source = "none"',
  '}',
  'activation {',
  '  udev_sync = 0',
  '  udev_rules = 0',
  '  monitoring = 0',
  '}',
  'global {',
  '  use_lvmpolld = 0',
  '}',
  '',
].join('\n');

const TOOL_SEARCH_DIRECTORIES = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findHostTool(name: string): string | undefined {
  for (const directory of TOOL_SEARCH_DIRECTORIES) {
    const candidate = join(directory, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function requireHostFile(path: string, debianPackage: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${debianPackage} (scripts/setup/vm-lab.sh)`);
  return path;
}

function fileFingerprint(path: string): string {
  const stats = statSync(path);
  return `${path}:${stats.size}:${Math.trunc(stats.mtimeMs)}`;
}

function imageSource(...parts: string[]): string {
  return readFileSync(join(LAB_IMAGES_SOURCE_DIRECTORY, ...parts), 'utf8');
}

/** Shared libraries (and the dynamic loader) a host binary needs, as absolute paths; [] for a static binary. */
async function sharedLibraries(binaryPath: string, libraryDirectories: readonly string[] = []): Promise<string[]> {
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

function addHostFile(archive: CpioArchive, hostPath: string, archivePath: string, permissions: number): void {
  archive.file(archivePath, readFileSync(realpathSync(hostPath)), permissions);
}

async function addDynamicBinary(archive: CpioArchive, hostPath: string, archivePath: string, unpacked?: UnpackedPackages): Promise<void> {
  addHostFile(archive, hostPath, archivePath, 0o755);
  for (const library of await sharedLibraries(hostPath, unpacked?.libraryDirectories)) {
    // A library from the unpacked packages goes where the dynamic loader looks for it.
    const inside = unpacked && library.startsWith(`${unpacked.rootDirectory}/`) ? library.slice(unpacked.rootDirectory.length) : library;
    if (!archive.has(inside)) addHostFile(archive, library, inside, 0o755);
  }
}

/** busybox's applets as symlinks (bin/sh, sbin/udhcpc, usr/bin/wget, ...). */
async function addBusybox(archive: CpioArchive): Promise<string[]> {
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

function addBaseLayout(archive: CpioArchive): void {
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

function readModuleIndex(kernel: LabKernel): Map<string, ModuleIndexEntry> {
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

function builtinModules(kernel: LabKernel): Set<string> {
  const path = join(kernel.modulesDirectory, 'modules.builtin');
  if (!existsSync(path)) return new Set();
  return new Set(readFileSync(path, 'utf8').split('\n').filter(Boolean).map(moduleNameOf));
}

/** The wanted modules and their dependencies, dependencies first; built-in ones left out. */
function resolveModules(kernel: LabKernel, wanted: ReadonlyArray<{ name: string; required: boolean }>): string[] {
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

function addModules(archive: CpioArchive, kernel: LabKernel, modulePaths: string[]): void {
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

interface BuiltImage {
  archive: CpioArchive;
  tools: string[];
  missingOptionalTools: string[];
  modules: string[];
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

async function buildRescueArchive(kernel: LabKernel, unpacked: UnpackedPackages): Promise<BuiltImage> {
  const archive = new CpioArchive();
  addBaseLayout(archive);
  const applets = await addBusybox(archive);
  const tools = ['busybox', ...applets];
  const missingOptionalTools: string[] = [];

  addHostFile(archive, requireHostFile(E2FSCK_STATIC_PATH, 'e2fsck-static'), 'sbin/e2fsck', 0o755);
  for (const alias of ['fsck.ext2', 'fsck.ext3', 'fsck.ext4']) archive.symlink(`sbin/${alias}`, 'e2fsck');
  tools.push('e2fsck', 'fsck.ext2', 'fsck.ext3', 'fsck.ext4');

  for (const tool of RESCUE_DYNAMIC_TOOLS) {
    const hostPath = findHostTool(tool.name);
    if (!hostPath) {
      if (tool.required) throw new Error(`${tool.name} is missing on this host: run scripts/setup/vm-lab.sh`);
      missingOptionalTools.push(tool.name);
      continue;
    }
    const directory = hostPath.includes('/sbin/') ? 'usr/sbin' : 'usr/bin';
    await addDynamicBinary(archive, hostPath, `${directory}/${tool.name}`);
    tools.push(tool.name);
    for (const alias of tool.aliases ?? []) {
      archive.symlink(`${directory}/${alias}`, tool.name);
      tools.push(alias);
    }
  }

  for (const tool of RESCUE_PACKAGED_TOOLS) {
    const unpackedPath = join(unpacked.rootDirectory, tool.path);
    if (!existsSync(unpackedPath)) {
      missingOptionalTools.push(tool.name);
      continue;
    }
    await addDynamicBinary(archive, unpackedPath, `usr/sbin/${tool.name}`, unpacked);
    tools.push(tool.name);
    for (const alias of tool.aliases ?? []) {
      archive.symlink(`usr/sbin/${alias}`, tool.name);
      tools.push(alias);
    }
  }
  archive.file('etc/lvm/lvm.conf', RESCUE_LVM_CONF);
  archive.directory('etc/mdadm');

  const modules = resolveModules(kernel, RESCUE_MODULES);
  addModules(archive, kernel, modules);

  archive.file('init', imageSource('rescue', 'init'), 0o755);
  archive.file('etc/inittab', imageSource('rescue', 'inittab'));
  archive.file('etc/rescue/start', imageSource('rescue', 'start'), 0o755);
  archive.file('etc/rescue/udhcpc.script', imageSource('rescue', 'udhcpc.script'), 0o755);
  archive.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  archive.file('etc/group', 'root:x:0:\ntty:x:5:\n');
  archive.file('etc/shells', '/bin/sh\n/bin/ash\n');
  archive.file('etc/hostname', 'rescue\n');
  archive.file('etc/resolv.conf', '');
  archive.file('etc/fstab', '');
  archive.symlink('etc/mtab', '/proc/mounts');
  archive.directory('etc/dropbear', 0o700);
  archive.file(
    'etc/rescue/manifest.json',
    `${JSON.stringify({ image: 'rescued-lab-rescue', kernelVersion: kernel.version, tools: [...new Set(tools)].sort(), missingOptionalTools, modules, packages: unpacked.packages }, null, 2)}\n`,
  );
  return { archive, tools: [...new Set(tools)].sort(), missingOptionalTools, modules };
}

function cacheKey(kind: InitramfsKind, kernel: LabKernel, unpacked: UnpackedPackages | null): string {
  const sources =
    kind === 'marker' ? [imageSource('marker', 'init')]
      : kind === 'installed' ? [imageSource('installed', 'init')]
        : ['init', 'inittab', 'start', 'udhcpc.script'].map((name) => imageSource('rescue', name));
  const hostFiles = [BUSYBOX_PATH];
  if (kind === 'installed') hostFiles.push(E2FSCK_STATIC_PATH);
  if (kind === 'rescue') {
    hostFiles.push(E2FSCK_STATIC_PATH);
    for (const tool of RESCUE_DYNAMIC_TOOLS) {
      const hostPath = findHostTool(tool.name);
      if (hostPath) hostFiles.push(hostPath);
    }
  }
  const material = JSON.stringify({
    IMAGE_FORMAT_VERSION,
    kind,
    kernel: [kernel.packageName, kernel.packageVersion, kernel.version],
    modules: kind === 'marker' ? [] : RESCUE_MODULES,
    packages: unpacked?.packages ?? [],
    lvmConf: kind === 'rescue' ? RESCUE_LVM_CONF : '',
    sources,
    hostFiles: hostFiles.filter((path) => existsSync(path)).map(fileFingerprint),
  });
  return createHash('sha256').update(material).digest('hex');
}

interface CachedImageManifest extends InitramfsImage {
  cacheKey: string;
}

async function buildInitramfs(kind: InitramfsKind, options: BuildInitramfsOptions): Promise<InitramfsImage> {
  const kernel = options.kernel ?? (await ensureLabKernel({ cacheDirectory: options.cacheDirectory }));
  const directory = join(options.cacheDirectory ?? labCacheDirectory(), 'initramfs');
  const imagePath = join(directory, `${kind}-${kernel.version}.cpio.gz`);
  const manifestPath = `${imagePath}.json`;
  const unpacked = kind === 'rescue' ? await ensureUnpackedDebianPackages('rescue-storage', RESCUE_PACKAGES, { cacheDirectory: options.cacheDirectory }) : null;
  const key = cacheKey(kind, kernel, unpacked);
  if (!options.force && existsSync(imagePath) && existsSync(manifestPath)) {
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

  const built = kind === 'marker' ? await buildMarkerArchive()
    : kind === 'installed' ? await buildInstalledArchive(kernel)
      : await buildRescueArchive(kernel, unpacked!);
  const gzipped = built.archive.toGzip();
  mkdirSync(dirname(imagePath), { recursive: true });
  const image: InitramfsImage = {
    kind,
    path: imagePath,
    sizeBytes: gzipped.length,
    kernelVersion: kernel.version,
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

/** The marker image (cached). */
export function buildMarkerInitramfs(options: BuildInitramfsOptions = {}): Promise<InitramfsImage> {
  return buildInitramfs('marker', options);
}

/** The rescue image (cached). */
export function buildRescueInitramfs(options: BuildInitramfsOptions = {}): Promise<InitramfsImage> {
  return buildInitramfs('rescue', options);
}

/** The installed-system stand-in (cached). */
export function buildInstalledInitramfs(options: BuildInitramfsOptions = {}): Promise<InitramfsImage> {
  return buildInitramfs('installed', options);
}

/** Kernel, marker, rescue and installed-system images, each built once and cached under .cache/lab/. */
export async function ensureLabBootImages(options: Omit<BuildInitramfsOptions, 'kernel'> = {}): Promise<LabBootImages> {
  const kernel = await ensureLabKernel({ cacheDirectory: options.cacheDirectory });
  const marker = await buildMarkerInitramfs({ ...options, kernel });
  const rescue = await buildRescueInitramfs({ ...options, kernel });
  const installed = await buildInstalledInitramfs({ ...options, kernel });
  return { kernel, marker, rescue, installed };
}
