// Rescues in flight on the three-worker cluster: the real Temporal server (v1.29.1, built from its Go module)
// on PostgreSQL, two API processes (api/main.ts) and three worker processes (workers/worker.ts), as in
// test/integration/temporal-cluster.test.ts. The machines are SIMULATED (test/support/simulated-machine.ts):
// each boots by fetching its iPXE script from an API and phoning home (rescued's real HTTP routes and
// workflow signals), and one local sshd with a small disk image stands in for every rescue environment
// (diagnosis runs its real probes over SSH on that image). Each machine's BMC is, by default, a Redfish
// emulator in this process on its own port (test/support/emulated-redfish-bmc.ts), driven by rescued's real
// Redfish driver; `--bmc ipmi_sim` gives each a real ipmi_sim driven by ipmitool instead, which costs a
// process per BMC and a node process per chassis command (fine for a few dozen machines, not for 500).
//
//   npm run bench -- cluster [--rescues 500] [--bmc redfish|ipmi_sim] [--ssh-sessions 4]
//
// Baseline, in the same run and on the same cluster: one rescue alone. Figures: completed rescues per second,
// the workers' peak RSS, and workflow task latency (schedule-to-start and start-to-complete, from the
// histories). Target (issue #13): 500 in flight, no failure, each worker's RSS at most 1 GiB. Needs
// DATABASE_URL (a PostgreSQL role that may create databases).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startTemporalCluster } from '../test/support/temporal-cluster.js';
import { addFleetBasics, addFleetMachine, addRedfishFleetMachine, clusterRequest, createScratchDatabase, startRescuedCluster, type FleetMachine, type RescuedCluster } from '../test/support/rescued-cluster.js';
import { startSshd } from '../test/support/sshd.js';
import { createLabDisk } from '../lab/vm/disks.js';
import { loadavg } from 'node:os';
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

/** A rescue's failure, with the activity that failed when one did (e.g. "activity powerCycle: Heartbeat timeout"). */
function failureText(reason: unknown): string {
  const cause = (reason as { cause?: Error & { activityType?: string; cause?: Error } }).cause;
  if (cause === undefined) return String(reason);
  return `${cause.activityType ? `activity ${cause.activityType}: ` : ''}${cause.cause?.message ?? cause.message}`;
}

