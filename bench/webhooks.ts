// `npm run bench -- webhooks [--rate N] [--seconds M] [--machines K] [--warmup S] [--cpu-profile FILE]
//   [--temporal HOST:PORT [--namespace NS] [--temporal-metrics URL]]`: Alertmanager
// deliveries at N alerts per second for M seconds over K machines, through the API as `npm start` builds it
// (receiver, guard admission under its database lock, rescue start) on the real Temporal dev server, or on the
// Temporal server at HOST:PORT (bench/support/bench-temporal.ts); figures
// are accepted/s and the latency from request to workflow started (the reply comes once Temporal took the
// start). Next to it, in the same run, a bare `client.workflow.start` loop at the same rate: the baseline, and
// the ratio; then the same deliveries in dry run over machines of their own (the guard decides and everything
// is recorded, nothing goes to Temporal): the path's own cost, without the start and the Temporal server's
// load on the machine. The deliveries come from a process of their own (as Alertmanager's would); the API process's
// event-loop busy share and CPU time per call say what each path costs when the machine's load makes
// latencies say more about the scheduler than about the code. No worker runs: starts are measured, not
// rescues. Last, where the machine's CPU went in each run, by process (bench/support/machine-cpu.ts): on a
// saturated machine that is what the latencies measure; and where a delivery's time went in the API, by stage
// (lookup, admission, temporal, record), from its histogram rescued_alert_intake_stage_seconds; and the
// Temporal server's own time for the starts of each run, from its metrics (bench/support/temporal-start-latency.ts);
// and its garbage collections during each run, with how many of the run's slowest 1% were in flight during one
// (bench/support/gc-cycles.ts).
// Target: p99 <= 50 ms at 200/s, and <= 1.3x the bare start; the verdict, and whether each run kept its rate
// (a run that fell behind measures its backlog), in bench/support/webhook-verdict.ts.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AlertSenderJob, AlertSenderResult } from './support/alert-sender.js';
import { startTestApi } from '../test/support/api.js';
import { testDatabases } from '../test/support/databases.js';
import { alertmanagerPayload } from '../test/support/triggers-lab.js';
import { systemCreate } from '../inventory/schemas.js';
import { describeStartLatency } from './support/temporal-start-latency.js';
import { describeGcDuring, observeV8Pauses, type TimedCall } from './support/gc-cycles.js';
import { startBenchTemporal } from './support/bench-temporal.js';
import { describeMachineCpu, measureMachineCpu, type MachineCpu } from './support/machine-cpu.js';
import { rescueStartOptions } from '../rescue/rescue-client.js';
import { acceptedRate, describeRatio, keptRate, webhookVerdict } from './support/webhook-verdict.js';
import { ALERT_INTAKE_STAGES, ALERT_INTAKE_STAGE_METRIC, metricsRegistry } from '../observability/metrics.js';

/** The API's stage histogram (rescued_alert_intake_stage_seconds) as cumulative bucket counts and sums, by stage. */
type StageSnapshot = Map<string, { count: number; sum: number; buckets: Map<number, number> }>;
async function stageSnapshot(): Promise<StageSnapshot> {
  const snapshot: StageSnapshot = new Map();
  const metric = metricsRegistry.getSingleMetric(ALERT_INTAKE_STAGE_METRIC);
  for (const value of (await metric?.get())?.values ?? []) {
    const name = (value as { metricName?: string }).metricName ?? '';
    const stage = String(value.labels.stage);
    const entry = snapshot.get(stage) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    if (name.endsWith('_count')) entry.count = value.value;
    else if (name.endsWith('_sum')) entry.sum = value.value;
    else if (value.labels.le !== undefined && value.labels.le !== '+Inf') entry.buckets.set(Number(value.labels.le), value.value);
    snapshot.set(stage, entry);
  }
  return snapshot;
}

/** Each stage's mean and the bucket bounds of its p50 and p99, over what happened between the two snapshots. */
function describeStages(before: StageSnapshot, after: StageSnapshot): string[] {
  return ALERT_INTAKE_STAGES.map((stage) => {
    const a = after.get(stage);
    const b = before.get(stage);
    const count = (a?.count ?? 0) - (b?.count ?? 0);
    if (a === undefined || count === 0) return `${stage.padEnd(10)} none`;
    const bound = (p: number) => {
      for (const [le, cumulative] of [...a.buckets].sort((x, y) => x[0] - y[0])) {
        if (cumulative - (b?.buckets.get(le) ?? 0) >= p * count) return `<= ${le * 1000} ms`;
      }
      return '> 5 s';
    };
    return `${stage.padEnd(10)} mean ${((((a.sum - (b?.sum ?? 0)) / count) * 1000).toFixed(1)).padStart(5)} ms   p50 ${bound(0.5).padEnd(10)} p99 ${bound(0.99)}`;
  });
}

