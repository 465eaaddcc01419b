// `npm run api`: the HTTP API alone, for a deployment where workers run as their own processes.
import { connectClient, startApi, startReconciler } from '../workers/components.js';
import { runProcess } from '../workers/process.js';
import { ensureAdminToken, openRuntime } from '../workers/runtime.js';
import { createNetboot, startTftp } from '../workers/netboot.js';
import { consoleLog } from '../observability/console.js';

await runProcess('rescued-api', async (config, steps) => {
  const address = config.temporalAddress ?? `127.0.0.1:${config.embeddedTemporalPort}`;
  const runtime = await openRuntime(config);
  steps.add(runtime.close);
  const tokenFile = await ensureAdminToken(runtime.inventory, config.dataDir);
  const client = await connectClient(config, runtime, address);
  steps.add(client.stop);
  const netboot = createNetboot(config, runtime);
  steps.add(await startApi(config, runtime, client.connection, address, netboot));
  steps.add(startReconciler(config, runtime, client.connection));
  const tftp = await startTftp(config, netboot, consoleLog());
  if (tftp) steps.add(tftp.stop);
  consoleLog().info(`rescued-api: ${config.publicUrl}/api/v1 (Temporal ${address}, database ${runtime.database.location}${tftp ? `, TFTP ${tftp.address}` : ''})`);
  if (tokenFile) consoleLog().info(`rescued-api: first start, admin token written to ${tokenFile}`);
});
