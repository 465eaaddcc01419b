// `npm run worker`: a Temporal worker alone, for a deployment with several workers on a Temporal cluster
// (TEMPORAL_ADDRESS) and PostgreSQL (DATABASE_URL).
import { connectClient, startReconciler, startWorker } from './components.js';
import { runProcess } from './process.js';
import { openRuntime } from './runtime.js';
import { installTemporalRuntime } from './temporal-worker.js';
import { createNetboot } from './netboot.js';
import { consoleLog } from '../observability/console.js';
import { startMetricsServer, type MetricsServer } from '../observability/metrics-server.js';
import { watchRescueCapacity } from '../observability/metrics.js';
import type { ListenAddress } from '../config/environment.js';

await runProcess('rescued-worker', async (config, steps) => {
  const temporalExporter = installTemporalRuntime(config.logLevel, config.temporalMetrics);
  const address = config.temporalAddress ?? `127.0.0.1:${config.embeddedTemporalPort}`;
  const runtime = await openRuntime(config);
  steps.add(runtime.close);
  const client = await connectClient(config, runtime, address);
  steps.add(client.stop);
  steps.add(await startWorker(config, runtime, address, createNetboot(config, runtime), client));
  steps.add(startReconciler(config, runtime, client.connection));
  // No API in this process: it serves its own /metrics (rescues by outcome, step durations, BMC calls, the
  // guard's decisions for audits, and the Temporal SDK's worker metrics).
  watchRescueCapacity(runtime.inventory.guard);
  const metrics = config.workerMetrics ? await startWorkerMetrics(config.workerMetrics, config.metricsPublic, runtime.inventory.tokens, temporalExporter) : undefined;
  if (metrics) steps.add(metrics.stop);
  consoleLog().info(
    `rescued-worker: ${client.reachable ? 'polling' : 'to poll, once Temporal answers,'} task queue ${config.temporalTaskQueue} on ${address} (namespace ${config.temporalNamespace}), database ${runtime.database.location}; metrics ${metrics ? `http://${metrics.address}/metrics` : 'off'}`,
  );
});

/** A default address that is taken (several workers on one host) costs this worker its /metrics, with a warning. */
async function startWorkerMetrics(
  listen: ListenAddress,
  isPublic: boolean,
  tokens: Parameters<typeof startMetricsServer>[0]['tokens'],
  temporalExporter: string | undefined,
): Promise<MetricsServer | undefined> {
  try {
    return await startMetricsServer({ address: listen.address, public: isPublic, tokens, temporalExporter });
  } catch (error) {
    const reason = `cannot serve /metrics on ${listen.address} (${(error as Error).message})`;
    if (listen.configured) throw new Error(`RESCUED_WORKER_METRICS_ADDRESS: ${reason}; choose another address, or off`);
    consoleLog().warn(`rescued-worker: ${reason}; set RESCUED_WORKER_METRICS_ADDRESS to another address`);
    return undefined;
  }
}
