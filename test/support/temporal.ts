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

/**
 * `metricsPort`: where the dev server serves its Prometheus metrics (`/metrics` on 127.0.0.1); else a port of its
 * choosing. `executable`: what to run in place of the CLI (a wrapper of it, bench/support/gc-cycles.ts).
 */
export async function startTestTemporal(options: { metricsPort?: number; executable?: string } = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: options.executable ?? (await temporalCliForTests()) },
      ip: '127.0.0.1',
      searchAttributes: RESCUE_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: SearchAttributeType.KEYWORD })),
      ...(options.metricsPort === undefined ? {} : { extraArgs: ['--metrics-port', String(options.metricsPort)] }),
    },
  });
}
