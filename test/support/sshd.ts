// A real OpenSSH sshd on 127.0.0.1 and a free port, for the shell/ tests: its own ed25519 host key, config,
// authorized_keys and pid file in a temp dir, stopped by stop() (and on process exit, should a test forget).
// It runs as root on THIS machine: tests must point probes at image files in a temp dir, never at real devices.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export const SSHD_PATH = '/usr/sbin/sshd';

export interface KeyPair {
  /** OpenSSH private key text. */
  privateKey: string;
  /** `ssh-ed25519 AAAA...` without a comment. */
  publicKey: string;
}

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** The server's host key line, as a rescue environment would phone it home. */
  hostKey: string;
  /** A key the server accepts for root. */
  clientKey: KeyPair;
  directory: string;
  /** sshd's log so far (stderr, LogLevel VERBOSE). */
  log(): string;
  stop(): Promise<void>;
}

/** A fresh ed25519 key pair made with ssh-keygen in a throwaway directory. */
export function generateKeyPair(): KeyPair {
  const directory = mkdtempSync(join(tmpdir(), 'rescued-key-'));
  try {
    const path = join(directory, 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path], { stdio: 'ignore' });
    return { privateKey: readFileSync(path, 'utf8'), publicKey: publicKeyLine(readFileSync(`${path}.pub`, 'utf8')) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function publicKeyLine(text: string): string {
  return text.trim().split(/\s+/).slice(0, 2).join(' ');
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * `maxStartups`: unauthenticated connections sshd accepts at once (its default drops some beyond 10, see
 * sshd_config(5) MaxStartups); a bench where this one sshd stands in for hundreds of machines raises it.
 * `commandShell`: the shell that runs every command the client sends (`ForceCommand exec SHELL -c
 * "$SSH_ORIGINAL_COMMAND"`), as on a machine whose login shell it is, such as ['/bin/dash'] or
 * ['/bin/busybox', 'sh'] (a rescue environment's); else root's own login shell.
 */
export async function startSshd(options: { startTimeoutMs?: number; maxStartups?: number; commandShell?: readonly string[] } = {}): Promise<TestSshd> {
  const directory = mkdtempSync(join(tmpdir(), 'rescued-sshd-'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKeyPath = join(directory, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKeyPath], { stdio: 'ignore' });
  const clientKey = generateKeyPair();
  writeFileSync(join(directory, 'authorized_keys'), `${clientKey.publicKey} rescued-test\n`, { mode: 0o600 });
  const port = await freePort();
  const configPath = join(directory, 'sshd_config');
  writeFileSync(configPath, [
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(directory, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(directory, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'LogLevel VERBOSE',
    'MaxSessions 20',
    ...(options.maxStartups === undefined ? [] : [`MaxStartups ${options.maxStartups}`]),
    ...(options.commandShell === undefined ? [] : [`ForceCommand exec ${options.commandShell.join(' ')} -c "$SSH_ORIGINAL_COMMAND"`]),
    '',
  ].join('\n'));

  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    running.delete(child);
    rmSync(directory, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not listen within the deadline: ${log}`)), options.startTimeoutMs ?? 10_000);
      const check = () => {
        if (log.includes('Server listening on 127.0.0.1')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited (${code}) before listening: ${log}`));
      });
      check();
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host: '127.0.0.1',
    port,
    hostKey: publicKeyLine(readFileSync(`${hostKeyPath}.pub`, 'utf8')),
    clientKey,
    directory,
    log: () => log,
    stop,
  };
}
