// `npm run bench -- rescues [--rescues 500]`: rescues in flight at once on ONE worker, on the real Temporal
// dev server (the official CLI, as test/support/temporal.ts starts it) with the real workflows and
// activities over a real database (PostgreSQL when DATABASE_URL is set, else PGlite). The machines are
// SIMULATED, in-process: a BMC driver registered under the power type "bench-sim" (as bench/audit.ts does)
// that answers at once and, when a machine is power-cycled with its boot device on pxe, "network-boots" it
// as test/support/simulated-machine.ts does: fetches its iPXE script from the HTTP route and phones home
// with the one-time token; a rescue shell that finds nothing to repair; the OS check is real TCP. So the
// figures measure the rescue (workflow, activities, database, Temporal), not hardware.
// Figures: rescues completed per second, the bench process's peak RSS (worker, API and simulation: the
// worker's own is lower), workflow task schedule-to-start latency p50/p99 from the histories, failures.
// Baseline in the same run: one rescue alone. Target: peak RSS <= 1 GiB and no failure.
import { rescueMetricsSinks } from '../observability/rescue-sinks.js';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { Worker } from '@temporalio/worker';
import { startTestTemporal } from '../test/support/temporal.js';
import { startTestApi } from '../test/support/api.js';
import { testDatabases } from '../test/support/databases.js';
import { createRefusingAdmission } from '../test/support/refusing-admission.js';
import { createActivities } from '../activities/index.js';
import { createInventorySystemPower } from '../workers/system-power.js';
import { createDefaultRegistry } from '../power/registry.js';
import type { BmcDriver, BmcTarget, PowerState } from '../power/types.js';
import type { RescueShell } from '../activities/rescue-shell.js';

