// `npm run bench -- zoo`: one disk per boot failure class (lab/vm/zoo.ts), attached to one QEMU machine booted
// into the rescue image (the installed-Debian classes to a second one); diagnose and repair each over SSH and print class, finding, verdict, seconds.
// Target (issue 9): every class diagnosed, at least 10 of 12 repaired, no `repaired` that the fresh diagnosis
// after the repair contradicts (runZooClass only says `repaired` when that diagnosis agrees).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { runZoo } from '../lab/vm/zoo.js';

export default async function zoo(args: string[]): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'rescued-zoo-'));
  const started = performance.now();
  try {
    const run = await runZoo(directory, {
      allowXfsLogZeroing: args.includes('--allow-xfs-log-zeroing'),
      onResult: (result) => console.log(`  ${result.verdict.padEnd(16)} ${result.name} (${result.seconds} s)`),
    });
    const table = new Table({ head: ['class', 'finding', 'verdict', 'seconds'], wordWrap: true, colWidths: [36, 60, 18, 9] });
    for (const result of run.results) table.push([result.name, result.finding, result.verdict, result.seconds.toFixed(1)]);
    console.log(table.toString());
    const count = (verdict: string) => run.results.filter((result) => result.verdict === verdict).length;
    console.log(`disks built in ${(run.buildMs / 1000).toFixed(1)} s; rescue VM up (phone-home) in ${(run.bootMs / 1000).toFixed(1)} s; whole zoo ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${run.results.length} classes: ${count('repaired')} repaired, ${count('reinstall needed')} reinstall needed, ${count('not repaired')} not repaired, ${count('missed')} missed (target: none missed, >= 10 repaired)`);
    for (const result of run.results.filter((item) => item.verdict !== 'repaired')) console.log(`  ${result.name}: ${result.detail.slice(0, 400)}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