/** `--name N`: a positive number, or with `zeroAllowed` one that may also be 0. */
function option(args: string[], name: string, fallback: number, zeroAllowed = false): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    console.error(`bench webhooks: --${name} needs a ${zeroAllowed ? 'number, 0 or more' : 'positive number'}, got "${args[at + 1]}"`);
    process.exit(2);
  }
  return value;
}

/** `--name TEXT`, or undefined when not given; a flag without its text ends the bench with a clear error. */
function textOption(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--') || value === '') {
    console.error(`bench webhooks: --${name} needs a value`);
    process.exit(2);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `--cpu-profile FILE`: a V8 CPU profile of this process while the webhooks are measured (chrome://inspect). */
async function profiled<T>(file: string | undefined, run: () => Promise<T>): Promise<T> {
  if (file === undefined) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the webhook run written to ${file}`);
  }
}

interface Run {
  latencies: number[];
  /** Each call: when it was sent (milliseconds since the epoch) and its latency. */
  timeline: TimedCall[];
  accepted: number;
  elapsedS: number;
  /** This thread's event loop (the API's, and the bare loop's Temporal client): share busy. */
  busy: number;
  /** This process's CPU time (every thread: the API, its database and Temporal clients, GC) per call. */
  cpuMsPerCall: number;
}

/** Measures this thread's event loop while `run` goes. */
async function loopMeasured(count: number, run: () => Promise<Omit<Run, 'busy' | 'cpuMsPerCall'>>): Promise<Run> {
  const before: EventLoopUtilization = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const result = await run();
  const cpu = process.cpuUsage(cpuBefore);
  return { ...result, busy: performance.eventLoopUtilization(before).utilization, cpuMsPerCall: (cpu.user + cpu.system) / 1000 / count };
}

/** The webhook deliveries, sent from a process of their own (bench/support/alert-sender.ts). */
function sendAlerts(job: AlertSenderJob, onStarted?: (pid: number | undefined) => void): Promise<AlertSenderResult> {
  return new Promise((resolve, reject) => {
    const sender = fork(fileURLToPath(new URL('./support/alert-sender.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    onStarted?.(sender.pid);
    sender.once('message', (result: AlertSenderResult) => resolve(result));
    sender.once('error', reject);
    sender.once('exit', (code) => reject(new Error(`bench webhooks: the alert sender exited with code ${code} before its result`)));
    sender.send(job);
  });
}

/** Fires `count` calls at `rate` per second (open loop: a slow call does not slow the schedule). */
async function atRate(rate: number, count: number, call: (index: number) => Promise<boolean>): Promise<Omit<Run, 'busy' | 'cpuMsPerCall'>> {
  const latencies: number[] = [];
  const timeline: TimedCall[] = [];
  let accepted = 0;
  const began = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let index = 0; index < count; index++) {
    const due = began + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    pending.push(
      call(index).then((ok) => {
        const took = performance.now() - sent;
        latencies.push(took);
        timeline.push([performance.timeOrigin + sent, took]);
        if (ok) accepted += 1;
      }),
    );
  }
  await Promise.all(pending);
  return { latencies: latencies.sort((a, b) => a - b), timeline, accepted, elapsedS: (performance.now() - began) / 1000 };
}

export default async function benchWebhooks(args: string[]): Promise<void> {
  const rate = option(args, 'rate', 200);
  const seconds = option(args, 'seconds', 10);
  const count = Math.round(rate * seconds);
  const machines = Math.round(option(args, 'machines', count));
  const warmupSeconds = option(args, 'warmup', 3, true);
  const profileFile = textOption(args, 'cpu-profile');
  const database = testDatabases().at(-1)!;
  const scratch = await mkdtemp(join(tmpdir(), 'bench-webhooks-'));
  // This run's tag, in its machines' names, workflow IDs and task queue: a server elsewhere keeps earlier runs'.
  const tag = randomBytes(3).toString('hex');
  const taskQueue = `bench-${tag}`;
  const temporal = await startBenchTemporal({ address: textOption(args, 'temporal'), namespace: textOption(args, 'namespace'), metricsUrl: textOption(args, 'temporal-metrics'), taskQueue, scratch }).catch(async (error: Error) => {
    await rm(scratch, { recursive: true, force: true });
    console.error(error.message);
    process.exit(2);
  });
  const serverStarts = temporal.serverStarts;
  const api = await startTestApi(database, { temporal: { connection: temporal.connection, address: temporal.address, namespace: temporal.namespace, taskQueue } });
  // The start the API makes for an admitted alert (the same options: search attribute, summary, details), here
  // without the webhook path before it.
  const bareStart = (system: string) =>
    temporal.client.workflow.start('rescueWorkflow', { ...rescueStartOptions(taskQueue, { system, reason: 'bench', requestedBy: 'automation:alertmanager' }), workflowIdConflictPolicy: 'FAIL' });
  try {
    await api.request('POST', '/api/v1/distros', { body: { name: 'bench', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' } });
    await api.request('POST', '/api/v1/profiles', { body: { name: 'bench', distro: 'bench' } });
    const warmCount = Math.round(rate * warmupSeconds);
    console.log(`setting up ${machines} machines, as many for the dry run and ${warmCount} to warm up on (database: ${database.label}, ${temporal.label}, no worker)...`);
    const createMachines = async (prefix: string, total: number, macByte: number) => {
      for (let start = 0; start < total; start += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, total - start) }, (_, i) => {
            const n = start + i;
            return api.inventory.systems.create(
              systemCreate.parse({ name: `${prefix}${n}`, profile: 'bench', interfaces: [{ mac: `52:54:${macByte.toString(16).padStart(2, '0')}:${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}` }] }),
              { name: 'bench' },
            );
          }),
        );
      }
    };
    await createMachines(`b${tag}-`, machines, 2);
    await createMachines(`w${tag}-`, warmCount, 3);
    await createMachines(`d${tag}-`, machines, 4);
    const token = (await api.request('POST', '/api/v1/tokens', { body: { name: 'bench', role: 'webhook' } })).body.token as string;
    // Caps out of the way: this measures the path, not the policy.
    const settings = await api.request('PATCH', '/api/v1/automation/settings', { body: { maxInFlight: 100_000, maxPerGroup: {}, brakeShare: 1, correlationHoldMs: 0, cooldownMs: 0, maxCyclesPerHour: 100_000 } });
    if (settings.status !== 200) throw new Error(`bench webhooks: the guard's settings were refused: ${JSON.stringify(settings.body)}`);
    // Warm both paths before measuring, at the measured rate over machines of their own: connections, and the
    // JIT, which otherwise spends the first seconds compiling what it then measures (a server runs warm).
    await api.request('POST', '/hooks/alertmanager', { body: alertmanagerPayload([{ labels: { instance: 'nobody:1' } }]), token });
    if (warmCount > 0) {
      const warmBodies = Array.from({ length: warmCount }, (_, index) => JSON.stringify(alertmanagerPayload([{ labels: { instance: `w${tag}-${index}:9100` }, fingerprint: `warm${index}` }])));
      await sendAlerts({ url: api.url, token, rate, bodies: warmBodies });
    }
    await atRate(rate, Math.max(1, warmCount), (index) => bareStart(`warm${tag}-${index}`).then(() => true));

    const bodies = Array.from({ length: count }, (_, index) => JSON.stringify(alertmanagerPayload([{ labels: { instance: `b${tag}-${index % machines}:9100` }, fingerprint: `bench${index}` }])));
    /** Sends `payloads` from the sender's process and measures the run: the machine's CPU by process, the decisions, the API's stage histogram around it. */
    const deliver = async (payloads: string[]) => {
      let cpu: MachineCpu | undefined;
      let decisions = new Map<string, number>();
      let stagesBefore: StageSnapshot = new Map();
      let stagesAfter: StageSnapshot = new Map();
      const run = await loopMeasured(count, async () => {
        const measureCpu = measureMachineCpu();
        stagesBefore = await stageSnapshot();
        let senderPid: number | undefined;
        const sent = await sendAlerts({ url: api.url, token, rate, bodies: payloads }, (pid) => (senderPid = pid));
        cpu = measureCpu({ 'this process (the API)': process.pid, 'sender': senderPid });
        stagesAfter = await stageSnapshot();
        decisions = new Map(sent.decisions);
        return sent;
      });
      return { run, cpu: cpu!, decisions, stagesBefore, stagesAfter };
    };
    const serverBeforeHooks = await serverStarts?.();
    const apiPausesDone = observeV8Pauses();
    const hooks = await profiled(profileFile, () => deliver(bodies));
    const apiPauses = apiPausesDone();
    const serverAfterHooks = await serverStarts?.();
    let bareCpu: MachineCpu | undefined;
    const bare = await loopMeasured(count, async () => {
      const cpu = measureMachineCpu();
      const run = await atRate(rate, count, (index) => bareStart(`bare${tag}-${index}`).then(() => true));
      bareCpu = cpu({ 'this process (the bare loop)': process.pid });
      return run;
    });
    const serverAfterBare = await serverStarts?.();
    // Last, the same deliveries in dry run over machines of their own: the guard decides and everything is
    // recorded, but nothing goes to Temporal. What the path costs without the start, and without the Temporal
    // server's load on the machine.
    const dry = await api.request('PATCH', '/api/v1/automation/settings', { body: { dryRun: true } });
    if (dry.status !== 200) throw new Error(`bench webhooks: dry run was refused: ${JSON.stringify(dry.body)}`);
    const dryBodies = Array.from({ length: count }, (_, index) => JSON.stringify(alertmanagerPayload([{ labels: { instance: `d${tag}-${index % machines}:9100` }, fingerprint: `dry${index}` }])));
    const dryRun = await deliver(dryBodies);
    const row = (name: string, run: Run) =>
      `${name.padEnd(36)} ${(run.accepted / run.elapsedS).toFixed(0).padStart(10)} ${percentile(run.latencies, 50).toFixed(1).padStart(9)} ${percentile(run.latencies, 99).toFixed(1).padStart(9)} ${run.latencies.at(-1)!.toFixed(1).padStart(9)} ${`${Math.round(run.busy * 100)}%`.padStart(9)} ${run.cpuMsPerCall.toFixed(2).padStart(11)}`;
    console.log(`\n${count} alerts at ${rate}/s for ${seconds} s over ${machines} machines (each alert ${machines >= count ? 'starts a rescue' : 'starts or joins a rescue'})`);
    console.log(`${'path'.padEnd(36)} ${'accepted/s'.padStart(10)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)} ${'loop busy'.padStart(9)} ${'CPU ms/call'.padStart(11)}`);
    console.log(row('webhook -> guard -> workflow start', hooks.run));
    console.log(row('bare client.workflow.start', bare));
    console.log(row('webhook -> guard, dry run (no start)', dryRun.run));
    const figures = (run: Run) => ({ count, accepted: run.accepted, elapsedS: run.elapsedS, p99Ms: percentile(run.latencies, 99) });
    const [hooksFigures, bareFigures] = [figures(hooks.run), figures(bare)];
    console.log(describeRatio(rate, hooksFigures, bareFigures));
    for (const [name, run] of [['webhook', hooksFigures], ['bare', bareFigures], ['dry', figures(dryRun.run)]] as const) {
      if (!keptRate(run, rate)) console.log(`the ${name} run did not keep ${rate}/s: ${acceptedRate(run).toFixed(0)}/s, ${run.accepted} of ${count} accepted; its latencies include its backlog`);
    }
    console.log(webhookVerdict(rate, hooksFigures, bareFigures));
    console.log(`machine load (1 min): ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
    console.log(`CPU during the webhook run: ${describeMachineCpu(hooks.cpu)}`);
    console.log(`CPU during the bare run:    ${describeMachineCpu(bareCpu!)}`);
    console.log(`CPU during the dry run:     ${describeMachineCpu(dryRun.cpu)}`);
    if (serverBeforeHooks !== undefined && serverAfterHooks !== undefined && serverAfterBare !== undefined) {
      console.log(`the Temporal server's own time per start (service_latency of StartWorkflowExecution, bucket bounds):`);
      console.log(`  webhook run: ${describeStartLatency(serverBeforeHooks, serverAfterHooks)}`);
      console.log(`  bare run:    ${describeStartLatency(serverAfterHooks, serverAfterBare)}`);
    } else {
      console.log(`the Temporal server's own time per start: not read (its metrics are not known: --temporal-metrics URL)`);
    }
    console.log(`where a delivery's time went in the API (${ALERT_INTAKE_STAGE_METRIC}; temporal and record run side by side):`);
    for (const line of describeStages(hooks.stagesBefore, hooks.stagesAfter)) console.log(`  ${line}`);
    const cycles = await temporal.gcCycles?.();
    if (cycles !== undefined) {
      console.log(`the Temporal server's garbage collections (Go, GODEBUG=gctrace=1), and the slowest 1% of each run:`);
      console.log(`  webhook run: ${describeGcDuring(cycles, hooks.run.timeline)}`);
      console.log(`  bare run:    ${describeGcDuring(cycles, bare.timeline)}`);
      console.log(`  dry run:     ${describeGcDuring(cycles, dryRun.run.timeline)}`);
    }
    console.log(`the API process's own garbage-collection pauses of 10 ms or more (V8) during the webhook run: ${describeGcDuring(apiPauses, hooks.run.timeline)}`);
    console.log(`decisions: ${[...hooks.decisions].map(([d, n]) => `${d} ${n}`).join(', ')}; in the dry run: ${[...dryRun.decisions].map(([d, n]) => `${d} ${n}`).join(', ')}`);
  } finally {
    await api.close();
    await temporal.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
