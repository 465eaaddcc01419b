// Where the virtual lab keeps what it builds: the image builder's cache folder (images/paths.ts: `.cache/lab/`,
// or the folder named by RESCUED_LAB_CACHE).
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../images/paths.js';

export { PROJECT_ROOT, buildCacheDirectory as labCacheDirectory } from '../../images/paths.js';

/** The lab's sources for its own boot images (the marker and installed-system init scripts, the rescue contract). */
export const LAB_IMAGES_SOURCE_DIRECTORY = join(PROJECT_ROOT, 'lab', 'images');
