// The embedded Temporal: the official CLI's dev server, SQLite in the data folder, Web UI, our search
// attributes. A child process of ours, stopped with us; a pid file lets the next start clean up one
// that outlived a killed parent.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags, RESCUE_SEARCH_ATTRIBUTES } from './search-attributes.js';

export interface EmbeddedTemporal {
  address: string;
  uiUrl: string;
  /** How it was started: the CLI at a path, or the SDK's downloaded copy. */
  source: string;
  stop(): Promise<void>;
}

export interface EmbeddedTemporalOptions {
  /** The `temporal` CLI; undefined: fall back to the Temporal SDK's download (needs internet). */
  cliPath: string | undefined;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** Where the Web UI sends payloads to be decoded (our /codec); undefined: the UI shows them encoded. */
  uiCodecEndpoint?: string;
  startTimeoutMs?: number;
}

// The dev server we start listens on loopback without TLS, so this probe needs none of the TEMPORAL_* settings.
async function waitUntilServing(address: string, namespace: string, deadline: number, child?: ChildProcess): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode} while starting`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal server at ${address} did not answer in time: ${(lastError as Error | undefined)?.message ?? 'no answer'}`);
}

async function stopStaleServer(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('start-dev')) process.kill(pid, 'SIGTERM');
  } catch {
    // Not running any more.
  }
  await rm(pidFile, { force: true });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions): Promise<EmbeddedTemporal> {
  const folder = join(options.dataDir, 'temporal');
  await mkdir(folder, { recursive: true });
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://127.0.0.1:${options.uiPort}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);

  if (options.cliPath === undefined) return startWithSdkDownload(options, folder, address, uiUrl, deadline);

  const pidFile = join(folder, 'temporal.pid');
  await stopStaleServer(pidFile);
  const log = createWriteStream(join(folder, 'temporal.log'), { flags: 'a' });
  const child = spawn(
    options.cliPath,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--ui-port',
      String(options.uiPort),
      '--db-filename',
      join(folder, 'temporal.sqlite'),
      '--namespace',
      options.namespace,
      '--log-level',
      'warn',
      ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
      ...searchAttributeFlags(),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await writeFile(pidFile, String(child.pid));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    await rm(pidFile, { force: true });
    log.end();
  };
  try {
    await waitUntilServing(address, options.namespace, deadline, child);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} (log: ${join(folder, 'temporal.log')})`);
  }
  return { address, uiUrl, source: options.cliPath, stop };
}

async function startWithSdkDownload(options: EmbeddedTemporalOptions, folder: string, address: string, uiUrl: string, deadline: number): Promise<EmbeddedTemporal> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const { SearchAttributeType } = await import('@temporalio/common');
  const environment = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      ui: true,
      uiPort: options.uiPort,
      dbFilename: join(folder, 'temporal.sqlite'),
      namespace: options.namespace,
      searchAttributes: RESCUE_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: SearchAttributeType.KEYWORD })),
      ...(options.uiCodecEndpoint ? { extraArgs: ['--ui-codec-endpoint', options.uiCodecEndpoint] } : {}),
    },
  });
  await waitUntilServing(address, options.namespace, deadline);
  return { address, uiUrl, source: "the Temporal SDK's downloaded CLI", stop: () => environment.teardown() };
}
