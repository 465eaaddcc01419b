// `npm run worker`: a Temporal worker alone, for a deployment with several workers on a Temporal cluster
// (TEMPORAL_ADDRESS) and PostgreSQL (DATABASE_URL).
import { connectClient, startReconciler, startWorker } from './components.js';
import { runProcess } from './process.js';
import { openRuntime } from './runtime.js';
import { installTemporalRuntime } from './temporal-worker.js';
import { createNetboot } from './netboot.js';

await runProcess('rescued-worker', async (config, steps) => {
  installTemporalRuntime(config.logLevel);
  const address = config.temporalAddress ?? `127.0.0.1:${config.embeddedTemporalPort}`;
  const runtime = await openRuntime(config);
  steps.add(runtime.close);
  const client = await connectClient(config, runtime, address);
  steps.add(client.stop);
  steps.add(await startWorker(config, runtime, address, createNetboot(config, runtime)));
  steps.add(startReconciler(config, runtime, client.connection));
  console.log(`rescued-worker: polling task queue ${config.temporalTaskQueue} on ${address} (namespace ${config.temporalNamespace}), database ${runtime.database.location}`);
});
