// Binary garbage as damaged disks and crashed tools produce it, from a seeded generator so that a failure can
// be replayed: random bytes, runs of NULs (a file cut by a crash is NUL-filled up to its size), invalid UTF-8
// (stray continuation bytes, overlong forms, encoded surrogates, 0xFE/0xFF), terminal escape sequences (CSI
// colours, OSC titles, screen clears), C1 controls, bidirectional overrides, and outputs far over any cap.
import type { ExecOptions, ExecResult, RescueHost } from '../../shell/rescue-host.js';

/** mulberry32: small, seedable, good enough to vary garbage. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES: readonly Buffer[] = [
  Buffer.from([0, 0, 0, 0]),
  Buffer.from([0xff, 0xfe, 0xfd]),
  Buffer.from([0xc3]),
  Buffer.from([0x80, 0xbf]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from('\x1b[31;1mERROR\x1b[0m', 'latin1'),
  Buffer.from('\x1b]0;owned\x07\x1b[2J\x1b[H', 'latin1'),
  Buffer.from('\r\r\b\b\x7f\x0c\x0b', 'latin1'),
  Buffer.from([0xc2, 0x9b, 0x33, 0x31, 0x6d]),
  Buffer.from('\u202eevil\u202c', 'utf8'),
  Buffer.from('Entry \'\u00e9t\u00e9\' in / (2) has deleted/unused inode 12.  Clear? no\n', 'utf8'),
];

/** Garbage bytes: `size` of them, built from random bytes and the pieces above. */
export function garbageBytes(random: () => number, size: number): Buffer {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const chunk = random() < 0.5
      ? PIECES[Math.floor(random() * PIECES.length)]!
      : Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, size);
}

/** Garbage as the SSH session hands it over: the bytes decoded as UTF-8, invalid sequences replaced. */
export function garbageText(random: () => number, size: number): string {
  return garbageBytes(random, size).toString('utf8');
}

export interface GarblingOptions {
  seed: number;
  /** Bytes of garbage added around each output (default 2 KiB). */
  size?: number;
  /** Every this many commands, one output is huge (default every 7th, 2 MiB, flagged as cut like the session does). */
  hugeEvery?: number;
  /** Without an inner host: the exit statuses drawn from (default 0, 1, 2, 3, 4, 8, 12 and killed by a signal). */
  exitCodes?: ReadonlyArray<number | null>;
}

/**
 * A rescue host whose every output carries garbage: with `inner`, garbage lines before and after the real
 * output (so parsers meet real structure among the garbage); without one, garbage only, with random exit
 * statuses. Writes go through to `inner` (or are accepted).
 */
export function garblingHost(inner: RescueHost | null, options: GarblingOptions): RescueHost & { commands: string[] } {
  const random = seededRandom(options.seed);
  const size = options.size ?? 2048;
  const hugeEvery = options.hugeEvery ?? 7;
  const commands: string[] = [];
  const exitCodes = options.exitCodes ?? [0, 0, 1, 2, 3, 4, 8, 12, null];
  const noise = () => garbageText(random, size);
  return {
    name: inner ? `garbled ${inner.name}` : 'garbage-host',
    commands,
    async exec(command: readonly string[], execOptions?: ExecOptions): Promise<ExecResult> {
      commands.push(command.join(' '));
      const huge = commands.length % hugeEvery === 0;
      const real = inner ? await inner.exec(command, execOptions) : null;
      const stdout = huge ? garbageText(random, 2 * 1024 * 1024) : `${noise()}\n${real?.stdout ?? ''}\n${noise()}`;
      return {
        exitCode: real ? real.exitCode : exitCodes[Math.floor(random() * exitCodes.length)]!,
        signal: null,
        stdout,
        stderr: `${noise()}${real?.stderr ?? ''}`,
        stdoutTruncated: huge,
        stderrTruncated: false,
        durationMs: real?.durationMs ?? 1,
        commandLine: `${real?.commandLine ?? command.join(' ')}\u0000\x1b[0m`,
      };
    },
    async writeFile(path: string, content: string | Buffer, writeOptions?: { mode?: string }): Promise<void> {
      if (inner) await inner.writeFile(path, content, writeOptions);
    },
  };
}

/** Every string in a JSON-plain value (object keys included), with where it is. */
export function stringsIn(value: unknown, path = '$'): Array<{ path: string; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringsIn(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, member]) => [{ path: `${path} (key)`, text: key }, ...stringsIn(member, `${path}.${key}`)]);
  }
  return [];
}
