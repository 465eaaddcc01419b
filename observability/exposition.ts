// What a scrape of /metrics answers: this process's registry, then the Temporal SDK's exporter when this
// process runs a worker with it installed.
import { metricsRegistry } from './metrics.js';
import { readTemporalMetrics } from './temporal-metrics.js';

export interface MetricsExposition {
  contentType: string;
  body: string;
}

export async function metricsExposition(options: { temporalExporter?: string | undefined } = {}): Promise<MetricsExposition> {
  const ours = await metricsRegistry.metrics();
  const theirs = options.temporalExporter === undefined ? '' : await readTemporalMetrics(options.temporalExporter);
  return { contentType: metricsRegistry.contentType, body: theirs === '' ? ours : `${ours}\n${theirs}` };
}
