// `npm run alertmanager:install`: makes sure Prometheus Alertmanager (for the trigger tests) is in .tools/bin,
// building it from its Go module (about 35 s) when it is not. Prints its path.
import { locateOrBuildAlertmanager } from '../lab/alertmanager/binary.js';

try {
  console.log(await locateOrBuildAlertmanager((line) => console.error(line)));
} catch (error) {
  console.error(`no alertmanager: ${(error as Error).message}`);
  process.exit(1);
}
