// The rescue image's initramfs (lab/images/RESCUE-CONTRACT.md): busybox-static, dropbear, e2fsck-static (also as
// fsck.ext2/3/4) and the e2fsprogs, util-linux and xfsprogs tools copied from the host with their libraries; lvm2
// and mdadm, and as extras smartmontools and GRUB for BIOS and UEFI, unpacked from Debian's packages into the build
// cache (never installed on the host); the kernel's virtio, ext4, XFS, device-mapper and md RAID 1 modules; and
// the init scripts in images/rescue/. `rescuectl image build` builds it with every extra; the virtual lab builds it
// without extras (smaller, so its many boots are quicker). Cached per kernel, contents and inputs.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CpioArchive } from './cpio.js';
import { ensureUnpackedDebianPackages, type UnpackedPackages } from './debian-packages.js';
import { ensureDebianKernel, type DebianKernel } from './kernel.js';
import {
  BUSYBOX_PATH, E2FSCK_STATIC_PATH, RESCUE_MODULES, addBaseLayout, addBusybox, addDynamicBinary, addHostFile, addModules,
  buildCachedInitramfs, fileFingerprint, findHostTool, requireHostFile, resolveModules, type BuiltImage, type InitramfsImage,
} from './initramfs.js';
import { RESCUE_INIT_SOURCE_DIRECTORY, buildCacheDirectory } from './paths.js';

/** What the image may carry beyond the base tools: each comes from Debian packages unpacked into the build cache. */
export const RESCUE_IMAGE_EXTRAS = ['smartmontools', 'grub-bios', 'grub-efi'] as const;
export type RescueImageExtra = (typeof RESCUE_IMAGE_EXTRAS)[number];

export interface BuildRescueInitramfsOptions {
  kernel?: DebianKernel;
  cacheDirectory?: string;
  /** Rebuild even when the cached image matches. */
  force?: boolean;
  /** Default none (the lab's image); `rescuectl image build` asks for all of them. */
  extras?: readonly RescueImageExtra[];
  /** The name written into /etc/rescue/manifest.json. */
  imageName?: string;
}

/** Bump when the layout of the image changes in a way the cache key cannot see. */
const IMAGE_FORMAT_VERSION = 6;

/** Dynamically linked host tools copied in with their libraries. Optional ones are skipped when absent. */
export const RESCUE_HOST_TOOLS: ReadonlyArray<{ name: string; required: boolean; debianPackage: string; aliases?: string[] }> = [
  { name: 'dropbear', required: true, debianPackage: 'dropbear-bin' },
  { name: 'dropbearkey', required: true, debianPackage: 'dropbear-bin' },
  { name: 'tune2fs', required: false, debianPackage: 'e2fsprogs', aliases: ['e2label'] },
  { name: 'dumpe2fs', required: false, debianPackage: 'e2fsprogs' },
  { name: 'debugfs', required: false, debianPackage: 'e2fsprogs' },
  { name: 'resize2fs', required: false, debianPackage: 'e2fsprogs' },
  { name: 'blkid', required: false, debianPackage: 'util-linux' },
  { name: 'sfdisk', required: false, debianPackage: 'fdisk' },
  { name: 'lsblk', required: false, debianPackage: 'util-linux' },
  { name: 'xfs_repair', required: false, debianPackage: 'xfsprogs' },
  { name: 'xfs_db', required: false, debianPackage: 'xfsprogs' },
  // xfs_io -x -c shutdown: how the lab's zoo leaves an XFS log dirty inside the VM, as a crash would (xfstests' godown).
  { name: 'xfs_io', required: false, debianPackage: 'xfsprogs' },
];

interface PackagedTool {
  name: string;
  /** Path inside the unpacked packages. */
  path: string;
  aliases?: string[];
}

interface PackageSet {
  /** The cache's name for the unpacked tree. */
  set: string;
  packages: string[];
  tools: PackagedTool[];
  /** Folders copied as they are (GRUB's platform modules), minus debug files. */
  trees: string[];
}

/**
 * lvm2 and mdadm would bring udev and monitoring daemons onto the host; smartmontools its daemon; GRUB's packages
 * would make the host's boot loader ours to maintain. All are unpacked, never installed.
 */
const STORAGE_PACKAGES: PackageSet = {
  set: 'rescue-storage',
  packages: ['lvm2', 'mdadm', 'libdevmapper-event1.02.1'],
  tools: [
    {
      name: 'lvm', path: 'sbin/lvm',
      aliases: ['pvs', 'vgs', 'lvs', 'pvscan', 'vgscan', 'lvscan', 'vgchange', 'lvchange', 'vgck', 'pvck', 'vgmknodes', 'vgreduce', 'lvconvert', 'pvcreate', 'vgcreate', 'lvcreate', 'vgcfgrestore', 'vgcfgbackup', 'pvdisplay', 'vgdisplay', 'lvdisplay'],
    },
    { name: 'mdadm', path: 'sbin/mdadm' },
  ],
  trees: [],
};

