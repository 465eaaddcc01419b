// TFTP throughput: our server (transfers in its own thread, and on 2 transfer threads) against Debian's
// tftpd-hpa on the same machine, same file, same clients (curl processes), at blksize 1468 and 512, to 1
// and to 16 clients at once; then the gain from RFC 7440 windowsize with our own client (tftpd-hpa 5.2
// has no windowsize, so that part is ours against ours). Loopback only; every process started is
// stopped; each client is killed after a time limit. A full run takes about 10 minutes on 2 cores.
//
//   npm run bench -- tftp [--size-mib 32] [--rounds 3] [--quick]
//
// MB/s are 10^6 bytes per second of file data delivered to all clients together, from the moment the
// clients are started (curl) or released from a start barrier (our client, which needs time to load)
// until the last one has the whole file. Each figure is the median of the rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createDiskFileProvider, createTftpServer, fetchTftpFile } from '../boot/tftp/index.js';

const loopback = '127.0.0.1';
const clientFlag = '--tftp-bench-client';
const tftpdPath = '/usr/sbin/in.tftpd';
const childTimeoutMs = 180_000;

interface Settings {
  sizeMiB: number;
  rounds: number;
  clientCounts: number[];
  blockSizes: number[];
  windowSizes: number[];
}

function parseSettings(args: string[]): Settings {
  const value = (name: string): string | undefined => {
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
  const quick = args.includes('--quick');
  return {
    sizeMiB: Number(value('--size-mib') ?? (quick ? 8 : 32)),
    rounds: Number(value('--rounds') ?? (quick ? 1 : 3)),
    clientCounts: [1, 16],
    blockSizes: [1468, 512],
    windowSizes: [1, 8, 16],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, loopback, () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Resolves with the exit code; kills the child if it outlives the limit. */
function exited(child: ChildProcess, limitMs = childTimeoutMs): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

/** Runs `clients` curls at once; returns the wall time until the last one has the whole file. */
async function curlRound(port: number, blockSize: number, clients: number, size: number): Promise<number> {
  const started = performance.now();
  const runs = Array.from({ length: clients }, async () => {
    const child = spawn(
      'curl',
      ['-sS', '--tftp-blksize', String(blockSize), '-o', '/dev/null', '-w', '%{size_download}', `tftp://${loopback}:${port}/file.bin`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await exited(child);
    if (code !== 0 || Number(output) !== size) throw new Error(`curl exited ${code} after ${output} bytes`);
  });
  await Promise.all(runs);
  return performance.now() - started;
}

/** Starts our client in `clients` processes, waits until all are loaded, then releases them together. */
async function ownClientRound(port: number, blockSize: number, windowSize: number, clients: number, size: number): Promise<number> {
  const benchFile = fileURLToPath(import.meta.url);
  const children = Array.from({ length: clients }, () =>
    spawn(process.execPath, ['--import', 'tsx', benchFile, clientFlag, String(port), String(blockSize), String(windowSize)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const exits = children.map((child) => exited(child));
  try {
    const lines = children.map((child) => createInterface({ input: child.stdout! })[Symbol.asyncIterator]());
    const ready = await Promise.all(lines.map((line) => line.next()));
    if (ready.some((line) => line.value !== 'ready')) throw new Error('a client process did not start');
    const started = performance.now();
    for (const child of children) child.stdin!.end('go\n');
    const results = await Promise.all(lines.map((line) => line.next()));
    const elapsed = performance.now() - started;
    for (const result of results) {
      const parsed = JSON.parse(String(result.value)) as { ok: boolean; bytes?: number; message?: string };
      if (!parsed.ok || parsed.bytes !== size) throw new Error(`our client failed: ${parsed.message ?? `${parsed.bytes} bytes`}`);
    }
    return elapsed;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await Promise.all(exits);
  }
}

/** The child side of ownClientRound. */
async function runClientProcess(args: string[]): Promise<void> {
  const [port, blockSize, windowSize] = args.map(Number) as [number, number, number];
  process.stdout.write('ready\n');
  const go = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  if ((await go.next()).done) return;
  const result = await fetchTftpFile({ host: loopback, port, path: 'file.bin', blockSize, windowSize, retryTimeoutMs: 1000 });
  process.stdout.write(JSON.stringify(result.ok ? { ok: true, bytes: result.bytes.length } : { ok: false, message: result.message }) + '\n');
  process.exit(0);
}

async function startTftpdHpa(root: string): Promise<{ port: number; process: ChildProcess } | string> {
  if (process.getuid?.() !== 0) return 'not root: in.tftpd --secure needs chroot';
  const port = await freeUdpPort();
  const child = spawn(tftpdPath, ['--foreground', '--listen', '--address', `${loopback}:${port}`, '--secure', root], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let failure = '';
  child.on('error', (error) => (failure = error.message));
  child.stderr!.on('data', (chunk: Buffer) => (failure += chunk.toString()));
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (failure !== '' || child.exitCode !== null) break;
    const probe = await fetchTftpFile({ host: loopback, port, path: 'probe.txt', retryTimeoutMs: 100, maxRetries: 0 });
    if (probe.ok) return { port, process: child };
  }
  const exit = exited(child, 5000);
  child.kill();
  await exit;
  return `in.tftpd did not answer${failure === '' ? '' : `: ${failure.trim()}`}`;
}

/** Prints a table row by row, as figures come in (a full run takes minutes). */
class TablePrinter {
  constructor(private readonly columns: { header: string; width: number }[]) {
    console.log(this.line(columns.map((c) => c.header)));
    console.log(columns.map((c) => '-'.repeat(c.width)).join('  '));
  }
  row(cells: string[]): void {
    console.log(this.line(cells));
  }
  private line(cells: string[]): string {
    return cells.map((cell, i) => (i === 0 ? cell.padEnd(this.columns[i]!.width) : cell.padStart(this.columns[i]!.width))).join('  ');
  }
}

interface Figure {
  median: number;
  min: number;
  max: number;
}

function summarize(rates: number[]): Figure {
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

const formatFigure = (figure: Figure | undefined): string =>
  figure === undefined ? '-' : `${figure.median.toFixed(1)} [${figure.min.toFixed(1)}..${figure.max.toFixed(1)}]`;

export default async function benchmarkTftp(args: string[]): Promise<void> {
  const settings = parseSettings(args);
  const size = settings.sizeMiB * 1024 * 1024;
  const root = await realpath(await mkdtemp(join(tmpdir(), 'tftp-bench-')));
  const providers = [createDiskFileProvider(root)];
  const inThread = createTftpServer({ providers, address: loopback, port: 0 });
  const threaded = createTftpServer({ providers, address: loopback, port: 0, transferThreads: 2 });
  let tftpd: ChildProcess | undefined;
  const stopTftpd = (): void => {
    tftpd?.kill();
  };
  process.once('exit', stopTftpd);
  try {
    // tftpd-hpa drops to "nobody" after chroot: the root and the file must be readable by all.
    await chmod(root, 0o755);
    await writeFile(join(root, 'file.bin'), randomBytes(size), { mode: 0o644 });
    await writeFile(join(root, 'probe.txt'), 'probe\n', { mode: 0o644 });
    const servers: { name: string; port: number }[] = [
      { name: 'ours', port: (await inThread.listen()).port },
      { name: 'ours, 2 threads', port: (await threaded.listen()).port },
    ];
    const started = await startTftpdHpa(root);
    if (typeof started === 'string') console.log(`tftpd-hpa skipped: ${started}`);
    else {
      tftpd = started.process;
      servers.push({ name: 'tftpd-hpa', port: started.port });
    }
    console.log(
      `file ${settings.sizeMiB} MiB; MB/s = 10^6 bytes/s to all clients together; median [min..max] of ${settings.rounds} ` +
        `round(s); loopback; node ${process.version}; ${typeof started === 'string' ? 'no tftpd-hpa' : 'tftpd-hpa 5.2'}`,
    );
    // Warm up: page cache for the file, JIT and transfer threads for ours.
    for (const { port } of servers) await curlRound(port, 1468, 1, size);

    console.log('\ncurl clients, lock-step (curl has no windowsize). "ours" runs transfers in its own thread;');
    console.log('"ours, 2 threads" runs them on 2 worker threads (transferThreads: 2). Ratio: the better of ours / tftpd-hpa.');
    const table = new TablePrinter([
      { header: 'blksize', width: 7 },
      { header: 'clients', width: 7 },
      ...servers.map(({ name }) => ({ header: `${name} MB/s`, width: 22 })),
      { header: 'ours/tftpd-hpa', width: 14 },
    ]);
    for (const blockSize of settings.blockSizes) {
      for (const clients of settings.clientCounts) {
        // Rounds alternate between the servers, so that a burst of load elsewhere on the machine hits all.
        const rates = servers.map((): number[] => []);
        for (let round = 0; round < settings.rounds; round += 1) {
          for (const [i, { port }] of servers.entries()) {
            rates[i]!.push(megabytesPerSecond(size * clients, await curlRound(port, blockSize, clients, size)));
          }
        }
        const figures = rates.map(summarize);
        const theirs = servers.findIndex(({ name }) => name === 'tftpd-hpa');
        const bestOurs = Math.max(figures[0]!.median, figures[1]!.median);
        const ratio = theirs === -1 ? '-' : (bestOurs / figures[theirs]!.median).toFixed(2);
        table.row([String(blockSize), String(clients), ...figures.map(formatFigure), ratio]);
      }
    }

    console.log('\nwindowsize (RFC 7440): our client (one process per client), our server ("ours"), blksize 1468');
    const windowTable = new TablePrinter([
      { header: 'clients', width: 7 },
      { header: 'windowsize', width: 10 },
      { header: 'MB/s', width: 22 },
      { header: 'vs windowsize 1', width: 15 },
    ]);
    for (const clients of settings.clientCounts) {
      let lockStep: number | undefined;
      for (const windowSize of settings.windowSizes) {
        const rates: number[] = [];
        for (let round = 0; round < settings.rounds; round += 1) {
          rates.push(megabytesPerSecond(size * clients, await ownClientRound(servers[0]!.port, 1468, windowSize, clients, size)));
        }
        const figure = summarize(rates);
        lockStep ??= figure.median;
        windowTable.row([String(clients), String(windowSize), formatFigure(figure), `${(figure.median / lockStep).toFixed(2)}x`]);
      }
    }
  } finally {
    stopTftpd();
    if (tftpd !== undefined && tftpd.exitCode === null) await exited(tftpd, 5000);
    process.off('exit', stopTftpd);
    await inThread.close();
    await threaded.close();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv.includes(clientFlag) && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (await realpath(process.argv[1]))) {
  await runClientProcess(process.argv.slice(process.argv.indexOf(clientFlag) + 1));
}
