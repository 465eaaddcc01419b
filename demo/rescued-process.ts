// `npm start` as a child of the demo: the same wiring (workers/serve.ts: embedded Temporal dev server, PGlite,
// API, TFTP, worker), in the demo's own data folder and ports, its output in DATA/rescued.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lab/vm/paths.js';

export interface RescuedProcess {
  url: string;
  temporalUiUrl: string | null;
  logPath: string;
  stop(): Promise<void>;
}

export interface RescuedProcessOptions {
  dataDirectory: string;
  apiPort: number;
  tftpPort: number;
  temporalPort: number;
  temporalUiPort: number;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startRescuedProcess(options: RescuedProcessOptions, timeoutMs = 180_000): Promise<RescuedProcess> {
  const logPath = join(options.dataDirectory, 'rescued.log');
  const log = openSync(logPath, 'a');
  const url = `http://127.0.0.1:${options.apiPort}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/serve.ts'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      RESCUED_DATA_DIR: options.dataDirectory,
      RESCUED_API_HOST: '127.0.0.1',
      RESCUED_API_PORT: String(options.apiPort),
      RESCUED_PUBLIC_URL: url,
      // The lab's VMs reach the host's 127.0.0.1 as 10.0.2.2; QEMU answers TFTP port 69 itself.
      RESCUED_BOOT_URL: `http://10.0.2.2:${options.apiPort}`,
      RESCUED_TFTP_HOST: '127.0.0.1',
      RESCUED_TFTP_PORT: String(options.tftpPort),
      RESCUED_TEMPORAL_PORT: String(options.temporalPort),
      RESCUED_TEMPORAL_UI_PORT: String(options.temporalUiPort),
      RESCUED_AUDIT_EVERY: 'off',
      RESCUED_ADMISSION_INTERVAL: '1',
    },
  });
  closeSync(log);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (exited(child)) return resolve();
      const killer = setTimeout(() => child.kill('SIGKILL'), 35_000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGINT');
    });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (() => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    })();
    if (/is running/.test(text)) {
      const ui = /Temporal UI\s+(\S+)/.exec(text)?.[1] ?? null;
      return { url, temporalUiUrl: ui, logPath, stop };
    }
    if (exited(child)) throw new Error(`rescued did not start (its log: ${logPath}):\n${logTail(logPath)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`rescued did not start within ${timeoutMs / 1000} s (its log: ${logPath}):\n${logTail(logPath)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
