// "Is the installed OS up?": the one check shared by the rescue's verify step and the fleet audit.
// By default TCP 22 on the machine's first IP; the label rescued.verify chooses otherwise:
//   tcp:HOST:PORT (or HOST:PORT)  connect there (e.g. a NAT'ed lab address)
//   tcp:PORT                      that port on the machine's first IP (sshd on another port)
//   power                         the BMC's power state is all there is to check
//   none                          not checked
import { connect } from 'node:net';

export const VERIFY_LABEL = 'rescued.verify';
export const DEFAULT_OS_PORT = 22;

export type OsCheck =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'power' }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string };

/** HOST:PORT or [IPv6]:PORT; undefined when the value is not that. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!, port };
}

/** The check a machine's labels and interfaces ask for. */
export function osCheckOf(system: { labels: Record<string, string>; interfaces: ReadonlyArray<{ ip: string | null }> }): OsCheck {
  const label = system.labels[VERIFY_LABEL]?.trim();
  if (label === undefined || label === '') {
    const ip = system.interfaces.find((nic) => nic.ip)?.ip;
    return ip ? { kind: 'tcp', host: ip, port: DEFAULT_OS_PORT } : { kind: 'power' };
  }
  if (label === 'none') return { kind: 'none' };
  if (label === 'power') return { kind: 'power' };
  const portOnly = /^tcp:(\d{1,5})$/.exec(label);
  if (portOnly) {
    const port = Number(portOnly[1]);
    const ip = system.interfaces.find((nic) => nic.ip)?.ip;
    if (port < 1 || port > 65535) return { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}": ${port} is not a port number` };
    return ip ? { kind: 'tcp', host: ip, port } : { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}" names a port, but the system has no IP` };
  }
  const target = parseHostPort(label.replace(/^tcp:/, ''));
  return target ? { kind: 'tcp', ...target } : { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}" is not tcp:HOST:PORT, tcp:PORT, power or none` };
}

/** Whether something accepts a TCP connection there within the time; `detail` says what happened. */
export function tcpAnswers(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<{ answered: boolean; detail: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (answered: boolean, detail: string) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ answered, detail });
    };
    const onAbort = () => done(false, 'check cancelled');
    if (signal?.aborted) return done(false, 'check cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true, `connected in ${Math.round(performance.now() - started)} ms`));
    socket.once('timeout', () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('error', (error: NodeJS.ErrnoException) => done(false, error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message)));
  });
}
