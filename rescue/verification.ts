// How a restored machine proves it is back: its own OS has to answer. The check is the system's label
// rescued.verify (tcp:HOST:PORT, ssh:HOST:PORT, or none), else SSH on the IP of its first interface that
// has one. With neither, nothing can verify it: the rescue says `unverified` instead of claiming success
// (the BMC's "power on" says nothing about whether the OS booted).
import { connect } from 'node:net';

export type VerificationCheck =
  | { kind: 'tcp' | 'ssh'; host: string; port: number; source: string }
  | { kind: 'none'; reason: string };

export const VERIFY_LABEL = 'rescued.verify';
const DEFAULT_SSH_PORT = 22;

export class VerificationConfigError extends Error {
  override readonly name = 'VerificationConfigError';
}

export function parseHostPort(value: string, label: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) throw new VerificationConfigError(`label ${label}="${value}" is not host:port`);
  return { host: match[1]!, port };
}

/** The check a system's inventory record asks for. Pure: the label first, then the first interface IP. */
export function chooseVerificationCheck(system: { labels: Record<string, string>; interfaces: Array<{ ip?: string | null | undefined }> }): VerificationCheck {
  const label = system.labels[VERIFY_LABEL];
  if (label !== undefined) {
    if (label === 'none') return { kind: 'none', reason: `label ${VERIFY_LABEL}=none: nothing checks that the OS came back` };
    const match = /^(tcp|ssh):(.+)$/.exec(label);
    if (!match) throw new VerificationConfigError(`label ${VERIFY_LABEL}="${label}" must be tcp:HOST:PORT, ssh:HOST:PORT or none`);
    return { kind: match[1] as 'tcp' | 'ssh', ...parseHostPort(match[2]!, VERIFY_LABEL), source: `label ${VERIFY_LABEL}` };
  }
  const ip = system.interfaces.find((i) => i.ip)?.ip;
  if (ip) return { kind: 'ssh', host: ip, port: DEFAULT_SSH_PORT, source: 'the IP of its interface' };
  return { kind: 'none', reason: `no IP in the inventory and no label ${VERIFY_LABEL}: nothing can check that the OS came back` };
}

/** Whether something accepts a TCP connection at host:port within timeoutMs. */
export function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether an SSH server answers at host:port: it must send its identification string, a line starting
 * "SSH-" (RFC 4253 section 4.2; lines before it are allowed and skipped). A port that accepts and says
 * nothing, or says something else, is not an OS's sshd.
 */
export function sshAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    let received = '';
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const lines = received.split('\n');
      if (lines.slice(0, -1).some((line) => line.startsWith('SSH-'))) return done(true);
      if (received.length > 8192) done(false);
    });
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
    socket.once('end', () => done(received.split('\n').some((line) => line.startsWith('SSH-'))));
  });
}
