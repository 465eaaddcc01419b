// `npm start`: everything on one machine. An embedded Temporal dev server unless TEMPORAL_ADDRESS is set,
// PGlite unless DATABASE_URL is set, the HTTP API and a worker. Ctrl-C stops all of it.
import { join } from 'node:path';
import { PACKAGE_VERSION } from '../config/version.js';
import { codecEndpoint, connectClient, startApi, startReconciler, startTemporal, startWorker } from './components.js';
import { runProcess } from './process.js';
import { ADMIN_TOKEN_FILE, ensureAdminToken, openRuntime } from './runtime.js';
import { installTemporalRuntime } from './temporal-worker.js';
import { createNetboot, startTftp } from './netboot.js';
import { consoleLog } from '../observability/console.js';

await runProcess('rescued', async (config, steps) => {
  const temporalExporter = installTemporalRuntime(config.logLevel, config.temporalMetrics);
  const runtime = await openRuntime(config);
  steps.add(runtime.close);
  const tokenFile = await ensureAdminToken(runtime.inventory, config.dataDir);
  const temporal = await startTemporal(config);
  steps.add(temporal.stop);
  const client = await connectClient(config, runtime, temporal.address);
  steps.add(client.stop);
  const netboot = createNetboot(config, runtime);
  steps.add(await startWorker(config, runtime, temporal.address, netboot, client));
  steps.add(await startApi(config, runtime, client.connection, temporal.address, netboot, temporalExporter));
  steps.add(startReconciler(config, runtime, client.connection));
  const tftp = await startTftp(config, netboot, consoleLog());
  if (tftp) steps.add(tftp.stop);

  consoleLog().info(
    [
      `rescued ${PACKAGE_VERSION} is running`,
      `  API           ${config.publicUrl}/api/v1   (OpenAPI: ${config.publicUrl}/api/v1/openapi.json)`,
      `  Temporal      ${temporal.address}   namespace ${config.temporalNamespace}, task queue ${config.temporalTaskQueue}${temporal.embedded ? ` (embedded: ${temporal.embedded.source})` : ''}`,
      ...(temporal.embedded ? [`  Temporal UI   ${temporal.embedded.uiUrl}   (history encrypted; its codec endpoint: ${codecEndpoint(config)})`] : []),
      `  TFTP          ${tftp ? `${tftp.address}, root ${config.tftpRoot}` : 'off (RESCUED_TFTP_PORT=off)'}`,
      `  Database      ${runtime.database.kind === 'pglite' ? `PGlite in ${runtime.database.location}` : runtime.database.location}`,
      `  Metrics       ${config.publicUrl}/metrics (${config.metricsPublic ? 'public' : 'viewer token'})${temporalExporter ? `, with the Temporal SDK's from ${temporalExporter}` : ''}`,
      `  Data folder   ${config.dataDir}`,
      `  Admin token   ${tokenFile ? `written to ${tokenFile}` : join(config.dataDir, ADMIN_TOKEN_FILE)} (rescuectl reads it)`,
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
});
