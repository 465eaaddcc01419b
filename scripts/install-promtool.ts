// `npm run promtool:install`: makes sure Prometheus' promtool (for the alerting rules' checks and unit tests)
// is in .tools/bin, building it from the Prometheus Go module when it is not. Prints its path.
import { locateOrBuildPromtool } from '../monitoring/promtool.js';

try {
  console.log(await locateOrBuildPromtool((line) => console.error(line)));
} catch (error) {
  console.error(`no promtool: ${(error as Error).message}`);
  process.exit(1);
}
