// The process's Prometheus metrics: one registry, every metric of ours named here with the rescued_ prefix and
// its unit in its name, and one small function per thing that is observed, called where it happens (the power
// chain, the TFTP server, the webhook routes, the guard, the worker's rescue sinks). Labels take values from
// small fixed sets only (outcomes, step names, driver names, failure kinds), never a machine's name.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'rescued_' });

const registers = [metricsRegistry];

const rescues = new Counter({
  name: 'rescued_rescues_total',
  help: 'Rescues ended, by outcome (repaired, reinstalled, needs-attention, unverified, resolved-before-action, aborted, failed).',
  labelNames: ['outcome'] as const,
  registers,
});

const stepDuration = new Histogram({
  name: 'rescued_rescue_step_duration_seconds',
  help: "Time a rescue spent in each step (workflow time), by step and how the step ended (done, interrupted).",
  labelNames: ['step', 'outcome'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
  registers,
});

const bmcCalls = new Counter({
  name: 'rescued_bmc_calls_total',
  help: 'Calls made to BMCs (every ipmitool run, Redfish request, fence agent run), by driver and result (ok, or the failure kind).',
  labelNames: ['driver', 'result'] as const,
  registers,
});

const bmcCallDuration = new Histogram({
  name: 'rescued_bmc_call_duration_seconds',
  help: 'Duration of BMC calls, by driver and result.',
  labelNames: ['driver', 'result'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers,
});

const tftpTransfers = new Counter({
  name: 'rescued_tftp_transfers_total',
  help: 'TFTP read requests that ended, by outcome (complete, error, timeout, aborted).',
  labelNames: ['outcome'] as const,
  registers,
});

const tftpBytes = new Counter({
  name: 'rescued_tftp_sent_bytes_total',
  help: 'File bytes sent over TFTP and acknowledged by the client.',
  registers,
});

const tftpErrors = new Counter({
  name: 'rescued_tftp_errors_total',
  help: 'TFTP requests and packets that ended in an error, by TFTP error kind (file-not-found, access-violation, ...; timeout when the client went silent).',
  labelNames: ['kind'] as const,
  registers,
});

const webhookRequests = new Counter({
  name: 'rescued_webhook_requests_total',
  help: 'Deliveries to the webhook receivers, by receiver (alertmanager, generic) and HTTP status code.',
  labelNames: ['receiver', 'code'] as const,
  registers,
});

/**
 * The stages of an alert delivery (webhook or poller), in order: the lookup of the machines its alerts name;
 * admission, until the guard's decisions are committed; temporal, from then until Temporal answered the
 * admitted starts (and the resolved alerts' signals); record, from the commit until the alerts are recorded,
 * which runs while the starts are on their way.
 */
export const ALERT_INTAKE_STAGES = ['lookup', 'admission', 'temporal', 'record'] as const;
export type AlertIntakeStage = (typeof ALERT_INTAKE_STAGES)[number];
export const ALERT_INTAKE_STAGE_METRIC = 'rescued_alert_intake_stage_seconds';

const alertIntakeStages = new Histogram({
  name: ALERT_INTAKE_STAGE_METRIC,
  help: "Where an alert delivery's time goes, by stage: lookup (the machines its alerts name), admission (until the guard's decisions are committed), temporal (from then until Temporal answered the admitted starts), record (from the commit until the alerts are recorded, beside the starts).",
  labelNames: ['stage'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers,
});

const guardDecisions = new Counter({
  name: 'rescued_guard_decisions_total',
  help: "The guard's admission decisions for automatic rescues, by source, phase (intake, queue) and decision (started, joined, deferred, refused, dry-run).",
  labelNames: ['source', 'phase', 'decision'] as const,
  registers,
});

/** What the capacity gauges read at scrape time: the guard's own counts and settings in the database. */
export interface RescueCapacitySource {
  counts(): Promise<{ inFlight: number; waiting: number; openIncidents: number }>;
  settings(): Promise<{ settings: { maxInFlight: number; maxPerGroup: Record<string, number>; dryRun: boolean }; pause: { paused: boolean } }>;
}

let capacitySource: RescueCapacitySource | undefined;
let capacityRead: Promise<Awaited<ReturnType<typeof readCapacity>>> | undefined;

async function readCapacity(source: RescueCapacitySource) {
  const [counts, { settings, pause }] = await Promise.all([source.counts(), source.settings()]);
  return { counts, settings, paused: pause.paused };
}

/** One read of the database per scrape, shared by the gauges; a database that does not answer leaves them empty. */
async function capacity() {
  if (capacitySource === undefined) return undefined;
  capacityRead ??= readCapacity(capacitySource).finally(() => setImmediate(() => (capacityRead = undefined)));
  return capacityRead.catch(() => undefined);
}

function capacityGauge(name: string, help: string, read: (c: NonNullable<Awaited<ReturnType<typeof capacity>>>) => number) {
  return new Gauge({
    name,
    help,
    registers,
    async collect() {
      this.reset();
      const now = await capacity();
      if (now !== undefined) this.set(read(now));
    },
  });
}

capacityGauge('rescued_rescues_in_flight', 'Rescues in flight now (open runs and admitted rescues; the fleet-wide figure from the database).', (c) => c.counts.inFlight);
capacityGauge('rescued_rescues_waiting', 'Automatic rescues deferred by the guard, waiting in the queue.', (c) => c.counts.waiting);
capacityGauge('rescued_guard_max_in_flight', "The guard's cap on rescues in flight (maxInFlight).", (c) => c.settings.maxInFlight);
capacityGauge('rescued_guard_open_incidents', 'Correlated-failure incidents open (a group held as one incident).', (c) => c.counts.openIncidents);
capacityGauge('rescued_automation_paused', '1 while automation is paused (by an operator or the blind-monitoring brake), else 0.', (c) => (c.paused ? 1 : 0));
capacityGauge('rescued_guard_dry_run', '1 while the guard only records what it would do (dryRun), else 0.', (c) => (c.settings.dryRun ? 1 : 0));
new Gauge({
  name: 'rescued_guard_max_per_group',
  help: "The guard's cap on rescues in flight per group, by group label (maxPerGroup).",
  labelNames: ['label'] as const,
  registers,
  async collect() {
    this.reset();
    const now = await capacity();
    for (const [label, max] of Object.entries(now?.settings.maxPerGroup ?? {})) this.set({ label }, max);
  },
});

/** The guard's store the capacity gauges read (the process's inventory; the last one given wins). */
export function watchRescueCapacity(source: RescueCapacitySource): void {
  capacitySource = source;
}

export function observeRescueEnded(outcome: string): void {
  rescues.inc({ outcome });
}

export function observeRescueStep(step: string, outcome: string, seconds: number): void {
  if (Number.isFinite(seconds) && seconds >= 0) stepDuration.observe({ step, outcome }, seconds);
}

/** One call the power chain recorded; `count` repeated reads count as that many calls. */
export function observeBmcCall(driver: string, call: { elapsedMs: number; count?: number; failure?: { kind: string } }): void {
  const result = call.failure?.kind ?? 'ok';
  const times = call.count ?? 1;
  bmcCalls.inc({ driver, result }, times);
  for (let i = 0; i < times; i += 1) bmcCallDuration.observe({ driver, result }, call.elapsedMs / 1000 / times);
}

export function observeTftpTransfer(report: { outcome: string; bytesTransferred: number; error?: { kind: string } }): void {
  tftpTransfers.inc({ outcome: report.outcome });
  if (report.bytesTransferred > 0) tftpBytes.inc(report.bytesTransferred);
  if (report.outcome === 'timeout') tftpErrors.inc({ kind: 'timeout' });
  else if (report.outcome !== 'complete') tftpErrors.inc({ kind: report.error?.kind ?? report.outcome });
}

/** A packet on the server port that was not a request (answered with an ERROR, no transfer). */
export function observeTftpRejectedPacket(kind: string): void {
  tftpErrors.inc({ kind });
}

export function observeWebhookRequest(receiver: string, statusCode: number): void {
  webhookRequests.inc({ receiver, code: String(statusCode) });
}

export function observeAlertIntakeStage(stage: AlertIntakeStage, seconds: number): void {
  alertIntakeStages.observe({ stage }, seconds);
}

export function observeGuardDecision(source: string, phase: 'intake' | 'queue', decision: string): void {
  guardDecisions.inc({ source, phase, decision });
}

/** The names of every metric of ours in the registry (the rules and the dashboard may use only these). */
export async function registeredMetricNames(): Promise<string[]> {
  return (await metricsRegistry.getMetricsAsJSON()).map((metric) => metric.name);
}
