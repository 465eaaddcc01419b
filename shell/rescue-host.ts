// What probes and playbooks need from the machine being rescued: run a command, write a file. The SSH session
// implements it; unit tests can hand in a fake.
import { ShellError } from './errors.js';


export interface ExecOptions {
  /** Bytes written to the command's standard input, then closed. Without it stdin is closed at once. */
  stdin?: string | Buffer;
  /** The command is killed and the call fails with `timeout` after this long. Default: the session's. */
  timeoutMs?: number;
  /** Output beyond this many bytes (per stream) is dropped and flagged as truncated. Default: the session's. */
  maxOutputBytes?: number;
  /** Aborting kills the command and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export interface ExecResult {
  /** The exit status; null when the command died of a signal. */
  exitCode: number | null;
  signal: string | null;
  /**
   * What the command printed, decoded as UTF-8 (bytes that are not become U+FFFD), NULs and escape sequences
   * included: parsers need it as it is. Reports make it safe on the way out (safe-text.ts).
   */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  /** The command line as sent (arguments quoted). */
  commandLine: string;
}

export interface RescueHost {
  /** A name for reports: `root@10.0.2.15:22`. */
  readonly name: string;
  /** Runs `command[0]` with the other elements as arguments (each quoted: nothing in them is interpreted). */
  exec(command: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Writes a file on the remote side through `cat` on stdin (no SFTP: the rescue image may not have it). */
  writeFile(path: string, content: string | Buffer, options?: { mode?: string }): Promise<void>;
}

/** Runs a command and throws `command-failed` unless it exits with one of `acceptExitCodes` (default [0]). */
export async function execChecked(
  host: RescueHost,
  command: readonly string[],
  options: ExecOptions & { acceptExitCodes?: readonly number[] } = {},
): Promise<ExecResult> {
  const result = await host.exec(command, options);
  const accepted = options.acceptExitCodes ?? [0];
  if (result.exitCode === null || !accepted.includes(result.exitCode)) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new ShellError('command-failed',
      `${host.name}: ${result.commandLine} exited ${result.exitCode ?? `on signal ${result.signal ?? '?'}`}${said ? `: ${said}` : ''}`,
      { command: result.commandLine, exitCode: result.exitCode });
  }
  return result;
}

/** The same host, with every command tied to `signal` (so a cancelled activity stops a running e2fsck too). */
export function withAbortSignal(host: RescueHost, signal: AbortSignal | undefined): RescueHost {
  if (!signal) return host;
  return {
    name: host.name,
    // A command that names its own signal keeps it; `signal: undefined` marks cleanup (an unmount) that must run anyway.
    exec: (command, options = {}) => host.exec(command, 'signal' in options ? options : { ...options, signal }),
    writeFile: (path, content, options) => {
      signal.throwIfAborted();
      return host.writeFile(path, content, options);
    },
  };
}
