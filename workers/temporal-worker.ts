// Our Temporal worker: the workflows in workflows/ and the activities built over the inventory.
import { createRequire } from 'node:module';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities/index.js';
import type { ListenAddress } from '../config/environment.js';
import { consoleLog } from '../observability/console.js';
import { rescueMetricsSinks } from '../observability/rescue-sinks.js';
import { temporalPrometheusExporter } from '../observability/temporal-metrics.js';

const require = createRequire(import.meta.url);

/**
 * The Temporal SDK logs bundling and state changes at INFO; ours shows them only when debugging. Its worker
 * metrics go to a Prometheus exporter at `metrics` (RESCUED_TEMPORAL_METRICS_ADDRESS), which our /metrics
 * includes. A default address that is taken (another rescued on this host) only costs those metrics, with a
 * warning; an address the operator chose must work. Returns the exporter's address, when it runs.
 */
export function installTemporalRuntime(logLevel: string, metrics?: ListenAddress | undefined): string | undefined {
  const level: LogLevel = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : 'WARN';
  const logger = new DefaultLogger(level);
  if (metrics !== undefined) {
    try {
      Runtime.install({ logger, telemetryOptions: { metrics: temporalPrometheusExporter(metrics.address) } });
      return metrics.address;
    } catch (error) {
      const reason = `the Temporal SDK's metrics exporter cannot listen on ${metrics.address} (${(error as Error).message})`;
      if (metrics.configured) throw new Error(`RESCUED_TEMPORAL_METRICS_ADDRESS: ${reason}; choose another address, or off`);
      consoleLog().warn(`temporal: ${reason}; the worker runs without its SDK metrics (set RESCUED_TEMPORAL_METRICS_ADDRESS to another address)`);
    }
  }
  Runtime.install({ logger });
  return undefined;
}

export async function createRescueWorker(options: {
  address: string;
  namespace: string;
  taskQueue: string;
  dependencies: ActivityDependencies;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: require.resolve('../workflows/index.ts'),
    activities: createActivities(options.dependencies),
    // Rescues by outcome and step durations, from the workflow's metrics sink.
    sinks: rescueMetricsSinks(),
    // Rescue workflows wait for hours; keep the cache modest on a small control host.
    maxCachedWorkflows: 200,
  });
  return { worker, connection };
}
