// `npm start`: everything on one machine. An embedded Temporal dev server unless TEMPORAL_ADDRESS is set,
// PGlite unless DATABASE_URL is set, the HTTP API and a worker. Ctrl-C stops all of it.
import { Connection } from '@temporalio/client';
import { loadConfig, ConfigurationError, type RescuedConfig } from '../config/environment.js';
import { PACKAGE_VERSION } from '../config/version.js';
import { buildApiServer } from '../api/server.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../temporal/embedded-server.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { createTemporalHealthCheck } from '../temporal/health.js';
import { openRuntime, ensureAdminToken, ADMIN_TOKEN_FILE } from './runtime.js';
import { createRescueWorker, installTemporalRuntime } from './temporal-worker.js';
import { join } from 'node:path';

type Stopper = () => Promise<void>;

async function serve(config: RescuedConfig): Promise<Stopper> {
  installTemporalRuntime(config.logLevel);
  const stoppers: Stopper[] = [];
  const stopAll: Stopper = async () => {
    for (const stop of stoppers.reverse()) await stop().catch((error: Error) => console.error(`while stopping: ${error.message}`));
  };
  try {
    const runtime = await openRuntime(config);
    stoppers.push(runtime.close);
    const tokenFile = await ensureAdminToken(runtime.inventory, config.dataDir);

    let temporalAddress = config.temporalAddress;
    let embedded: EmbeddedTemporal | undefined;
    if (temporalAddress === undefined) {
      const cliPath = await locateOrBuildTemporalCli((line) => console.log(`temporal: ${line}`));
      embedded = await startEmbeddedTemporal({
        cliPath,
        dataDir: config.dataDir,
        port: config.embeddedTemporalPort,
        uiPort: config.embeddedTemporalUiPort,
        namespace: config.temporalNamespace,
      });
      stoppers.push(embedded.stop);
      temporalAddress = embedded.address;
    }

    const client = await Connection.connect({ address: temporalAddress });
    stoppers.push(() => client.close());
    try {
      await ensureSearchAttributes(client, config.temporalNamespace);
    } catch (error) {
      console.warn(`temporal: could not register search attributes (${(error as Error).message}); rescues still run, the UI filters will not`);
    }

    const { worker, connection: workerConnection } = await createRescueWorker({
      address: temporalAddress,
      namespace: config.temporalNamespace,
      taskQueue: config.temporalTaskQueue,
      dependencies: { inventory: runtime.inventory, databaseKind: runtime.database.kind },
    });
    const workerRun = worker.run();
    stoppers.push(async () => {
      workerConnection.close().catch(() => undefined);
    });
    stoppers.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    });

    const api = await buildApiServer({
      inventory: runtime.inventory,
      logLevel: config.logLevel,
      health: {
        database: { describe: () => ({ kind: runtime.database.kind, location: runtime.database.location }), check: () => runtime.database.ping() },
        temporal: createTemporalHealthCheck(client, { address: temporalAddress, namespace: config.temporalNamespace, taskQueue: config.temporalTaskQueue }),
      },
    });
    await api.listen({ host: config.apiHost, port: config.apiPort });
    stoppers.push(() => api.close());

    const lines = [
      `rescued ${PACKAGE_VERSION} is running`,
      `  API           ${config.publicUrl}/api/v1   (OpenAPI: ${config.publicUrl}/api/v1/openapi.json)`,
      `  Temporal      ${temporalAddress}   namespace ${config.temporalNamespace}, task queue ${config.temporalTaskQueue}${embedded ? ` (embedded: ${embedded.source})` : ''}`,
      ...(embedded ? [`  Temporal UI   ${embedded.uiUrl}`] : []),
      `  Database      ${runtime.database.kind === 'pglite' ? `PGlite in ${runtime.database.location}` : runtime.database.location}`,
      `  Data folder   ${config.dataDir}`,
      tokenFile ? `  Admin token   written to ${tokenFile} (rescuectl reads it)` : `  Admin token   ${join(config.dataDir, ADMIN_TOKEN_FILE)} (from the first start)`,
      'Press Ctrl-C to stop.',
    ];
    console.log(lines.join('\n'));
    return stopAll;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function main(): Promise<void> {
  let config: RescuedConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(`rescued: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  let stop: Stopper;
  try {
    stop = await serve(config);
  } catch (error) {
    console.error(`rescued: could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`rescued: ${signal} received, stopping`);
    const forced = setTimeout(() => {
      console.error('rescued: did not stop within 30 s, exiting anyway');
      process.exit(1);
    }, 30_000);
    forced.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

await main();
