// Where the rescue image builder finds its sources and keeps what it downloads and builds: a git-ignored cache
// folder in the project (`.cache/lab/`, shared with the virtual lab so that both use one kernel download), or the
// folder named by RESCUED_LAB_CACHE.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (images/ is one level below it). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The rescue image's init scripts (init, inittab, start, udhcpc.script). */
export const RESCUE_INIT_SOURCE_DIRECTORY = join(PROJECT_ROOT, 'images', 'rescue');

export function buildCacheDirectory(): string {
  const configured = process.env.RESCUED_LAB_CACHE;
  return configured && configured.length > 0 ? resolve(configured) : join(PROJECT_ROOT, '.cache', 'lab');
}
