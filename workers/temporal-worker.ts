// Our Temporal worker: the workflows in workflows/ and the activities built over the inventory.
import { createRequire } from 'node:module';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { createActivities, type ActivityDependencies } from '../activities/index.js';
import { workerConnectionOptions, type TemporalConnectionSettings } from '../temporal/connection-settings.js';
import { temporalConnectionError } from '../temporal/connection-diagnosis.js';
import { rescuedDataConverter } from '../temporal/data-converter.js';

const require = createRequire(import.meta.url);

/** The Temporal SDK logs bundling and state changes at INFO; ours shows them only when debugging. */
export function installTemporalRuntime(logLevel: string): void {
  const level: LogLevel = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
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
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: require.resolve('../workflows/index.ts'),
    activities: createActivities(options.dependencies),
    dataConverter: rescuedDataConverter(options.payloadCodec),
    // Rescue workflows wait for hours; keep the cache modest on a small control host.
    maxCachedWorkflows: 200,
  });
  return { worker, connection };
}
