// Where the virtual lab keeps what it builds: a git-ignored cache folder in the project (`.cache/lab/`), or the
// folder named by RESCUED_LAB_CACHE.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (lab/vm/ is two levels below it). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The lab's sources for the boot images (init scripts, the rescue contract). */
export const LAB_IMAGES_SOURCE_DIRECTORY = join(PROJECT_ROOT, 'lab', 'images');

export function labCacheDirectory(): string {
  const configured = process.env.RESCUED_LAB_CACHE;
  return configured && configured.length > 0 ? resolve(configured) : join(PROJECT_ROOT, '.cache', 'lab');
}
