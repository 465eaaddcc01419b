// Our Temporal worker: the workflows in workflows/ and the activities built over the inventory.
import { createRequire } from 'node:module';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { createActivities, type ActivityDependencies } from '../activities/index.js';
import type { ListenAddress } from '../config/environment.js';
import { consoleLog } from '../observability/console.js';
import { rescueMetricsSinks } from '../observability/rescue-sinks.js';
import { temporalPrometheusExporter } from '../observability/temporal-metrics.js';
import { workerConnectionOptions, type TemporalConnectionSettings } from '../temporal/connection-settings.js';
import { temporalConnectionError } from '../temporal/connection-diagnosis.js';
import { rescuedDataConverter } from '../temporal/data-converter.js';

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
  /** The TEMPORAL_* settings (TLS, API key); `address` is theirs or the embedded server's. */
  settings: TemporalConnectionSettings;
  address: string;
  namespace: string;
  /** Encrypts every payload the worker writes to history (temporal/payload-codec.ts). */
  payloadCodec: PayloadCodec;
  taskQueue: string;
  dependencies: ActivityDependencies;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(workerConnectionOptions(options.settings, options.address));
  } catch (error) {
    throw await temporalConnectionError(options.settings, options.address, error);
  }
  try {
    const worker = await Worker.create({
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      workflowsPath: require.resolve('../workflows/index.ts'),
      activities: createActivities(options.dependencies),
      // Rescues by outcome and step durations, from the workflow's metrics sink.
      sinks: rescueMetricsSinks(),
      dataConverter: rescuedDataConverter(options.payloadCodec),
      // Rescue workflows wait for hours; keep the cache modest on a small control host.
      maxCachedWorkflows: 200,
    });
    return { worker, connection };
  } catch (error) {
    // Tried again later when Temporal was not there yet: no connection left behind by this try.
    await connection.close().catch(() => undefined);
    throw error;
  }
}