const GRUB_TOOLS: PackagedTool[] = [
  { name: 'grub-install', path: 'usr/sbin/grub-install' },
  { name: 'grub-probe', path: 'usr/sbin/grub-probe' },
  { name: 'grub-mkimage', path: 'usr/bin/grub-mkimage' },
  { name: 'grub-editenv', path: 'usr/bin/grub-editenv' },
  { name: 'grub-mkrelpath', path: 'usr/bin/grub-mkrelpath' },
];
const GRUB_PACKAGES = ['grub-common', 'grub2-common', 'grub-pc-bin', 'grub-efi-amd64-bin', 'libefiboot1', 'libefivar1'];

/** The Debian packages and files each extra adds. */
export function extraPackageSet(extra: RescueImageExtra): PackageSet {
  switch (extra) {
    case 'smartmontools':
      return { set: 'rescue-smart', packages: ['smartmontools'], tools: [{ name: 'smartctl', path: 'usr/sbin/smartctl' }], trees: [] };
    case 'grub-bios':
      return { set: 'rescue-grub', packages: GRUB_PACKAGES, tools: [...GRUB_TOOLS, { name: 'grub-bios-setup', path: 'usr/lib/grub/i386-pc/grub-bios-setup' }], trees: ['usr/lib/grub/i386-pc'] };
    case 'grub-efi':
      return { set: 'rescue-grub', packages: GRUB_PACKAGES, tools: GRUB_TOOLS, trees: ['usr/lib/grub/x86_64-efi'] };
  }
}

/** Every Debian package the image is made from beyond the host's tools, for the chosen extras. */
export function rescueImagePackages(extras: readonly RescueImageExtra[]): string[] {
  return [...new Set([...STORAGE_PACKAGES.packages, ...extras.flatMap((extra) => extraPackageSet(extra).packages)])].sort();
}

/** LVM without udev (the rescue image has none): LVM makes the /dev/mapper nodes itself. lvm.conf(5). */
const RESCUE_LVM_CONF = [
  '# rescued rescue image: no udev, no lvmetad, no monitoring daemon.',
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

const INIT_SOURCES = ['init', 'inittab', 'start', 'udhcpc.script'] as const;

function initSource(name: (typeof INIT_SOURCES)[number]): string {
  return readFileSync(join(RESCUE_INIT_SOURCE_DIRECTORY, name), 'utf8');
}

/** GRUB's module folders hold unstripped `.module` copies and prebuilt monolithic images the rescue does not need. */
function isNeededTreeFile(relativePath: string): boolean {
  return !relativePath.endsWith('.module') && !relativePath.split('/').includes('monolithic') && !/gdb_grub|gmodule\.pl/.test(relativePath);
}

function addTree(archive: CpioArchive, root: string, tree: string): void {
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      const inside = relative(root, path);
      if (!isNeededTreeFile(inside)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) addHostFile(archive, path, inside, statSync(path).mode & 0o777);
    }
  };
  const start = join(root, tree);
  if (!existsSync(start)) throw new Error(`the unpacked packages have no ${tree}`);
  walk(start);
}

async function addPackagedTools(archive: CpioArchive, set: PackageSet, unpacked: UnpackedPackages, tools: string[], missing: string[]): Promise<void> {
  for (const tool of set.tools) {
    const unpackedPath = join(unpacked.rootDirectory, tool.path);
    if (!existsSync(unpackedPath)) {
      missing.push(tool.name);
      continue;
    }
    const inside = tool.path.startsWith('usr/lib/') ? tool.path : `usr/sbin/${tool.name}`;
    if (archive.has(inside)) continue;
    await addDynamicBinary(archive, unpackedPath, inside, unpacked);
    tools.push(tool.name);
    for (const alias of tool.aliases ?? []) {
      archive.symlink(`usr/sbin/${alias}`, tool.name);
      tools.push(alias);
    }
  }
  for (const tree of set.trees) addTree(archive, unpacked.rootDirectory, tree);
}

