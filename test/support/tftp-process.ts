// The TFTP part of `npm start`/`npm run api`, as its own process, for tests that run it as another user: the
// same wiring (loadConfig, openRuntime, createNetboot, startTftp), no Temporal. Prints "listening <addr>"
// or "could not start: <reason>", and stops when its standard input closes.
import { loadConfig } from '../../config/environment.js';
import { openRuntime } from '../../workers/runtime.js';
import { createNetboot, startTftp } from '../../workers/netboot.js';

const config = loadConfig();
const runtime = await openRuntime(config);
try {
  const tftp = await startTftp(config, createNetboot(config, runtime), { debug: (line) => console.log(line), warn: (line) => console.log(line) });
  console.log(`listening ${tftp?.address ?? 'nowhere'} as uid ${process.getuid?.()}`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  await tftp?.stop();
} catch (error) {
  console.log(`could not start: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await runtime.close();
}
