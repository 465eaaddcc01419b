// The rescue image's Linux kernel, taken from Debian's packages without installing it: `apt-get download` of the
// versioned package that a meta package (linux-image-cloud-amd64, linux-image-amd64) points at, unpacked with
// `dpkg -x` into the cache, and `depmod` run on the unpacked modules (the .deb ships no modules.dep). A second
// call reuses the cache. The virtual lab boots the same kernels (lab/vm/kernel.ts re-exports this module).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, CommandFailedError } from './commands.js';
import { buildCacheDirectory } from './paths.js';

/** The Debian package that always depends on the current cloud kernel. */
export const DEFAULT_KERNEL_META_PACKAGE = 'linux-image-cloud-amd64';

/**
 * Debian's kernel flavours a rescue image is built with: `cloud` (virtio and the common disk drivers built in or
 * as modules, LZ4: boots fast, fits virtual machines and most servers) and `standard` (every driver as a module).
 */
export const KERNEL_FLAVOURS = ['cloud', 'standard'] as const;
export type KernelFlavour = (typeof KERNEL_FLAVOURS)[number];

/** Machine architectures (as the inventory names them) the image can be built for, and their Debian names. */
export const IMAGE_ARCHITECTURES = { x86_64: 'amd64' } as const;
export type ImageArchitecture = keyof typeof IMAGE_ARCHITECTURES;

/** The meta package that always depends on the current kernel of a flavour (linux-image-cloud-amd64, linux-image-amd64). */
export function kernelMetaPackage(flavour: KernelFlavour, arch: ImageArchitecture): string {
  const debianArch = IMAGE_ARCHITECTURES[arch];
  return flavour === 'cloud' ? `linux-image-cloud-${debianArch}` : `linux-image-${debianArch}`;
}

export interface DebianKernel {
  /** Kernel release, as `uname -r` prints it in the guest (e.g. 6.1.0-56-cloud-amd64). */
  version: string;
  /** The Debian package it came from, with its version (e.g. linux-image-6.1.0-56-cloud-amd64 6.1.192-2). */
  packageName: string;
  packageVersion: string;
  vmlinuzPath: string;
  /** `<root>/lib/modules/<version>`, with modules.dep. */
  modulesDirectory: string;
  /** Where the package was unpacked. */
  rootDirectory: string;
}

export interface EnsureDebianKernelOptions {
  /** Default: linux-image-cloud-amd64 (or RESCUED_LAB_KERNEL_PACKAGE). */
  metaPackage?: string;
  cacheDirectory?: string;
}

const MANIFEST_NAME = 'kernel.json';

function kernelCacheDirectory(options: EnsureDebianKernelOptions): string {
  return join(options.cacheDirectory ?? buildCacheDirectory(), 'kernel');
}

function readCachedKernel(directory: string, metaPackage: string): DebianKernel | undefined {
  const manifestPath = join(directory, `${metaPackage}.${MANIFEST_NAME}`);
  if (!existsSync(manifestPath)) return undefined;
  try {
    const kernel = JSON.parse(readFileSync(manifestPath, 'utf8')) as DebianKernel;
    const complete =
      typeof kernel.version === 'string' &&
      existsSync(kernel.vmlinuzPath) &&
      existsSync(join(kernel.modulesDirectory, 'modules.dep'));
    return complete ? kernel : undefined;
  } catch {
    return undefined;
  }
}

async function aptDownload(packageName: string, directory: string): Promise<string> {
  try {
    await runCommand('apt-get', ['download', '-q', packageName], { cwd: directory, timeoutMs: 600_000 });
  } catch (error) {
    const text = error instanceof CommandFailedError ? error.message : String(error);
    if (/Unable to locate package|Can't select candidate|has no installation candidate/i.test(text)) {
      throw new Error(
        `apt-get download ${packageName}: the package index does not know it; run \`apt-get update\` once ` +
          `(scripts/setup/vm-lab.sh does it). ${text}`,
        { cause: error },
      );
    }
    throw error;
  }
  const downloaded = readdirSync(directory).filter((name) => name.startsWith(`${packageName}_`) && name.endsWith('.deb'));
  const debFile = downloaded.sort().at(-1);
  if (!debFile) throw new Error(`apt-get download ${packageName} succeeded but left no ${packageName}_*.deb in ${directory}`);
  return join(directory, debFile);
}

