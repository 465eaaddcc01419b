// `npm run temporal:install`: makes sure the official temporal CLI is available (RESCUED_TEMPORAL_CLI,
// .tools/bin, PATH), building it from its Go module into .tools/bin when it is not. Prints its path.
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';

const path = await locateOrBuildTemporalCli((line) => console.error(line));
if (path === undefined) {
  console.error('no temporal CLI, and it could not be built (see above). npm start will fall back to the Temporal SDK download, which needs internet.');
  process.exit(1);
}
console.log(path);
