// `npm run bench -- boot-storm [--machines 200] [--size-mib 8] [--database pglite|postgres]`: machines
// booting at once, simulated (no firmware runs): each fetches its per-MAC iPXE script over HTTP from the
// API as `npm start` builds it, then a kernel-sized file over TFTP from the TFTP server wired as
// `npm start` wires it (generated boot files, then the TFTP root; transfers on 2 threads), with our own
// TFTP client at blksize 1468 (what iPXE asks for). Figures: total time, per-machine time p50/p99, errors.
// Baseline in the same run: one machine alone, the same steps, and what 200 of those one after another
// would take. The clients run in this process too (2 cores): the figures are for server and clients together.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testDatabases } from '../test/support/databases.js';
import { startTestApi } from '../test/support/api.js';
import { createDiskFileProvider, createTftpServer, fetchTftpFile } from '../boot/tftp/index.js';
import { createBootFileProvider } from '../boot/tftp-boot-files.js';

const loopback = '127.0.0.1';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`bench boot-storm: --${name} needs a positive whole number, got "${args[at + 1]}"`);
    process.exit(2);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function macOf(index: number): string {
  return `52:54:00:5b:${((index >> 8) & 0xff).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
}

export default async function benchBootStorm(args: string[]): Promise<void> {
  const machines = option(args, 'machines', 200);
  const sizeMiB = option(args, 'size-mib', 8);
  const wanted = args[args.indexOf('--database') + 1];
  const database = testDatabases().find((d) => d.label === (args.includes('--database') ? wanted : 'postgres')) ?? testDatabases()[0]!;
  console.log(`simulation: ${machines} machines (no firmware), ${sizeMiB} MiB kernel over TFTP, inventory on ${database.label}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`);
  const api = await startTestApi(database);
  const kernel = randomBytes(sizeMiB * 1024 * 1024);
  await mkdir(join(api.tftpRoot, 'storm'), { recursive: true });
  await writeFile(join(api.tftpRoot, 'storm', 'vmlinuz'), kernel);
  await writeFile(join(api.tftpRoot, 'storm', 'initrd'), 'initrd');
  const tftp = createTftpServer({
    address: loopback,
    port: 0,
    providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)],
    transferThreads: 2,
  });
  try {
    const { port } = await tftp.listen();
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'storm', kernel: 'storm/vmlinuz', initrd: 'storm/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'storm', distro: 'storm' }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      if (reply.status !== 201) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    for (let i = 0; i <= machines; i++) {
      const reply = await api.request('POST', '/api/v1/systems', { body: { name: `storm-${i}`, profile: 'storm', netbootEnabled: true, interfaces: [{ mac: macOf(i) }] } });
      if (reply.status !== 201) throw new Error(`system ${i}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }

    /** One machine's boot: its iPXE script over HTTP, then its kernel over TFTP. Milliseconds, or an error. */
    async function boot(index: number): Promise<{ ms: number; error?: string }> {
      const began = performance.now();
      const response = await fetch(`${api.url}/boot/ipxe/${macOf(index)}`);
      const script = await response.text();
      if (!response.ok || !/^kernel /m.test(script)) return { ms: performance.now() - began, error: `iPXE script: ${response.status}` };
      const fetched = await fetchTftpFile({ host: loopback, port, path: 'storm/vmlinuz', blockSize: 1468, requestSize: true, retryTimeoutMs: 2000, maxRetries: 8 });
      if (!fetched.ok) return { ms: performance.now() - began, error: `TFTP: ${fetched.kind} ${fetched.message}` };
      if (fetched.bytes.length !== kernel.length) return { ms: performance.now() - began, error: `TFTP: ${fetched.bytes.length} bytes` };
      return { ms: performance.now() - began };
    }

    await boot(machines); // warm-up: the route, the renderers, the transfer threads
    const alone: number[] = [];
    for (let round = 0; round < 3; round++) {
      const result = await boot(0);
      if (result.error !== undefined) throw new Error(`one machine alone failed: ${result.error}`);
      alone.push(result.ms);
    }
    alone.sort((a, b) => a - b);
    const aloneMs = alone[1]!;

    const began = performance.now();
    const results = await Promise.all(Array.from({ length: machines }, (_, i) => boot(i)));
    const totalMs = performance.now() - began;
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    const errors = results.filter((r) => r.error !== undefined);
    const delivered = (machines - errors.length) * kernel.length;
    console.log(`baseline: one machine alone  ${aloneMs.toFixed(0)} ms (median of 3); ${machines} of those one after another: ${((aloneMs * machines) / 1000).toFixed(1)} s`);
    console.log(`storm: ${machines} at once     total ${(totalMs / 1000).toFixed(1)} s (${((aloneMs * machines) / totalMs).toFixed(2)}x the one-after-another time)`);
    console.log(`  per machine                p50 ${(percentile(times, 50) / 1000).toFixed(2)} s   p99 ${(percentile(times, 99) / 1000).toFixed(2)} s   max ${(times.at(-1)! / 1000).toFixed(2)} s`);
    console.log(`  TFTP delivered             ${(delivered / 1e6 / (totalMs / 1000)).toFixed(1)} MB/s in all`);
    console.log(`  errors                     ${errors.length}${errors.length > 0 ? `: ${[...new Set(errors.map((e) => e.error))].slice(0, 5).join('; ')}` : ''}`);
  } finally {
    await tftp.close();
    await api.close();
  }
}
