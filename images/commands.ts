// Running the host tools the lab is built from: always an argument array (never a shell string), with errors
// that say which command failed and what it printed.
import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunCommandOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Exit codes that are not an error (default: only 0). */
  acceptedExitCodes?: readonly number[];
  env?: NodeJS.ProcessEnv;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly result: CommandResult | undefined,
    cause?: unknown,
  ) {
    const printed = result ? `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-15).join('\n') : '';
    const why = result ? `exited with ${result.exitCode}` : `could not run (${cause instanceof Error ? cause.message : String(cause)})`;
    super(`${[command, ...args].join(' ')} ${why}${printed ? `:\n${printed}` : ''}`, cause === undefined ? undefined : { cause });
    this.name = 'CommandFailedError';
  }
}

/** Runs `command args...` and resolves with its output; rejects with CommandFailedError on a refused exit code. */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const accepted = options.acceptedExitCodes ?? [0];
  return new Promise((resolvePromise, rejectPromise) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        let exitCode = 0;
        if (error) {
          const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
          if (typeof code !== 'number') {
            const killed = (error as { killed?: boolean }).killed ? ' (killed after timeout)' : '';
            rejectPromise(new CommandFailedError(command, args, undefined, new Error(`${error.message}${killed}`)));
            return;
          }
          exitCode = code;
        }
        const result = { stdout, stderr, exitCode };
        if (accepted.includes(exitCode)) resolvePromise(result);
        else rejectPromise(new CommandFailedError(command, args, result));
      },
    );
  });
}
