// `npm run bench -- power [bmcs] [callers]`: an audit's worth of power reads over emulated BMCs (lab/bmc/
// mini-redfish.ts, iDRAC 9 personality: 8 sessions at most, RAC0218 503 past that) on 127.0.0.1, in-process.
// Every BMC gets `callers` operations at once (an audit's power read, boot device read and event log read, plus
// an operator's status and a rescue's read), through the per-BMC limit (bmc_concurrency, default 4).
// Printed next to the baseline measured in the same run: the same reads with no per-BMC limit.
import { startMiniRedfish, type MiniRedfishBmc } from '../lab/bmc/mini-redfish.js';
import { IDRAC9 } from '../lab/bmc/redfish/personalities.js';
import { KeyedSemaphore, PowerClient, type BmcTarget } from '../power/index.js';

interface RunFigures {
  label: string;
  operations: number;
  failed: number;
  seconds: number;
  sessionsOpened: number;
  peakSessionsOnOneBmc: number;
  basicFallbacks: number;
}

async function run(label: string, bmcs: MiniRedfishBmc[], callers: number, limit: number): Promise<RunFigures> {
  for (const bmc of bmcs) {
    bmc.requests.length = 0;
    bmc.sessionsCreated = 0;
    bmc.peakSessions = 0;
  }
  const limiter = new KeyedSemaphore();
  const started = performance.now();
  const operations: Array<Promise<boolean>> = [];
  bmcs.forEach((bmc, index) => {
    const target: BmcTarget = {
      systemName: `node${index}`,
      type: 'redfish',
      address: bmc.url,
      username: 'root',
      password: 'calvin',
      options: { bmc_concurrency: String(limit), retries: '1', retry_delay: '0.05' },
    };
    for (let caller = 0; caller < callers; caller += 1) {
      const client = new PowerClient([target], { limiter });
      const kind = caller % 3;
      const operation = kind === 0 ? client.getPowerState() : kind === 1 ? client.getBootDevice() : client.readSystemEventLog();
      operations.push(operation.then((result) => result.ok));
    }
  });
  const results = await Promise.all(operations);
  const seconds = (performance.now() - started) / 1000;
  return {
    label,
    operations: results.length,
    failed: results.filter((ok) => !ok).length,
    seconds,
    sessionsOpened: bmcs.reduce((sum, bmc) => sum + bmc.sessionsCreated, 0),
    peakSessionsOnOneBmc: Math.max(...bmcs.map((bmc) => bmc.peakSessions)),
    basicFallbacks: bmcs.reduce((sum, bmc) => sum + bmc.requests.filter((request) => request.method === 'POST' && request.status === 503).length, 0),
  };
}

function print(figures: RunFigures): void {
  console.log(
    `${figures.label.padEnd(28)} ${String(figures.operations).padStart(5)} reads in ${figures.seconds.toFixed(2)} s = ${(figures.operations / figures.seconds).toFixed(0).padStart(5)} reads/s; ` +
      `sessions opened ${figures.sessionsOpened}, most open at once on one BMC ${figures.peakSessionsOnOneBmc} (iDRAC allows 8), ` +
      `logins refused for lack of sessions ${figures.basicFallbacks}, failed ${figures.failed}`,
  );
}

export default async function powerBenchmark(args: string[]): Promise<void> {
  const count = Number(args[0] ?? '200');
  const callers = Number(args[1] ?? '10');
  const bmcs: MiniRedfishBmc[] = [];
  try {
    for (let index = 0; index < count; index += 1) bmcs.push(await startMiniRedfish({ username: 'root', password: 'calvin', personality: IDRAC9 }));
    console.log(`${count} emulated iDRAC 9 BMCs on 127.0.0.1, ${callers} operations at once per BMC (power state, boot device, event log)`);
    await run('warm-up', bmcs.slice(0, 10), 3, 4);
    print(await run('baseline: no per-BMC limit', bmcs, callers, 64));
    print(await run('bmc_concurrency=4 (default)', bmcs, callers, 4));
    const open = bmcs.reduce((sum, bmc) => sum + bmc.openSessions(), 0);
    console.log(`sessions left open on the BMCs afterwards: ${open}`);
  } finally {
    await Promise.all(bmcs.map((bmc) => bmc.stop()));
  }
}