async function buildRescueArchive(kernel: DebianKernel, sets: ReadonlyArray<{ set: PackageSet; unpacked: UnpackedPackages }>, imageName: string, extras: readonly RescueImageExtra[]): Promise<BuiltImage> {
  const archive = new CpioArchive();
  addBaseLayout(archive);
  const applets = await addBusybox(archive);
  const tools = ['busybox', ...applets];
  const missingOptionalTools: string[] = [];

  addHostFile(archive, requireHostFile(E2FSCK_STATIC_PATH, 'e2fsck-static'), 'sbin/e2fsck', 0o755);
  for (const alias of ['fsck.ext2', 'fsck.ext3', 'fsck.ext4']) archive.symlink(`sbin/${alias}`, 'e2fsck');
  tools.push('e2fsck', 'fsck.ext2', 'fsck.ext3', 'fsck.ext4');

  for (const tool of RESCUE_HOST_TOOLS) {
    const hostPath = findHostTool(tool.name);
    if (!hostPath) {
      if (tool.required) throw new Error(`${tool.name} is missing on this host: apt-get install -y ${tool.debianPackage}`);
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

  for (const { set, unpacked } of sets) await addPackagedTools(archive, set, unpacked, tools, missingOptionalTools);
  archive.file('etc/lvm/lvm.conf', RESCUE_LVM_CONF);
  archive.directory('etc/mdadm');

  const modules = resolveModules(kernel, RESCUE_MODULES);
  addModules(archive, kernel, modules);

  archive.file('init', initSource('init'), 0o755);
  archive.file('etc/inittab', initSource('inittab'));
  archive.file('etc/rescue/start', initSource('start'), 0o755);
  archive.file('etc/rescue/udhcpc.script', initSource('udhcpc.script'), 0o755);
  archive.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  archive.file('etc/group', 'root:x:0:\ntty:x:5:\n');
  archive.file('etc/shells', '/bin/sh\n/bin/ash\n');
  archive.file('etc/hostname', 'rescue\n');
  archive.file('etc/resolv.conf', '');
  archive.file('etc/fstab', '');
  archive.symlink('etc/mtab', '/proc/mounts');
  archive.directory('etc/dropbear', 0o700);
  const sortedTools = [...new Set(tools)].sort();
  const packages = [...new Set(sets.flatMap(({ unpacked }) => unpacked.packages))].sort();
  archive.file(
    'etc/rescue/manifest.json',
    `${JSON.stringify({ image: imageName, kernelVersion: kernel.version, kernelPackage: `${kernel.packageName} ${kernel.packageVersion}`, extras, tools: sortedTools, missingOptionalTools, modules, packages }, null, 2)}\n`,
  );
  return { archive, tools: sortedTools, missingOptionalTools, modules };
}

function cacheKey(kernel: DebianKernel, sets: ReadonlyArray<{ set: PackageSet; unpacked: UnpackedPackages }>, imageName: string): string {
  const hostFiles = [BUSYBOX_PATH, E2FSCK_STATIC_PATH];
  for (const tool of RESCUE_HOST_TOOLS) {
    const hostPath = findHostTool(tool.name);
    if (hostPath) hostFiles.push(hostPath);
  }
  const material = JSON.stringify({
    IMAGE_FORMAT_VERSION,
    imageName,
    kernel: [kernel.packageName, kernel.packageVersion, kernel.version],
    modules: RESCUE_MODULES,
    sets: sets.map(({ set, unpacked }) => ({ set, packages: unpacked.packages })),
    lvmConf: RESCUE_LVM_CONF,
    sources: INIT_SOURCES.map(initSource),
    hostFiles: hostFiles.filter((path) => existsSync(path)).map(fileFingerprint),
  });
  return createHash('sha256').update(material).digest('hex');
}

/** The package sets an image with these extras needs, each once (GRUB's BIOS and UEFI parts share one set). */
function packageSetsFor(extras: readonly RescueImageExtra[]): PackageSet[] {
  const sets: PackageSet[] = [STORAGE_PACKAGES];
  for (const extra of RESCUE_IMAGE_EXTRAS.filter((name) => extras.includes(name))) {
    const wanted = extraPackageSet(extra);
    const existing = sets.find((set) => set.set === wanted.set);
    if (existing) {
      existing.tools = [...existing.tools, ...wanted.tools.filter((tool) => !existing.tools.some((other) => other.name === tool.name))];
      existing.trees = [...existing.trees, ...wanted.trees];
    } else sets.push({ ...wanted, tools: [...wanted.tools], trees: [...wanted.trees] });
  }
  return sets;
}

/** The rescue image (cached under the build cache's initramfs/ folder). */
export async function buildRescueInitramfs(options: BuildRescueInitramfsOptions = {}): Promise<InitramfsImage> {
  const kernel = options.kernel ?? (await ensureDebianKernel({ cacheDirectory: options.cacheDirectory }));
  const extras = RESCUE_IMAGE_EXTRAS.filter((name) => (options.extras ?? []).includes(name));
  const imageName = options.imageName ?? 'rescued-lab-rescue';
  const sets: Array<{ set: PackageSet; unpacked: UnpackedPackages }> = [];
  for (const set of packageSetsFor(extras)) {
    sets.push({ set, unpacked: await ensureUnpackedDebianPackages(set.set, set.packages, { cacheDirectory: options.cacheDirectory }) });
  }
  const suffix = extras.length > 0 ? `-${extras.join('+')}` : '';
  const imagePath = join(options.cacheDirectory ?? buildCacheDirectory(), 'initramfs', `rescue-${kernel.version}${suffix}.cpio.gz`);
  return buildCachedInitramfs({
    kind: 'rescue',
    imagePath,
    key: cacheKey(kernel, sets, imageName),
    kernelVersion: kernel.version,
    ...(options.force !== undefined ? { force: options.force } : {}),
    build: () => buildRescueArchive(kernel, sets, imageName, extras),
  });
}
