// `npm run temporal-server:install`: makes sure the real Temporal server and its SQL schema tool (for the
// cluster tests and benches on PostgreSQL) are in .tools/bin, building them from the server's Go module
// when they are not. Prints their paths.
import { locateOrBuildTemporalServer } from '../temporal/server-binary.js';

try {
  const binaries = await locateOrBuildTemporalServer((line) => console.error(line));
  console.log(binaries.server);
  console.log(binaries.sqlTool);
} catch (error) {
  console.error(`no Temporal server: ${(error as Error).message}`);
  process.exit(1);
}
