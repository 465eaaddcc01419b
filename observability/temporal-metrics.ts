// The Temporal SDK's own worker metrics (task slots, poll latencies, workflow and activity task counts,
// sticky cache): Core's Prometheus exporter, installed with the Runtime, serves them on its own address.
// Our /metrics appends what that exporter answers, so one scrape of a process gets both.
import type { MetricsExporterConfig } from '@temporalio/worker';

export const DEFAULT_TEMPORAL_METRICS_ADDRESS = '127.0.0.1:9464';

/** Counters with _total, durations in seconds with their unit: the same conventions as ours. */
export function temporalPrometheusExporter(bindAddress: string): MetricsExporterConfig {
  return { metricPrefix: 'temporal_', prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } };
}

/** The exporter's exposition text; when it does not answer, a comment saying so (the scrape still succeeds). */
export async function readTemporalMetrics(bindAddress: string, timeoutMs = 2000): Promise<string> {
  const [host, port] = splitAddress(bindAddress);
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/metrics`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return `# the Temporal SDK's exporter at ${bindAddress} answered ${response.status}\n`;
    return await response.text();
  } catch (error) {
    return `# the Temporal SDK's exporter at ${bindAddress} did not answer (${(error as Error).message})\n`;
  }
}

/** "host:port" or "[v6]:port" into its host and port. */
export function splitAddress(address: string): [string, number] {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  if (match === null) throw new Error(`"${address}" is not an address like 127.0.0.1:9464`);
  return [match[1] ?? match[2] ?? '', Number(match[3])];
}