/** `work` on every item, at most `width` at once. */
async function inBatches<T>(items: T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;

/** Workflow task latencies of the given workflows, from their histories: schedule-to-start and start-to-complete, ms. */
async function workflowTaskLatencies(client: Client, workflowIds: string[]): Promise<{ toStart: number[]; toComplete: number[] }> {
  const toStart: number[] = [];
  const toComplete: number[] = [];
  await inBatches(workflowIds, 10, async (id) => {
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
  });
  return { toStart: toStart.sort((a, b) => a - b), toComplete: toComplete.sort((a, b) => a - b) };
}

interface BatchFigures {
  rescues: number;
  seconds: number;
  failed: number;
  rssPeak: number[];
  latency: { toStart: number[]; toComplete: number[] };
}

async function runBatch(cluster: RescuedCluster, client: Client, machines: Array<FleetMachine<unknown>>): Promise<BatchFigures> {
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
    // Started 25 at a time, as an operator's script or the guard's admission loop would send them; every
    // rescue stays in flight until it ends.
    await inBatches(machines, 25, async (machine, index) => {
      const reply = await clusterRequest(cluster, cluster.apiUrls[index % cluster.apiUrls.length]!, 'POST', '/api/v1/rescues', { system: machine.name, reason: 'bench' });
      if (reply.status !== 201) throw new Error(`start ${machine.name}: ${reply.status} ${JSON.stringify(reply.body)}`);
    });
    const results = await Promise.allSettled(machines.map((m) => client.workflow.getHandle(`rescue-${m.name}`).result() as Promise<RescueResult>));
    const seconds = (performance.now() - clock) / 1000;
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${machines[i]!.name}: ${failureText(r.reason)}`] : r.value.outcome !== 'repaired' ? [`${machines[i]!.name}: ${r.value.outcome} ${JSON.stringify(r.value.status.evidence)}`] : []));
    for (const failure of failures.slice(0, 3)) console.log(`  not repaired: ${failure.slice(0, 400)}`);
    if (failures.length > 3) console.log(`  ... and ${failures.length - 3} more`);
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
  const count = Number(argument(args, '--rescues') ?? 500);
  const bmcKind = argument(args, '--bmc') ?? 'redfish';
  const sshSessions = Number(argument(args, '--ssh-sessions') ?? 4);
  if (!Number.isInteger(sshSessions) || sshSessions < 1) throw new Error(`cluster: --ssh-sessions needs a positive whole number, got "${argument(args, '--ssh-sessions')}"`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`cluster: --rescues needs a positive whole number, got "${argument(args, '--rescues')}"`);
  if (bmcKind !== 'redfish' && bmcKind !== 'ipmi_sim') throw new Error(`cluster: --bmc is redfish or ipmi_sim, got "${bmcKind}"`);
  const temporal = await startTemporalCluster({ adminUrl });
  const database = await createScratchDatabase(adminUrl, 'rescued_bench');
  const work = await mkdtemp(join(tmpdir(), 'rescued-cluster-bench-'));
  let cluster: RescuedCluster | undefined;
  let connection: Connection | undefined;
  // One sshd stands in for every machine's rescue environment: it must take as many logins at once as they would.
  const sshd = await startSshd({ maxStartups: count + 10 });
  const machines: Array<FleetMachine<unknown>> = [];
  try {
    // One sshd on this machine's two cores plays every rescue environment, so each worker holds few sessions
    // at once (RESCUED_MAX_SSH_SESSIONS; 16 by default, where each session's probes run on its own machine).
    cluster = await startRescuedCluster({ temporalAddress: temporal.address, databaseUrl: database.url, apis: 2, workers: 3, extraEnv: { RESCUED_MAX_SSH_SESSIONS: String(sshSessions) } });
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace, dataConverter: cluster.dataConverter });
    const disk = await createLabDisk({ directory: work, sizeMiB: 16 });
    await addFleetBasics(cluster);
    const addMachine = bmcKind === 'redfish' ? addRedfishFleetMachine : addFleetMachine;
    await inBatches(Array.from({ length: count + 1 }, (_, index) => index), 8, async (index) => {
      machines[index] = await addMachine(cluster!, { name: `bench${String(index).padStart(4, '0')}`, apiUrl: cluster!.apiUrls[index % 2]!, sshd, disk: disk.path });
    });
    console.log(`cluster: Temporal ${temporal.version} (temporal-server built from its Go module) on PostgreSQL, 2 API processes, 3 worker processes holding ${sshSessions} SSH session(s) each; load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(
      bmcKind === 'redfish'
        ? `machines: ${count + 1} SIMULATED (each: a Redfish emulator in the bench process on its own port, driven by rescued's Redfish driver; network boot and phone-home through rescued's HTTP routes; one sshd and one 16 MiB disk image as every rescue environment)`
        : `machines: ${count + 1} SIMULATED (each: a real ipmi_sim BMC driven by ipmitool; network boot and phone-home through rescued's HTTP routes; one sshd and one 16 MiB disk image as every rescue environment)`,
    );
    console.log(`${'run'.padEnd(22)} ${'rescues'.padStart(7)} ${'wall s'.padStart(8)} ${'completed/s'.padStart(12)} ${'failed'.padStart(7)} ${'worker RSS peak MiB'.padStart(24)} ${'WFT sched→start'.padStart(16)} ${'WFT start→done'.padStart(16)}`);
    console.log(`${''.padEnd(22)} ${''.padStart(7)} ${''.padStart(8)} ${''.padStart(12)} ${''.padStart(7)} ${'each (sum)'.padStart(24)} ${'p50/p99 ms'.padStart(16)} ${'p50/p99 ms'.padStart(16)}`);
    console.log(line('baseline: 1 rescue', await runBatch(cluster, client, machines.slice(0, 1))));
    const loaded = await runBatch(cluster, client, machines.slice(1));
    console.log(line(`${count} in flight`, loaded));
    const worstRss = Math.max(...loaded.rssPeak);
    console.log(`target: ${count} in flight with no failure and each worker's RSS <= 1024 MiB: ${loaded.failed === 0 && worstRss <= 1024 ? 'met' : 'NOT met'} (${loaded.failed} failed, largest worker ${worstRss.toFixed(0)} MiB)`);
  } finally {
    await Promise.all(machines.filter((m) => m !== undefined).map((m) => m.stop()));
    await sshd.stop();
    await cluster?.stop();
    await connection?.close();
    await database.drop();
    await temporal.stop();
    await rm(work, { recursive: true, force: true });
  }
}
