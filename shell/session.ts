// An SSH session to a rescue environment (ssh2): public-key login, the host key pinned to the line the rescue
// environment phoned home with, a handshake deadline, commands built from argument arrays, capped output and a
// deadline per command. No SFTP: files are written through `cat` on stdin.
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { ShellError } from './errors.js';
import { hostKeyAlgorithmsFor, hostKeyLine, hostKeyMatches, parsePinnedHostKey, type PinnedHostKey } from './host-key.js';
import { buildCommandLine, shellScript } from './quote.js';
import type { ExecOptions, ExecResult, RescueHost } from './rescue-host.js';

const { Client, utils } = ssh2;

export interface SessionOptions {
  host: string;
  /** Default 22. */
  port?: number;
  /** Default `root`. */
  username?: string;
  /** An OpenSSH private key (ed25519), as text or bytes. Never logged, never written to disk. */
  privateKey: string | Buffer;
  /** The host public key line the rescue environment reported, `ssh-ed25519 AAAA...`; anything else is refused. */
  hostKey: string;
  /**
   * Deadline for TCP connect, banner, key exchange and login together. QEMU's user networking accepts the TCP
   * connection before the guest's sshd runs, so without it an early connect hangs. Default 20 s.
   */
  connectTimeoutMs?: number;
  /** Default deadline per command. Default 120 s. */
  commandTimeoutMs?: number;
  /** Default cap per output stream of a command. Default 1 MiB. */
  maxOutputBytes?: number;
  /** SSH keepalive interval; a connection that stops answering fails after 3 of them. Default 5 s, 0 disables. */
  keepaliveIntervalMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

type SshClient = InstanceType<typeof Client>;

interface SocketError extends Error {
  level?: string;
  code?: string;
}

/** Opens a session, or throws a ShellError: `host-key-mismatch`, `auth`, `unreachable`, `timeout`, `protocol`. */
export async function openSession(options: SessionOptions): Promise<ShellSession> {
  let pinned: PinnedHostKey;
  try {
    pinned = parsePinnedHostKey(options.hostKey);
  } catch (error) {
    throw new ShellError('host-key-mismatch', (error as Error).message);
  }
  const parsedKey = utils.parseKey(options.privateKey);
  if (parsedKey instanceof Error || (Array.isArray(parsedKey) && parsedKey.length === 0)) {
    throw new ShellError('auth', `the private key cannot be used: ${parsedKey instanceof Error ? parsedKey.message : 'no key found'}`);
  }

  const port = options.port ?? 22;
  const username = options.username ?? 'root';
  const name = `${username}@${options.host}:${port}`;
  const client = new Client();
  let presentedKey: Buffer | null = null;
  const config: ConnectConfig = {
    host: options.host,
    port,
    username,
    privateKey: options.privateKey,
    readyTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepaliveInterval: options.keepaliveIntervalMs ?? 5_000,
    keepaliveCountMax: 3,
    // Offer only the pinned key's type, so the server shows that key and not another one it also has.
    algorithms: { serverHostKey: hostKeyAlgorithmsFor(pinned.type) as ServerHostKeyAlgorithm[] },
    hostVerifier: (key: Buffer) => {
      presentedKey = Buffer.from(key);
      return hostKeyMatches(pinned, key);
    },
    authHandler: ['publickey'],
  };

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: ShellError) => {
      if (settled) return;
      settled = true;
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if (error) {
        // ssh2 may report the same failure again while it tears down ("Connection lost before handshake").
        client.on('error', () => {});
        client.end();
        reject(error);
      } else {
        resolve();
      }
    };
    const onReady = () => settle();
    const onError = (error: SocketError) => settle(classifyConnectError(error, name, pinned, presentedKey));
    const onClose = () => settle(new ShellError('unreachable', `${name}: the connection closed before the SSH handshake finished`));
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    client.connect(config);
  });

  return new ShellSession(client, name, {
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
  });
}

