// Where the webhook bench's starts go. By default, a Temporal dev server it starts on this machine, with its
// metrics read and its garbage collections traced. With `--temporal HOST:PORT`, a Temporal server that runs
// somewhere else, on a machine of its own as in production; `--temporal-metrics URL` names that server's
// Prometheus endpoint when it is reachable. The bench's target cannot be judged when the server shares the
// bench's cores: on this 2-core machine the dev server alone takes more than a core to start 200 workflows a
// second, a third of it in its SQLite visibility store (measured with perf, in the README).
import { Client, Connection } from '@temporalio/client';
import { startTestTemporal, temporalCliForTests } from '../../test/support/temporal.js';
import { freePort } from '../../test/support/ports.js';
import { ensureSearchAttributes } from '../../temporal/search-attributes.js';
import { temporalWithGcTrace, type GcCycle } from './gc-cycles.js';
import { readStartLatency, type StartLatencyHistogram } from './temporal-start-latency.js';

export interface BenchTemporal {
  /** What the setup line calls it: "Temporal dev server", "Temporal at HOST:PORT". */
  label: string;
  connection: Connection;
  address: string;
  namespace: string;
  /** The bare loop's client (the SDK's default data converter, as the dev server's test client has). */
  client: Client;
  /** The server's StartWorkflowExecution histogram now; undefined when its metrics are not known. */
  serverStarts: (() => Promise<StartLatencyHistogram>) | undefined;
  /** The server's garbage collections so far; undefined when they are not traced (a server elsewhere). */
  gcCycles: (() => Promise<GcCycle[]>) | undefined;
  close(): Promise<void>;
}

/**
 * `address`: a server elsewhere (its namespace must exist); else a dev server started here in `scratch`.
 * `taskQueue`: the run's; on a server elsewhere, close() terminates the workflows started on it (no worker
 * runs them, and they would otherwise stay open there).
 */
export async function startBenchTemporal(options: { address?: string; namespace?: string; metricsUrl?: string; taskQueue: string; scratch: string }): Promise<BenchTemporal> {
  const namespace = options.namespace ?? 'default';
  if (options.address === undefined) {
    const metricsPort = await freePort();
    const traced = await temporalWithGcTrace(await temporalCliForTests(), options.scratch);
    const env = await startTestTemporal({ metricsPort, executable: traced.executable });
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    return {
      label: 'Temporal dev server',
      connection: env.connection,
      address: env.address,
      namespace: 'default',
      client: env.client,
      serverStarts: () => readStartLatency(metricsUrl),
      gcCycles: () => traced.cycles(),
      close: () => env.teardown(),
    };
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: options.address, connectTimeout: '10 seconds' });
  } catch (error) {
    throw new Error(`bench webhooks: no Temporal server answered at ${options.address} (--temporal): ${(error as Error).message}`);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
    // The API's starts carry rescued's search attributes: the namespace must know them, as at `npm start`.
    await ensureSearchAttributes(connection, namespace);
    if (options.metricsUrl !== undefined) await readStartLatency(options.metricsUrl);
  } catch (error) {
    await connection.close();
    throw new Error(`bench webhooks: the Temporal server at ${options.address} is not ready for the bench: ${(error as Error).message}`);
  }
  const metricsUrl = options.metricsUrl;
  return {
    label: `Temporal at ${options.address}, namespace ${namespace}`,
    connection,
    address: options.address,
    namespace,
    client: new Client({ connection, namespace }),
    serverStarts: metricsUrl === undefined ? undefined : () => readStartLatency(metricsUrl),
    gcCycles: undefined,
    close: async () => {
      try {
        await terminateRun(connection, namespace, options.taskQueue);
      } finally {
        await connection.close();
      }
    },
  };
}

/** Terminates the run's open workflows on the server in one batch operation, by their task queue. */
async function terminateRun(connection: Connection, namespace: string, taskQueue: string): Promise<void> {
  const reason = 'rescued webhook bench: the run is over';
  await connection.workflowService.startBatchOperation({
    namespace,
    jobId: `${taskQueue}-end`,
    reason,
    visibilityQuery: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    terminationOperation: { identity: 'rescued-bench' },
  });
  console.log(`the run's open workflows on the server are being terminated (batch job ${taskQueue}-end, task queue ${taskQueue})`);
}
