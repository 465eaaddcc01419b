// What the rescue image builder needs on the machine that runs it, each with the Debian package that provides it,
// so that a missing one is named with the command that installs it instead of failing half-way through a build.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BUSYBOX_PATH, E2FSCK_STATIC_PATH } from './initramfs.js';
import { RESCUE_HOST_TOOLS } from './rescue-image.js';

export interface HostRequirement {
  /** A command looked up on PATH (and the sbin folders), or an absolute path. */
  name: string;
  debianPackage: string;
  /** What it is for, for the message. */
  purpose: string;
}

const SBIN_DIRECTORIES = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The builder cannot work without these. */
export const REQUIRED_HOST_TOOLS: readonly HostRequirement[] = [
  { name: 'apt-get', debianPackage: 'apt', purpose: 'downloads the kernel and packages' },
  { name: 'dpkg', debianPackage: 'dpkg', purpose: 'unpacks them' },
  { name: 'dpkg-deb', debianPackage: 'dpkg', purpose: 'reads their versions' },
  { name: 'depmod', debianPackage: 'kmod', purpose: 'indexes the kernel modules' },
  { name: 'ldd', debianPackage: 'libc-bin', purpose: 'finds the libraries the tools need' },
  { name: BUSYBOX_PATH, debianPackage: 'busybox-static', purpose: 'the shell and core tools' },
  { name: E2FSCK_STATIC_PATH, debianPackage: 'e2fsck-static', purpose: 'the static e2fsck' },
  ...RESCUE_HOST_TOOLS.filter((tool) => tool.required).map((tool) => ({ name: tool.name, debianPackage: tool.debianPackage, purpose: 'the SSH server' })),
];

/** The image is built without these when they are missing (and says so). */
export const OPTIONAL_HOST_TOOLS: readonly HostRequirement[] = RESCUE_HOST_TOOLS.filter((tool) => !tool.required).map((tool) => ({
  name: tool.name,
  debianPackage: tool.debianPackage,
  purpose: 'a repair tool',
}));

export type HostFileExists = (path: string) => boolean;

function isPresent(name: string, searchPath: string, exists: HostFileExists): boolean {
  if (name.startsWith('/')) return exists(name);
  const directories = [...searchPath.split(delimiter).filter(Boolean), ...SBIN_DIRECTORIES];
  return directories.some((directory) => exists(join(directory, name)));
}

/** The requirements that are not met, required and optional apart. */
export function findMissingHostTools(
  searchPath: string = process.env.PATH ?? '',
  exists: HostFileExists = existsSync,
): { required: HostRequirement[]; optional: HostRequirement[] } {
  return {
    required: REQUIRED_HOST_TOOLS.filter((tool) => !isPresent(tool.name, searchPath, exists)),
    optional: OPTIONAL_HOST_TOOLS.filter((tool) => !isPresent(tool.name, searchPath, exists)),
  };
}

/** `apt-get install -y a b c` for the packages that provide `missing`. */
export function installCommand(missing: readonly HostRequirement[]): string {
  return `apt-get install -y ${[...new Set(missing.map((tool) => tool.debianPackage))].sort().join(' ')}`;
}

export class MissingHostToolsError extends Error {
  override readonly name = 'MissingHostToolsError';
  constructor(readonly missing: readonly HostRequirement[]) {
    super(
      `the rescue image cannot be built on this machine: missing ${missing.map((tool) => `${tool.name} (${tool.purpose})`).join(', ')}; install with: ${installCommand(missing)}`,
    );
  }
}