const require = createRequire(import.meta.url);
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvUHSmC1ZsZkeZPmV2pCZhJ4aXzQO7JnOe7dLr4P5Zz bench-sim';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`bench rescues: --${name} needs a positive whole number, got "${args[at + 1]}"`);
    process.exit(2);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function macOf(index: number): string {
  return `52:54:02:${[(index >> 16) & 255, (index >> 8) & 255, index & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** A rescue shell that finds nothing to repair (SIMULATED: no SSH session is opened). */
const healthyShell: RescueShell = {
  diagnose: async () => ({ findings: [], report: { simulated: true } }),
  repair: async () => ({ results: [], after: { findings: [], report: { simulated: true } } }),
};

function millisecondsOf(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;
}

export default async function benchRescues(args: string[]): Promise<void> {
  const count = option(args, 'rescues', 500);
  const database = testDatabases().at(-1)!;
  console.log(`SIMULATION: ${count} machines (in-process BMC driver, network boot and phone-home over HTTP, a rescue shell that finds nothing); one worker; ${database.label}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`);
  const env = await startTestTemporal();
  const taskQueue = `bench-rescues-${randomBytes(4).toString('hex')}`;
  const api = await startTestApi(database, { temporal: { connection: env.connection, address: env.address, taskQueue }, rescueTimings: { phoneHomeTimeoutMs: 120_000, verifyTimeoutMs: 120_000 } });
  const os = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('SSH-2.0-simulated-os\r\n');
  });
  await new Promise<void>((resolve) => os.listen(0, '127.0.0.1', resolve));
  const osPort = (os.address() as { port: number }).port;

  const bootDevice = new Map<string, string>();
  const phoneHomes = { sent: 0, refused: 0 };
  async function networkBoot(mac: string): Promise<void> {
    const script = await (await fetch(`${api.url}/boot/ipxe/${mac}`)).text();
    const kernelLine = /^kernel (.*)$/m.exec(script)?.[1] ?? '';
    const callback = /rescued\.callback=(\S+)/.exec(kernelLine)?.[1];
    if (callback === undefined) return;
    const reply = await fetch(callback, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: /rescued\.token=(\S+)/.exec(kernelLine)?.[1], mac, ip: '127.0.0.1', sshHostKey: HOST_KEY, sshPort: 22 }) });
    await reply.text();
    if (reply.ok) phoneHomes.sent += 1;
    else phoneHomes.refused += 1;
  }
  const simulatedBmc = (target: BmcTarget): BmcDriver => {
    const mac = target.options.mac ?? '';
    return {
      name: 'bench-sim',
      getPowerState: async () => 'on' as PowerState,
      setBootDevice: async (request) => {
        bootDevice.set(mac, request.device);
      },
      setPowerState: async (action) => {
        if ((action === 'cycle' || action === 'on' || action === 'reset') && bootDevice.get(mac) === 'pxe') setTimeout(() => void networkBoot(mac).catch(() => (phoneHomes.refused += 1)), 20);
        return { commands: [`chassis power ${action}`], observedOff: true };
      },
    };
  };
  const registry = createDefaultRegistry().register(['bench-sim'], 'bench-sim', simulatedBmc);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../workflows/index.ts'),
    sinks: rescueMetricsSinks(),
    activities: createActivities({ inventory: api.inventory, databaseKind: database.label === 'postgres' ? 'postgres' : 'pglite', systemPower: createInventorySystemPower(api.inventory, { registry }), netboot: api.netboot.service, rescueShell: healthyShell, admission: createRefusingAdmission() }),
  });
  const running = worker.run();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  try {
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12', rescuePolicy: 'repair' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      if (reply.status !== 201) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    for (let i = 0; i <= count; i++) {
      const reply = await api.request('POST', '/api/v1/systems', {
        body: { name: `sim${i}`, profile: 'web', osFamily: 'debian', osVersion: '12', interfaces: [{ mac: macOf(i) }], labels: { 'rescued.verify': `tcp:127.0.0.1:${osPort}` }, power: [{ type: 'bench-sim', address: `sim${i}.bmc`, options: { mac: macOf(i), readback_interval: '0.05', cycle_settle: '0.1' } }] },
      });
      if (reply.status !== 201) throw new Error(`system sim${i}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }

    // Starts go through the production rescue client (10 s to answer each), 25 at a time, as an operator's
    // script or the guard's admission loop would send them; every rescue stays in flight until it ends.
    let starting = 0;
    const startSlot = async (): Promise<void> => {
      while (starting >= 25) await new Promise((resolve) => setTimeout(resolve, 5));
      starting += 1;
    };
    const rescue = async (system: string): Promise<string> => {
      await startSlot();
      let started: { workflowId: string };
      try {
        started = await api.rescues.start({ system, reason: 'bench', requestedBy: 'bench' });
      } finally {
        starting -= 1;
      }
      const result = (await env.client.workflow.getHandle(started.workflowId).result()) as { outcome?: string } | string;
      return typeof result === 'string' ? result : (result.outcome ?? JSON.stringify(result));
    };
    const aloneBegan = performance.now();
    const aloneOutcome = await rescue(`sim${count}`);
    const aloneMs = performance.now() - aloneBegan;
    console.log(`baseline: one rescue alone: ${aloneOutcome} in ${(aloneMs / 1000).toFixed(2)} s`);

    const began = performance.now();
    const outcomes = await Promise.all(Array.from({ length: count }, (_, i) => rescue(`sim${i}`).catch((error: Error) => `error: ${error.message}`)));
    const totalS = (performance.now() - began) / 1000;
    const byOutcome = new Map<string, number>();
    for (const outcome of outcomes) byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);

    const latencies: number[] = [];
    for await (const execution of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
      const history = await env.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const scheduled = new Map<string, number>();
      for (const event of history.events ?? []) {
        const id = String(event.eventId);
        if (event.workflowTaskScheduledEventAttributes) scheduled.set(id, millisecondsOf(event.eventTime));
        const attributes = event.workflowTaskStartedEventAttributes;
        if (attributes) {
          const at = scheduled.get(String(attributes.scheduledEventId));
          if (at !== undefined) latencies.push(millisecondsOf(event.eventTime) - at);
        }
      }
    }
    latencies.sort((a, b) => a - b);
    const failures = outcomes.filter((o) => o !== 'repaired').length;
    const rssMiB = peakRss / 1024 / 1024;
    console.log(`${count} rescues at once on one worker: ${totalS.toFixed(1)} s, ${(count / totalS).toFixed(1)} completed per second; outcomes ${JSON.stringify(Object.fromEntries(byOutcome))}`);
    console.log(`  phone-homes accepted ${phoneHomes.sent}, refused ${phoneHomes.refused}`);
    console.log(`  peak RSS of this process (worker + API + simulation): ${rssMiB.toFixed(0)} MiB`);
    console.log(`  workflow task schedule-to-start (${latencies.length} tasks, from the histories): p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`);
    console.log(`target: peak RSS <= 1024 MiB and no failure: ${rssMiB <= 1024 && failures === 0 ? 'met' : 'NOT met'} (${rssMiB.toFixed(0)} MiB, ${failures} not repaired)`);
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running.catch(() => undefined);
    os.close();
    await api.close();
    await env.teardown();
  }
}
