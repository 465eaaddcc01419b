// A real Debian userland for a zoo disk, so that the installed system's own tools (update-initramfs from
// initramfs-tools, grub-mkconfig from grub2-common) run in the rescue's chroot as they would on a fleet machine.
// The packages come from Debian (bookworm, as this machine) through `apt-get download` + `dpkg -x`
// (debian-packages.ts), never installed here; the lab kernel (kernel.ts) gives /lib/modules/<version>.
// The list is what those scripts run, read from their sources (initramfs-tools 0.142: mkinitramfs, hook-functions'
// copy_exec calls ldd, a bash script from libc-bin; grub 2.06: grub-mkconfig, grub-mkconfig_lib, /etc/grub.d/*
// call grub-probe, grub-mkrelpath, grub-script-check, gettext, sed, sort -V, dpkg) and the shared libraries
// their binaries link (bookworm's Depends: lines).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCommand } from './commands.js';
import { ensureUnpackedDebianPackages } from './debian-packages.js';
import { ensureLabKernel } from './kernel.js';

export const ZOO_USERLAND_PACKAGES = [
  // Shells and the basic userland the scripts call.
  'dash', 'bash', 'coreutils', 'sed', 'grep', 'findutils', 'mawk', 'debianutils', 'gzip', 'zstd', 'cpio', 'libc-bin', 'dpkg',
  // update-initramfs parses its options with getopt (util-linux); the fsck hook copies fsck, logsave and fsck.ext4.
  'util-linux', 'e2fsprogs', 'logsave',
  // initramfs-tools and what its hooks copy into the image.
  'initramfs-tools', 'initramfs-tools-core', 'klibc-utils', 'libklibc', 'kmod', 'busybox',
  // grub-mkconfig (grub2-common) and grub-probe / grub-mkrelpath / grub-script-check (grub-common).
  'grub-common', 'grub2-common', 'gettext-base',
  // Shared libraries of the binaries above.
  'libc6', 'libtinfo6', 'libselinux1', 'libpcre2-8-0', 'libacl1', 'libattr1', 'libgmp10', 'libzstd1', 'liblzma5', 'liblz4-1',
  'zlib1g', 'libkmod2', 'libssl3', 'libdevmapper1.02.1', 'libudev1', 'libcap2', 'libefiboot1', 'libefivar1', 'libfreetype6',
  'libpng16-16', 'libbrotli1', 'libbz2-1.0', 'libfuse2', 'libmd0', 'libblkid1', 'libmount1', 'libsmartcols1', 'libuuid1', 'libcrypt1',
  'libcap-ng0', 'libext2fs2', 'libcom-err2', 'libss2',
] as const;

/** The modules the installed system asks for in /etc/initramfs-tools/modules (its root's file system and disk). */
const INITRAMFS_MODULES = ['ext4', 'virtio_blk'];

export interface ZooUserland {
  /** The unpacked packages (a Debian tree: bin, sbin, lib, usr, etc). */
  treeDirectory: string;
  packages: string[];
  kernelVersion: string;
  kernelModulesDirectory: string;
  vmlinuzPath: string;
}

export async function ensureZooUserland(): Promise<ZooUserland> {
  const [unpacked, kernel] = await Promise.all([ensureUnpackedDebianPackages('zoo-installed-debian', ZOO_USERLAND_PACKAGES), ensureLabKernel()]);
  return { treeDirectory: unpacked.rootDirectory, packages: unpacked.packages, kernelVersion: kernel.version, kernelModulesDirectory: kernel.modulesDirectory, vmlinuzPath: kernel.vmlinuzPath };
}

/** The .ko files (relative to the modules directory) `names` need, with their dependencies, from modules.dep; none for a built-in one. */
function modulesWithDependencies(modulesDirectory: string, names: readonly string[]): string[] {
  const dependencies = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDirectory, 'modules.dep'), 'utf8').split('\n')) {
    const [module, rest] = line.split(':');
    if (module && rest !== undefined) dependencies.set(module, rest.trim().split(/\s+/).filter(Boolean));
  }
  const builtIn = readFileSync(join(modulesDirectory, 'modules.builtin'), 'utf8').split('\n');
  const wanted = new Set<string>();
  for (const name of names) {
    if (builtIn.some((path) => path.endsWith(`/${name}.ko`))) continue;
    const file = [...dependencies.keys()].find((path) => path.endsWith(`/${name}.ko`) || path.endsWith(`/${name}.ko.xz`));
    if (!file) throw new Error(`the lab kernel has no module ${name} (neither in modules.dep nor in modules.builtin)`);
    for (const path of [file, ...(dependencies.get(file) ?? [])]) wanted.add(path);
  }
  return [...wanted];
}

/**
 * Copies the userland into `root` (a tree about to be given to mke2fs -d), with the lab kernel's module index and
 * the modules the installed system's initramfs asks for under /lib/modules/<version>, and the configuration a
 * Debian install has: /bin/sh, /etc/default/grub (grub-pc's postinst copies it from /usr/share/grub/default),
 * MODULES=list so the initramfs holds what /etc/initramfs-tools/modules names (MODULES=most would pack ~90 MB of
 * modules on a TCG VM's one CPU).
 */
export async function installZooUserland(root: string, userland: ZooUserland): Promise<void> {
  await runCommand('cp', ['-a', `${userland.treeDirectory}/.`, `${root}/`]);
  const modules = join(root, 'lib', 'modules', userland.kernelVersion);
  mkdirSync(modules, { recursive: true });
  await runCommand('sh', ['-c', 'cp "$1"/modules.* "$2"/', 'sh', userland.kernelModulesDirectory, modules]);
  for (const relative of modulesWithDependencies(userland.kernelModulesDirectory, INITRAMFS_MODULES)) {
    mkdirSync(dirname(join(modules, relative)), { recursive: true });
    copyFileSync(join(userland.kernelModulesDirectory, relative), join(modules, relative));
  }
  // The kernel package's /boot/config-<version>: mkinitramfs reads it to choose a compression the kernel can unpack.
  const config = join(dirname(userland.vmlinuzPath), `config-${userland.kernelVersion}`);
  if (!existsSync(config)) throw new Error(`the lab kernel package has no ${config}`);
  mkdirSync(join(root, 'boot'), { recursive: true });
  copyFileSync(config, join(root, 'boot', `config-${userland.kernelVersion}`));
  if (!existsSync(join(root, 'bin', 'sh'))) await runCommand('ln', ['-s', 'dash', join(root, 'bin', 'sh')]);
  const defaults = join(root, 'usr', 'share', 'grub', 'default', 'grub');
  if (existsSync(defaults)) {
    mkdirSync(join(root, 'etc', 'default'), { recursive: true });
    copyFileSync(defaults, join(root, 'etc', 'default', 'grub'));
  }
  mkdirSync(join(root, 'etc', 'initramfs-tools', 'conf.d'), { recursive: true });
  writeFileSync(join(root, 'etc', 'initramfs-tools', 'conf.d', 'modules-list'), 'MODULES=list\n');
  writeFileSync(join(root, 'etc', 'initramfs-tools', 'modules'), `${INITRAMFS_MODULES.join('\n')}\n`);
  for (const directory of ['var/lib/initramfs-tools', 'var/tmp', 'tmp', 'root']) mkdirSync(join(root, directory), { recursive: true });
  await runCommand('chmod', ['1777', join(root, 'tmp'), join(root, 'var', 'tmp')]);
}
