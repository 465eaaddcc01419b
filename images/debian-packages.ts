// Debian packages the rescue image needs but this machine must not install: lvm2 and mdadm pull udev and a newer
// systemd into the host and start monitoring daemons there. `apt-get download` and `dpkg -x` unpack them into
// the lab cache instead (as kernel.ts does for the kernel), and the rescue image builder copies their binaries from there,
// with the shared libraries resolved against the unpacked tree first, then the host's.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './commands.js';
import { buildCacheDirectory } from './paths.js';

export interface UnpackedPackages {
  /** The tree every package was unpacked into (usr/sbin/..., lib/x86_64-linux-gnu/...). */
  rootDirectory: string;
  /** `name version` of each package, for the image's cache key and manifest. */
  packages: string[];
  /** Library folders inside the tree, for LD_LIBRARY_PATH when resolving the binaries' libraries. */
  libraryDirectories: string[];
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9.+-]*$/;
const LIBRARY_DIRECTORIES = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib'];

function manifestPath(directory: string, set: string): string {
  return join(directory, `${set}.json`);
}

function readCached(directory: string, set: string, wanted: readonly string[]): UnpackedPackages | undefined {
  const path = manifestPath(directory, set);
  if (!existsSync(path)) return undefined;
  try {
    const cached = JSON.parse(readFileSync(path, 'utf8')) as UnpackedPackages & { wanted: string[] };
    const same = JSON.stringify(cached.wanted) === JSON.stringify(wanted);
    return same && existsSync(cached.rootDirectory) ? { rootDirectory: cached.rootDirectory, packages: cached.packages, libraryDirectories: cached.libraryDirectories } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Downloads and unpacks `packages` once into `<cache>/packages/<set>/`; later calls return the cached tree
 * without running apt. `set` names the group (e.g. "rescue-storage").
 */
export async function ensureUnpackedDebianPackages(set: string, packages: readonly string[], options: { cacheDirectory?: string } = {}): Promise<UnpackedPackages> {
  if (!PACKAGE_NAME.test(set)) throw new Error(`not a plain name for a package set: ${JSON.stringify(set)}`);
  for (const name of packages) if (!PACKAGE_NAME.test(name)) throw new Error(`not a Debian package name: ${JSON.stringify(name)}`);
  const wanted = [...packages].sort();
  const directory = join(options.cacheDirectory ?? buildCacheDirectory(), 'packages');
  const cached = readCached(directory, set, wanted);
  if (cached) return cached;

  mkdirSync(directory, { recursive: true });
  const work = mkdtempSync(join(directory, `${set}-build-`));
  try {
    try {
      await runCommand('apt-get', ['download', '-q', ...wanted], { cwd: work, timeoutMs: 600_000 });
    } catch (error) {
      throw new Error(`apt-get download ${wanted.join(' ')} failed; run \`apt-get update\` once: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const debs = readdirSync(work).filter((name) => name.endsWith('.deb')).sort();
    const unpacked = join(work, 'root');
    const versions: string[] = [];
    for (const deb of debs) {
      await runCommand('dpkg', ['-x', join(work, deb), unpacked]);
      const { stdout } = await runCommand('dpkg-deb', ['-f', join(work, deb), 'Package', 'Version']);
      versions.push(stdout.trim().split('\n').map((line) => line.replace(/^\w+:\s*/, '')).join(' '));
    }
    const missing = wanted.filter((name) => !versions.some((line) => line.startsWith(`${name} `)));
    if (missing.length > 0) throw new Error(`apt-get download left no .deb for ${missing.join(', ')}`);
    const finalRoot = join(directory, `${set}-${Date.now()}`);
    renameSync(unpacked, finalRoot);
    const result: UnpackedPackages = {
      rootDirectory: finalRoot,
      packages: versions,
      libraryDirectories: LIBRARY_DIRECTORIES.map((relative) => join(finalRoot, relative)).filter((path) => existsSync(path)),
    };
    const path = manifestPath(directory, set);
    writeFileSync(`${path}.${process.pid}.tmp`, `${JSON.stringify({ ...result, wanted }, null, 2)}\n`);
    renameSync(`${path}.${process.pid}.tmp`, path);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
