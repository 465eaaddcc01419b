// The real Temporal server and its SQL schema tool, built from the server's Go module into the tools folder
// once (like the CLI), for the tests and benches that run rescued on a Temporal cluster on PostgreSQL. A
// version stamp next to each binary says which version it is; a binary built by someone else (no stamp) is
// accepted when `go version -m` shows it was built from the right module version.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TOOLS_BIN_DIR, isExecutable } from './cli-binary.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** The server module's source (schema files, sample configs), in the Go module cache. */
  moduleDir: string;
}

const BINARIES = [
  { name: 'temporal-server', pkg: `${TEMPORAL_SERVER_MODULE}/cmd/server` },
  { name: 'temporal-sql-tool', pkg: `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql` },
] as const;

const stampOf = (binary: string) => `${binary}.version`;

/** Whether the binary at `path` is the server module at `version`: its stamp, else its embedded build info. */
async function isBuiltAt(path: string, version: string): Promise<boolean> {
  if (!(await isExecutable(path))) return false;
  try {
    return (await readFile(stampOf(path), 'utf8')).trim() === version;
  } catch {
    // No stamp: built by `go build -o` elsewhere; its build info names the module version.
  }
  try {
    const { stdout } = await execFileAsync('go', ['version', '-m', path], { maxBuffer: 16 * 1024 * 1024 });
    const built = new RegExp(`^\\s*(?:mod|dep)\\s+${TEMPORAL_SERVER_MODULE.replace(/\./g, '\\.')}\\s+(\\S+)`, 'm').exec(stdout)?.[1];
    if (built !== version) return false;
    await writeFile(stampOf(path), `${version}\n`);
    return true;
  } catch {
    return false;
  }
}

async function goEnv(name: string): Promise<string> {
  const { stdout } = await execFileAsync('go', ['env', name]);
  return stdout.trim();
}

/** Downloads the module (cached by Go) and returns where its source is. */
async function moduleDirectory(version: string): Promise<string> {
  const directory = join(await goEnv('GOMODCACHE'), `${TEMPORAL_SERVER_MODULE}@${version}`);
  if (await isExecutable(join(directory, 'schema'))) return directory;
  await execFileAsync('go', ['mod', 'download', `${TEMPORAL_SERVER_MODULE}@${version}`], { env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 10 * 60_000 });
  return directory;
}

async function build(pkg: string, name: string, version: string, log: (line: string) => void): Promise<void> {
  await mkdir(TOOLS_BIN_DIR, { recursive: true });
  // Built into a folder of its own, then renamed: a half-written binary is never at the final path.
  const scratch = await mkdtemp(join(TOOLS_BIN_DIR, `.build-${name}-`));
  log(`building ${pkg}@${version} into ${join(TOOLS_BIN_DIR, name)} (once, a few minutes)`);
  try {
    await execFileAsync('go', ['install', `${pkg}@${version}`], {
      env: { ...process.env, GOBIN: scratch, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
    const built = join(scratch, pkg.split('/').at(-1)!);
    await rename(built, join(TOOLS_BIN_DIR, name));
    await writeFile(stampOf(join(TOOLS_BIN_DIR, name)), `${version}\n`);
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(`cannot build ${name}: no \`go\` toolchain on PATH`);
    throw new Error(`go install ${pkg}@${version} failed: ${(failure.stderr ?? failure.message).trim().split('\n').slice(-5).join('\n')}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The server and the schema tool in the tools folder, built when missing or of another version. */
export async function locateOrBuildTemporalServer(log: (line: string) => void = () => undefined, version = TEMPORAL_SERVER_VERSION): Promise<TemporalServerBinaries> {
  for (const { name, pkg } of BINARIES) {
    const path = join(TOOLS_BIN_DIR, name);
    if (await isBuiltAt(path, version)) continue;
    await build(pkg, name, version, log);
  }
  return { server: join(TOOLS_BIN_DIR, 'temporal-server'), sqlTool: join(TOOLS_BIN_DIR, 'temporal-sql-tool'), moduleDir: await moduleDirectory(version) };
}
