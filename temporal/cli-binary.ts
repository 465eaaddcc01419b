// Finding the official `temporal` CLI that runs the embedded dev server: RESCUED_TEMPORAL_CLI, then the
// project's tools folder, then PATH; failing those, build it from its Go module into the tools folder.
import { access, constants, mkdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { delimiter, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_BIN_DIR = join(PROJECT_ROOT, '.tools', 'bin');

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function locateTemporalCli(env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  const configured = env.RESCUED_TEMPORAL_CLI?.trim();
  if (configured) {
    if (await isExecutable(configured)) return configured;
    throw new Error(`RESCUED_TEMPORAL_CLI names "${configured}", which is not an executable file`);
  }
  const candidates = [join(TOOLS_BIN_DIR, 'temporal'), ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'temporal'))];
  for (const candidate of candidates) if (await isExecutable(candidate)) return candidate;
  return undefined;
}

/** `go install <module>@<version>` into the tools folder (GOBIN); returns the binary's path. */
/** `tags`: Go build tags (promtool leaves out the cloud service discoveries it does not need with remove_all_sd). */
export async function goInstallIntoTools(target: string, binary: string, log: (line: string) => void = () => undefined, tags: readonly string[] = []): Promise<string> {
  await mkdir(TOOLS_BIN_DIR, { recursive: true });
  log(`building ${target} into ${TOOLS_BIN_DIR} (once)`);
  try {
    await execFileAsync('go', ['install', ...(tags.length > 0 ? ['-tags', tags.join(',')] : []), target], {
      env: { ...process.env, GOBIN: TOOLS_BIN_DIR, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60 * 1000,
    });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(`cannot build ${binary}: no \`go\` toolchain on PATH`);
    throw new Error(`go install ${target} failed: ${(failure.stderr ?? failure.message).trim().split('\n').slice(-5).join('\n')}`);
  }
  return join(TOOLS_BIN_DIR, binary);
}

/** Builds the CLI with `go install` into the tools folder; several minutes the first time. */
export async function buildTemporalCliFromSource(log: (line: string) => void = () => undefined): Promise<string> {
  return goInstallIntoTools(`${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`, 'temporal', log);
}

/** The CLI's path, building it when it is nowhere; undefined when it cannot be built either. */
export async function locateOrBuildTemporalCli(log: (line: string) => void = () => undefined): Promise<string | undefined> {
  const found = await locateTemporalCli();
  if (found !== undefined) return found;
  try {
    return await buildTemporalCliFromSource(log);
  } catch (error) {
    log((error as Error).message);
    return undefined;
  }
}