function classifyConnectError(error: SocketError, name: string, pinned: PinnedHostKey, presentedKey: Buffer | null): ShellError {
  if (presentedKey && !hostKeyMatches(pinned, presentedKey)) {
    return new ShellError('host-key-mismatch',
      `${name}: the server's host key is ${hostKeyLine(presentedKey)}, not the pinned ${hostKeyLine(pinned.blob)}; refused before login`);
  }
  if (error.level === 'client-authentication') {
    return new ShellError('auth', `${name}: the server refused the key (${error.message})`, { cause: error });
  }
  if (error.level === 'client-timeout') {
    return new ShellError('timeout', `${name}: no SSH handshake within the connect timeout (${error.message})`, { cause: error });
  }
  if (error.level === 'client-socket' || error.code) {
    const unreachableCodes = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'];
    if (error.code && unreachableCodes.includes(error.code)) {
      return new ShellError('unreachable', `${name}: ${error.message}`, { cause: error });
    }
  }
  return new ShellError('protocol', `${name}: ${error.message}`, { cause: error });
}

interface SessionDefaults {
  commandTimeoutMs: number;
  maxOutputBytes: number;
}

class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const PID_LINE_PREFIX = 'rescued-pid:';
/** How long a stopped command is given to print its PID, so that it can be killed (see exec). */
const PID_WAIT_MS = 3_000;

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal.reason)}`);
}

/** Takes the `rescued-pid:N` line off the front of stderr; passes everything after it through. */
class PidLineReader {
  pid: number | null = null;
  /** The first line has been read (a PID, or output that is not one). */
  done = false;
  private buffered = Buffer.alloc(0);

  take(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const newline = this.buffered.indexOf(0x0a);
    if (newline < 0 && this.buffered.length < 64) return Buffer.alloc(0);
    this.done = true;
    const line = this.buffered.subarray(0, newline < 0 ? 0 : newline).toString('latin1');
    const match = new RegExp(`^${PID_LINE_PREFIX}(\\d+)$`).exec(line);
    if (!match) return this.buffered;
    this.pid = Number(match[1]);
    return this.buffered.subarray(newline + 1);
  }
}

export class ShellSession implements RescueHost {
  private closed = false;
  private readonly pending = new Set<(error: ShellError) => void>();

  /** @internal use openSession() */
  constructor(private readonly client: SshClient, readonly name: string, private readonly defaults: SessionDefaults) {
    client.on('error', (error: Error) => this.failPending(new ShellError('protocol', `${name}: ${error.message}`, { cause: error })));
    client.on('close', () => {
      this.closed = true;
      this.failPending(new ShellError('protocol', `${name}: the connection closed while a command was running`));
    });
  }

  private failPending(error: ShellError): void {
    for (const fail of [...this.pending]) fail(error);
  }

  exec(command: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const commandLine = buildCommandLine(command);
    const timeoutMs = options.timeoutMs ?? this.defaults.commandTimeoutMs;
    const cap = options.maxOutputBytes ?? this.defaults.maxOutputBytes;
    if (this.closed) return Promise.reject(new ShellError('protocol', `${this.name}: the session is closed`, { command: commandLine }));
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    const started = performance.now();

    return new Promise<ExecResult>((resolve, reject) => {
      const stdout = new CappedOutput(cap);
      const stderr = new CappedOutput(cap);
      const pidLine = new PidLineReader();
      let channel: ClientChannel | null = null;
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let exited = false;
      let settled = false;

      const finish = (error: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(fail);
        if (error) {
          reject(error);
          return;
        }
        resolve({
          exitCode,
          signal: exitSignal,
          stdout: stdout.text(),
          stderr: stderr.text(),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          durationMs: Math.round(performance.now() - started),
          commandLine,
        });
      };
      const fail = (error: ShellError) => finish(error);
      this.pending.add(fail);

      // The command's PID, once its shell has printed it, or null once it never will (no channel, or it closed).
      let settlePid!: (pid: number | null) => void;
      const pidSettled = new Promise<number | null>((resolve) => (settlePid = resolve));
      const pidWithin = (ms: number) =>
        new Promise<number | null>((resolve) => {
          const waiting = setTimeout(() => resolve(pidLine.pid), ms);
          void pidSettled.then((pid) => {
            clearTimeout(waiting);
            resolve(pid);
          });
        });

      // Stopped for its deadline or by the caller: the command is killed, and the kill's completion reports why.
      // A command stopped before its shell printed its PID (stopped at once, or its start slow on a loaded host)
      // is given a few seconds to print it: without it, nothing but the channel's close, which sshd does not
      // pass on as a signal, would reach the command, and it would run on.
      let stopping = false;
      const stop = (reason: Error) => {
        if (stopping || settled) return;
        stopping = true;
        void pidWithin(PID_WAIT_MS)
          .then((pid) => this.killRemote(pid, channel))
          .finally(() => finish(reason));
      };
      const timer = setTimeout(() => {
        stop(new ShellError('timeout', `${this.name}: command did not finish within ${timeoutMs} ms: ${commandLine}`, { command: commandLine }));
      }, timeoutMs);
      const onAbort = () => stop(options.signal ? abortReason(options.signal) : new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });

      // sshd starts each command in a session of its own; the shell prints its PID (= the process group, kept by
      // `exec`) so that a command that outlives its deadline can be killed with everything it started. Channel
      // signals are not enough: OpenSSH and dropbear may ignore them.
      this.client.exec(`printf '${PID_LINE_PREFIX}%s\\n' "$$" >&2; exec ${commandLine}`, (error, stream) => {
        if (error) {
          settlePid(null);
          finish(new ShellError('protocol', `${this.name}: could not start a command: ${error.message}`, { command: commandLine, cause: error }));
          return;
        }
        channel = stream;
        if (settled) {
          stream.close();
          return;
        }
        stream.on('data', (chunk: Buffer) => stdout.add(chunk));
        stream.stderr.on('data', (chunk: Buffer) => {
          const rest = pidLine.take(chunk);
          if (pidLine.done) settlePid(pidLine.pid);
          if (rest.length > 0) stderr.add(rest);
        });
        stream.on('exit', (code: number | null, signal?: string) => {
          exited = true;
          exitCode = typeof code === 'number' ? code : null;
          exitSignal = signal ?? null;
        });
        stream.on('close', () => {
          settlePid(pidLine.pid);
          if (stopping) return;
          if (!exited) {
            finish(new ShellError('protocol', `${this.name}: the command's channel closed without an exit status: ${commandLine}`, { command: commandLine }));
          } else {
            finish(null);
          }
        });
        stream.on('error', (streamError: Error) => {
          if (stopping) return;
          finish(new ShellError('protocol', `${this.name}: ${streamError.message}`, { command: commandLine, cause: streamError }));
        });
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  /** Kills a timed-out command's process group through a second channel, best effort, within 3 s. */
  private async killRemote(pid: number | null, channel: ClientChannel | null): Promise<void> {
    if (channel) {
      try {
        channel.signal('KILL');
      } catch {
        // Not every server takes signals; the kill below is what counts.
      }
    }
    if (pid !== null && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_000);
        // `kill -KILL -PGID`, the form every shell's kill takes: dash refuses `kill -KILL -- -PGID` ("Illegal
        // number: -") and `kill -s KILL -PGID`, and then only the fallback would run, killing the shell but not
        // what it started. Measured with bash, dash and BusyBox ash (test/integration/shell-session.test.ts).
        this.client.exec(`kill -KILL -${pid} 2>/dev/null || kill -KILL ${pid} 2>/dev/null; true`, (error, stream) => {
          if (error) {
            clearTimeout(timer);
            resolve();
            return;
          }
          stream.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
          stream.resume();
          stream.stderr.resume();
          stream.end();
        });
      });
    }
    channel?.close();
  }

  async writeFile(path: string, content: string | Buffer, options: { mode?: string } = {}): Promise<void> {
    if (options.mode !== undefined && !/^[0-7]{3,4}$/.test(options.mode)) throw new Error(`not an octal mode: ${options.mode}`);
    // Written beside the target and renamed over it, so a broken connection never leaves half a file.
    const script = [
      't="$1.rescued-tmp.$$"',
      'm="$2"',
      'if [ -z "$m" ] && [ -e "$1" ]; then m=$(stat -c %a "$1" 2>/dev/null); fi',
      'cat > "$t" || { rm -f "$t"; exit 1; }',
      'if [ -n "$m" ]; then chmod "$m" "$t" || { rm -f "$t"; exit 1; }; fi',
      'mv -f "$t" "$1"',
    ].join('\n');
    const result = await this.exec(shellScript(script, path, options.mode ?? ''), { stdin: content });
    if (result.exitCode !== 0) {
      throw new ShellError('command-failed', `${this.name}: could not write ${path}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
        { command: result.commandLine, exitCode: result.exitCode });
    }
  }

  /** Ends the connection; resolves once it is closed (or after 2 s). */
  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
    this.closed = true;
  }
}
