// Our Temporal worker: the workflows in workflows/ and the activities built over the inventory.
import { createRequire } from 'node:module';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities/index.js';

const require = createRequire(import.meta.url);

/** The Temporal SDK logs bundling and state changes at INFO; ours shows them only when debugging. */
export function installTemporalRuntime(logLevel: string): void {
  const level: LogLevel = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
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
    // Rescue workflows wait for hours; keep the cache modest on a small control host.
    maxCachedWorkflows: 200,
  });
  return { worker, connection };
}
