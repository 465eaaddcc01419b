// `npm start` as its own process (package.json: tsx workers/serve.ts), without npm in between so that a signal
// reaches the server itself; its output gathered for the test to wait on and read.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServeProcess {
  process: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves once its output matches, or rejects when it exits first or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Sends `signal` and resolves with its exit code once it exited (SIGKILL after `timeoutMs`, which fails). */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<{ code: number | null; elapsedMs: number }>;
  /** SIGKILL when still running: for a test's cleanup. */
  kill(): void;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `env`: the process's whole environment besides PATH and HOME. */
export function startServeProcess(env: Record<string, string>): ServeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/serve.ts'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited before printing ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`the server did not print ${pattern} within ${timeoutMs / 1000} s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async stop(signal, timeoutMs) {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))]);
      clearTimeout(timer);
      if (code === 'late') {
        child.kill('SIGKILL');
        throw new Error(`the server did not exit within ${timeoutMs / 1000} s of ${signal}:\n${output}`);
      }
      return { code, elapsedMs: Date.now() - started };
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
