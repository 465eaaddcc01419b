// The official temporal CLI for tests: found (or built) the way npm start finds it, then given to the
// SDK's test environment as an existing path, so no test downloads anything.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { locateOrBuildTemporalCli } from '../../temporal/cli-binary.js';
import { RESCUE_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { SearchAttributeType } from '@temporalio/common';

export async function temporalCliForTests(): Promise<string> {
  const path = await locateOrBuildTemporalCli((line) => console.error(line));
  if (path === undefined) throw new Error('no temporal CLI: run `npm run temporal:install` (needs Go) or set RESCUED_TEMPORAL_CLI');
  return path;
}

/** How many times a dev server is started before its failure to answer in time fails the test. */
const DEV_SERVER_STARTS = 3;

/**
 * `metricsPort`: where the dev server serves its Prometheus metrics (`/metrics` on 127.0.0.1); else a port of its
 * choosing. `executable`: what to run in place of the CLI (a wrapper of it, bench/support/gc-cycles.ts). `port`: its
 * gRPC port on 127.0.0.1 (default: a free one). `withSearchAttributes: false`: a namespace without rescued's search
 * attributes, for a test of what registers them.
 */
export async function startTestTemporal(
  options: { metricsPort?: number; executable?: string; port?: number; withSearchAttributes?: boolean } = {},
): Promise<TestWorkflowEnvironment> {
  const executable = options.executable ?? (await temporalCliForTests());
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: executable },
          ip: '127.0.0.1',
          ...(options.port === undefined ? {} : { port: options.port }),
          ...(options.withSearchAttributes === false ? {} : { searchAttributes: RESCUE_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: SearchAttributeType.KEYWORD })) }),
          ...(options.metricsPort === undefined ? {} : { extraArgs: ['--metrics-port', String(options.metricsPort)] }),
        },
      });
    } catch (error) {
      // The SDK gives the dev server a fixed 5 s to answer and kills it when it has not (sdk-core's
      // ephemeral_server/mod.rs: "did not start within"); on a loaded 2-core CI host a start can take longer.
      if (attempt === DEV_SERVER_STARTS || !/did not start within/.test((error as Error).message)) throw error;
      console.error(`the Temporal dev server did not answer within the SDK's 5 s (start ${attempt} of ${DEV_SERVER_STARTS}); starting it again`);
    }
  }
}
