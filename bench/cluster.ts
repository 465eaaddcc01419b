// Rescues in flight on the three-worker cluster: the real Temporal server (v1.29.1, built from its Go module)
// on PostgreSQL, two API processes (api/main.ts) and three worker processes (workers/worker.ts), as in
// test/integration/temporal-cluster.test.ts. The machines are SIMULATED (test/support/simulated-machine.ts):
// each has a real ipmi_sim BMC driven by ipmitool, boots by fetching its iPXE script from an API and phoning
// home, and one local sshd with a small disk image stands in for every rescue environment (diagnosis runs
// its real probes over SSH on that image).
//
//   npm run bench -- cluster [--rescues 16]
//
// Baseline, in the same run and on the same cluster: one rescue alone. Figures: completed rescues per second,
// the workers' peak RSS, and workflow task latency (schedule-to-start and start-to-complete, from the
// histories). Needs DATABASE_URL (a PostgreSQL role that may create databases).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startTemporalCluster } from '../test/support/temporal-cluster.js';
import { addFleetBasics, addFleetMachine, clusterRequest, createScratchDatabase, startRescuedCluster, type FleetMachine, type RescuedCluster } from '../test/support/rescued-cluster.js';
import { startSshd } from '../test/support/sshd.js';
import { createLabDisk } from '../lab/vm/disks.js';
import type { RescueResult } from '../workflows/rescue.js';

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

async function rssMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const kib = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return kib / 1024;
  } catch {
    return 0;
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;

/** Workflow task latencies of the given workflows, from their histories: schedule-to-start and start-to-complete, ms. */
async function workflowTaskLatencies(client: Client, workflowIds: string[]): Promise<{ toStart: number[]; toComplete: number[] }> {
  const toStart: number[] = [];
  const toComplete: number[] = [];
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const at = new Map<string, number>();
    for (const event of history.events ?? []) {
      const time = millis(event.eventTime);
      at.set(String(event.eventId), time);
      const started = event.workflowTaskStartedEventAttributes;
      if (started) toStart.push(time - (at.get(String(started.scheduledEventId)) ?? time));
      const completed = event.workflowTaskCompletedEventAttributes;
      if (completed) toComplete.push(time - (at.get(String(completed.startedEventId)) ?? time));
    }
  }
  return { toStart: toStart.sort((a, b) => a - b), toComplete: toComplete.sort((a, b) => a - b) };
}

interface BatchFigures {
  rescues: number;
  seconds: number;
  failed: number;
  rssPeak: number[];
  latency: { toStart: number[]; toComplete: number[] };
}

async function runBatch(cluster: RescuedCluster, client: Client, machines: FleetMachine[]): Promise<BatchFigures> {
  const rssPeak = cluster.workers.map(() => 0);
  const sampler = setInterval(() => {
    cluster.workers.forEach((worker, index) => {
      void rssMiB(worker.child.pid).then((mib) => {
        rssPeak[index] = Math.max(rssPeak[index]!, mib);
      });
    });
  }, 500);
  const clock = performance.now();
  try {
    await Promise.all(
      machines.map(async (machine, index) => {
        const reply = await clusterRequest(cluster, cluster.apiUrls[index % cluster.apiUrls.length]!, 'POST', '/api/v1/rescues', { system: machine.name, reason: 'bench' });
        if (reply.status !== 201) throw new Error(`start ${machine.name}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }),
    );
    const results = await Promise.allSettled(machines.map((m) => client.workflow.getHandle(`rescue-${m.name}`).result() as Promise<RescueResult>));
    const seconds = (performance.now() - clock) / 1000;
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${machines[i]!.name}: ${String((r.reason as Error & { cause?: Error }).cause?.message ?? r.reason)}`] : r.value.outcome !== 'repaired' ? [`${machines[i]!.name}: ${r.value.outcome} ${JSON.stringify(r.value.status.evidence)}`] : []));
    for (const failure of failures.slice(0, 3)) console.log(`  not repaired: ${failure.slice(0, 400)}`);
    const failed = failures.length;
    return { rescues: machines.length, seconds, failed, rssPeak, latency: await workflowTaskLatencies(client, machines.map((m) => `rescue-${m.name}`)) };
  } finally {
    clearInterval(sampler);
  }
}

function line(label: string, figures: BatchFigures): string {
  const { toStart, toComplete } = figures.latency;
  return [
    label.padEnd(22),
    String(figures.rescues).padStart(7),
    figures.seconds.toFixed(1).padStart(8),
    (figures.rescues / figures.seconds).toFixed(2).padStart(12),
    String(figures.failed).padStart(7),
    `${figures.rssPeak.map((m) => m.toFixed(0)).join('/')} (${figures.rssPeak.reduce((a, b) => a + b, 0).toFixed(0)})`.padStart(24),
    `${percentile(toStart, 50).toFixed(0)}/${percentile(toStart, 99).toFixed(0)}`.padStart(16),
    `${percentile(toComplete, 50).toFixed(0)}/${percentile(toComplete, 99).toFixed(0)}`.padStart(16),
  ].join(' ');
}

export default async function clusterBench(args: string[]): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    console.log('cluster: skipped, needs DATABASE_URL (a PostgreSQL role that may create databases)');
    return;
  }
  const count = Number(argument(args, '--rescues') ?? 16);
  const temporal = await startTemporalCluster({ adminUrl });
  const database = await createScratchDatabase(adminUrl, 'rescued_bench');
  const work = await mkdtemp(join(tmpdir(), 'rescued-cluster-bench-'));
  let cluster: RescuedCluster | undefined;
  let connection: Connection | undefined;
  const sshd = await startSshd();
  const machines: FleetMachine[] = [];
  try {
    cluster = await startRescuedCluster({ temporalAddress: temporal.address, databaseUrl: database.url, apis: 2, workers: 3 });
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const disk = await createLabDisk({ directory: work, sizeMiB: 16 });
    await addFleetBasics(cluster);
    for (let index = 0; index <= count; index++) {
      machines.push(await addFleetMachine(cluster, { name: `bench${String(index).padStart(4, '0')}`, apiUrl: cluster.apiUrls[index % 2]!, sshd, disk: disk.path }));
    }
    console.log(`cluster: Temporal ${temporal.version} (temporal-server built from its Go module) on PostgreSQL, 2 API processes, 3 worker processes`);
    console.log('machines: SIMULATED (real ipmi_sim BMC each, simulated network boot and phone-home, one sshd and one 16 MiB disk image as every rescue environment)');
    console.log(`${'run'.padEnd(22)} ${'rescues'.padStart(7)} ${'wall s'.padStart(8)} ${'completed/s'.padStart(12)} ${'failed'.padStart(7)} ${'worker RSS peak MiB'.padStart(24)} ${'WFT sched→start'.padStart(16)} ${'WFT start→done'.padStart(16)}`);
    console.log(`${''.padEnd(22)} ${''.padStart(7)} ${''.padStart(8)} ${''.padStart(12)} ${''.padStart(7)} ${'each (sum)'.padStart(24)} ${'p50/p99 ms'.padStart(16)} ${'p50/p99 ms'.padStart(16)}`);
    console.log(line('baseline: 1 rescue', await runBatch(cluster, client, machines.slice(0, 1))));
    console.log(line(`${count} in flight`, await runBatch(cluster, client, machines.slice(1))));
  } finally {
    await Promise.all(machines.map((m) => m.stop()));
    await sshd.stop();
    await cluster?.stop();
    await connection?.close();
    await database.drop();
    await temporal.stop();
    await rm(work, { recursive: true, force: true });
  }
}