async function debField(debPath: string, field: string): Promise<string> {
  const { stdout } = await runCommand('dpkg-deb', ['-f', debPath, field]);
  return stdout.trim();
}

/** The versioned kernel package a meta package depends on (linux-image-cloud-amd64 → linux-image-6.1.0-56-cloud-amd64). */
function versionedKernelPackage(metaPackage: string, depends: string): string {
  const names = depends.split(/[,|]/).map((item) => item.trim().split(/\s/)[0] ?? '');
  const kernelPackage = names.find((name) => /^linux-image-\d/.test(name));
  if (!kernelPackage) throw new Error(`${metaPackage} depends on no versioned linux-image-* package (Depends: ${depends})`);
  return kernelPackage;
}

/**
 * Downloads, unpacks and indexes a kernel once; later calls return the cached one without running apt.
 */
export async function ensureDebianKernel(options: EnsureDebianKernelOptions = {}): Promise<DebianKernel> {
  const metaPackage = options.metaPackage ?? process.env.RESCUED_LAB_KERNEL_PACKAGE ?? DEFAULT_KERNEL_META_PACKAGE;
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(metaPackage)) throw new Error(`not a Debian package name: ${JSON.stringify(metaPackage)}`);
  const directory = kernelCacheDirectory(options);
  const cached = readCachedKernel(directory, metaPackage);
  if (cached) return cached;

  mkdirSync(directory, { recursive: true });
  const work = mkdtempSync(join(directory, 'build-'));
  try {
    // The meta package may itself be versioned already (linux-image-6.1.0-56-cloud-amd64).
    let packageName = metaPackage;
    let debPath = await aptDownload(metaPackage, work);
    if (!/^linux-image-\d/.test(metaPackage)) {
      packageName = versionedKernelPackage(metaPackage, await debField(debPath, 'Depends'));
      debPath = await aptDownload(packageName, work);
    }
    const packageVersion = await debField(debPath, 'Version');
    const unpacked = join(work, 'root');
    await runCommand('dpkg', ['-x', debPath, unpacked]);
    const modulesParent = join(unpacked, 'lib', 'modules');
    const versions = existsSync(modulesParent) ? readdirSync(modulesParent) : [];
    const version = versions[0];
    if (versions.length !== 1 || !version) {
      throw new Error(`${packageName}: expected one kernel under lib/modules, found ${JSON.stringify(versions)}`);
    }
    const vmlinuzName = `vmlinuz-${version}`;
    if (!existsSync(join(unpacked, 'boot', vmlinuzName))) throw new Error(`${packageName} ships no boot/${vmlinuzName}`);
    await runCommand('depmod', ['-b', unpacked, version]);

    // Move the finished tree into place; if another process finished first, use theirs.
    const finalRoot = join(directory, `${packageName}_${packageVersion}`);
    if (!existsSync(finalRoot)) {
      try {
        renameSync(unpacked, finalRoot);
      } catch (error) {
        if (!existsSync(finalRoot)) throw error;
      }
    }
    const kernel: DebianKernel = {
      version,
      packageName,
      packageVersion,
      vmlinuzPath: join(finalRoot, 'boot', vmlinuzName),
      modulesDirectory: join(finalRoot, 'lib', 'modules', version),
      rootDirectory: finalRoot,
    };
    const manifestPath = join(directory, `${metaPackage}.${MANIFEST_NAME}`);
    writeFileSync(`${manifestPath}.${process.pid}.tmp`, `${JSON.stringify(kernel, null, 2)}\n`);
    renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
    return kernel;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
