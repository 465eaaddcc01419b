// "Is the installed OS up?": the one check shared by the rescue's verify step and the fleet audit. The
// system's label rescued.verify chooses it, else SSH on port 22 of the first interface IP:
//   ssh:HOST:PORT | ssh:PORT      an SSH server must send its identification line there
//   tcp:HOST:PORT | tcp:PORT      something must accept a TCP connection there (HOST:PORT alone is tcp)
//   none                          nothing checks it
// With no label and no IP nothing can check it: the rescue then says `unverified` instead of claiming
// success. The BMC's "power on" is never taken for the OS answering.
import { connect, type Socket } from 'node:net';

export const VERIFY_LABEL = 'rescued.verify';
export const DEFAULT_OS_PORT = 22;

export type OsCheck =
  | { kind: 'tcp' | 'ssh'; host: string; port: number; source: string }
  | { kind: 'none'; reason: string }
  | { kind: 'invalid'; reason: string };

/** HOST:PORT or [IPv6]:PORT; undefined when the value is not that. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!, port };
}

/** The check a machine's labels and interfaces ask for. Pure. */
export function osCheckOf(system: { labels: Record<string, string>; interfaces: ReadonlyArray<{ ip?: string | null | undefined }> }): OsCheck {
  const ip = system.interfaces.find((nic) => nic.ip)?.ip ?? undefined;
  const label = system.labels[VERIFY_LABEL]?.trim();
  if (label === undefined || label === '') {
    return ip
      ? { kind: 'ssh', host: ip, port: DEFAULT_OS_PORT, source: 'the IP of its interface' }
      : { kind: 'none', reason: `no IP in the inventory and no label ${VERIFY_LABEL}: nothing can check that the OS is up` };
  }
  if (label === 'none') return { kind: 'none', reason: `label ${VERIFY_LABEL}=none: nothing checks that the OS is up` };
  const source = `label ${VERIFY_LABEL}`;
  const form = /^(?:(tcp|ssh):)?(.+)$/.exec(label)!;
  const kind = (form[1] ?? 'tcp') as 'tcp' | 'ssh';
  const rest = form[2]!;
  if (form[1] !== undefined && /^\d{1,5}$/.test(rest)) {
    const port = Number(rest);
    if (port < 1 || port > 65535) return { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}": ${rest} is not a port number` };
    return ip ? { kind, host: ip, port, source } : { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}" names a port, but the system has no IP` };
  }
  const target = parseHostPort(rest);
  return target
    ? { kind, ...target, source }
    : { kind: 'invalid', reason: `label ${VERIFY_LABEL}="${label}" is not ssh:HOST:PORT, ssh:PORT, tcp:HOST:PORT, tcp:PORT or none` };
}

export interface OsAnswer {
  answered: boolean;
  detail: string;
}

function probe(host: string, port: number, timeoutMs: number, signal: AbortSignal | undefined, onSocket: (socket: Socket, done: (answer: OsAnswer) => void, started: number) => void): Promise<OsAnswer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host, port, timeout: timeoutMs });
    let settled = false;
    const done = (answer: OsAnswer) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(answer);
    };
    const onAbort = () => done({ answered: false, detail: 'check cancelled' });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('timeout', () => done({ answered: false, detail: `no answer within ${timeoutMs} ms` }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ answered: false, detail: error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message) }));
    onSocket(socket, done, started);
  });
}

/** Whether something accepts a TCP connection there within the time; `detail` says what happened. */
export function tcpAnswers(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<OsAnswer> {
  return probe(host, port, timeoutMs, signal, (socket, done, started) => {
    socket.once('connect', () => done({ answered: true, detail: `connected in ${Math.round(performance.now() - started)} ms` }));
  });
}

/**
 * Whether an SSH server answers there: it must send its identification string, a line starting "SSH-"
 * (RFC 4253 section 4.2; lines before it are allowed and skipped). A port that accepts and says nothing, or
 * says something else, is not an OS's sshd.
 */
export function sshAnswers(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<OsAnswer> {
  return probe(host, port, timeoutMs, signal, (socket, done) => {
    let received = '';
    const identified = (text: string) => text.split('\n').some((line) => line.startsWith('SSH-'));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (identified(received.slice(0, received.lastIndexOf('\n') + 1))) return done({ answered: true, detail: 'an SSH server identified itself' });
      if (received.length > 8192) done({ answered: false, detail: 'the port answered, but no SSH identification line came' });
    });
    socket.once('end', () => done(identified(received) ? { answered: true, detail: 'an SSH server identified itself' } : { answered: false, detail: 'the port closed without an SSH identification line' }));
  });
}

/** Runs the check once. */
export function osAnswers(check: Extract<OsCheck, { kind: 'tcp' | 'ssh' }>, timeoutMs: number, signal?: AbortSignal): Promise<OsAnswer> {
  return (check.kind === 'ssh' ? sshAnswers : tcpAnswers)(check.host, check.port, timeoutMs, signal);
}

export interface OsAnswerWait {
  answered: boolean;
  tries: number;
  detail: string;
}

/**
 * Asks every intervalMs until the OS answers or timeoutMs is over. A try may hang for its whole probeTimeoutMs
 * (a forwarded port whose guest has no network yet accepts and stays silent), so tries overlap: a new one starts
 * every interval whatever the earlier ones do, and the first that answers ends the wait.
 */
export function waitForOsAnswer(
  check: Extract<OsCheck, { kind: 'tcp' | 'ssh' }>,
  options: { timeoutMs: number; intervalMs: number; probeTimeoutMs: number; signal?: AbortSignal; onTry?: () => void },
): Promise<OsAnswerWait> {
  return new Promise((resolve) => {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = Date.now() + options.timeoutMs;
    let tries = 0;
    let pending = 0;
    let last = 'not asked';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: OsAnswerWait) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
      resolve(result);
    };
    const next = () => {
      if (settled) return;
      if (stop.signal.aborted) return finish({ answered: false, tries, detail: 'check cancelled' });
      if (Date.now() >= deadline) {
        if (pending === 0) finish({ answered: false, tries, detail: last });
        return;
      }
      tries += 1;
      pending += 1;
      options.onTry?.();
      const probeTimeout = Math.max(100, Math.min(options.probeTimeoutMs, deadline - Date.now()));
      void osAnswers(check, probeTimeout, stop.signal).then((answer) => {
        pending -= 1;
        last = answer.detail;
        if (answer.answered) finish({ answered: true, tries, detail: answer.detail });
        else if (Date.now() >= deadline && pending === 0) finish({ answered: false, tries, detail: last });
      });
      timer = setTimeout(next, options.intervalMs);
    };
    next();
  });
}
