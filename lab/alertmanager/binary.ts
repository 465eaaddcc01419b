// Prometheus Alertmanager for tests and the lab, built from its Go module into the tools folder once
// (v0.32 and later cannot be built with `go install`: their web UI assets are not in the module).
import { join } from 'node:path';
import { TOOLS_BIN_DIR, goInstallIntoTools, isExecutable } from '../../temporal/cli-binary.js';

export const ALERTMANAGER_MODULE = 'github.com/prometheus/alertmanager/cmd/alertmanager';
export const ALERTMANAGER_VERSION = 'v0.31.1';

/** RESCUED_ALERTMANAGER_BIN, then the tools folder; built there when it is in neither. */
export async function locateOrBuildAlertmanager(log: (line: string) => void = () => undefined): Promise<string> {
  const configured = process.env.RESCUED_ALERTMANAGER_BIN?.trim();
  if (configured) {
    if (await isExecutable(configured)) return configured;
    throw new Error(`RESCUED_ALERTMANAGER_BIN names "${configured}", which is not an executable file`);
  }
  const cached = join(TOOLS_BIN_DIR, 'alertmanager');
  if (await isExecutable(cached)) return cached;
  return goInstallIntoTools(`${ALERTMANAGER_MODULE}@${ALERTMANAGER_VERSION}`, 'alertmanager', log);
}
