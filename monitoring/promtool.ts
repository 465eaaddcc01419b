// Prometheus' promtool, for checking the alerting rules and running their unit tests: built from the
// Prometheus Go module into the tools folder once (npm run promtool:install), or RESCUED_PROMTOOL_BIN.
import { join } from 'node:path';
import { TOOLS_BIN_DIR, goInstallIntoTools, isExecutable } from '../temporal/cli-binary.js';

export const PROMTOOL_MODULE = 'github.com/prometheus/prometheus/cmd/promtool';
/** Prometheus 3.x's Go module versions are v0.3xx (v0.316.0 is Prometheus 3.16). */
export const PROMTOOL_VERSION = 'v0.316.0';

/** RESCUED_PROMTOOL_BIN, then the tools folder; undefined when it is in neither. */
export async function locatePromtool(): Promise<string | undefined> {
  const configured = process.env.RESCUED_PROMTOOL_BIN?.trim();
  if (configured) {
    if (await isExecutable(configured)) return configured;
    throw new Error(`RESCUED_PROMTOOL_BIN names "${configured}", which is not an executable file`);
  }
  const cached = join(TOOLS_BIN_DIR, 'promtool');
  return (await isExecutable(cached)) ? cached : undefined;
}

export async function locateOrBuildPromtool(log: (line: string) => void = () => undefined): Promise<string> {
  // Without the cloud service discoveries (AWS, Azure, GCE, ...): rules need none, and the build halves.
  return (await locatePromtool()) ?? goInstallIntoTools(`${PROMTOOL_MODULE}@${PROMTOOL_VERSION}`, 'promtool', log, ['remove_all_sd']);
}
