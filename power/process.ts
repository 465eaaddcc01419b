// Runs an external tool with an argument array (no shell ever sees user text), a time limit and cancellation.
import { spawn } from 'node:child_process';

export interface ProcessRun {
  file: string;
  args: readonly string[];
  /** Added to the environment (LC_ALL=C is always set, so tools answer in the words the parsers know). */
  env?: Record<string, string>;
  /** Written to the tool's stdin, which is then closed. */
  stdin?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface ProcessOutcome {
  exitCode: number | null;
  /** The signal that ended the tool, e.g. SIGKILL after a timeout. */
  exitSignal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

/** The tool could not be started at all (not installed, not executable). */
export class ProcessStartError extends Error {
  override readonly name = 'ProcessStartError';
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    super(`cannot run ${file}: ${code}`);
  }
}

const KILL_GRACE_MS = 2000;
const OUTPUT_LIMIT = 1024 * 1024;

/**
 * Spawns without a shell, in its own process group, so that a timeout or an abort stops the tool and anything
 * it started (fence agents run ipmitool, ssh, ...). Never rejects for a non-zero exit: the caller reads it.
 */
export function runProcess(run: ProcessRun): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    if (run.signal.aborted) {
      resolve({ exitCode: null, exitSignal: null, stdout: '', stderr: '', timedOut: false, aborted: true });
      return;
    }
    const child = spawn(run.file, [...run.args], {
      shell: false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', ...run.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;

    const stopGroup = (): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      killTimer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, KILL_GRACE_MS);
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      stopGroup();
    }, run.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      stopGroup();
    };
    run.signal.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk;
    });
    child.stdin.on('error', () => {
      // the tool may exit without reading its stdin
    });
    child.stdin.end(run.stdin ?? '');

    const finish = (): void => {
      clearTimeout(timeoutTimer);
      run.signal.removeEventListener('abort', onAbort);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish();
      reject(new ProcessStartError(run.file, error.code ?? error.message));
    });
    child.on('close', (exitCode, exitSignal) => {
      finish();
      if (killTimer) clearTimeout(killTimer);
      resolve({ exitCode, exitSignal, stdout, stderr, timedOut, aborted });
    });
  });
}
