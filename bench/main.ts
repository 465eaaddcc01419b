// `npm run bench -- <name> [args...]` runs bench/<name>.ts, whose default export is the benchmark.
// Benchmarks print figures; they never fail a build on a number.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

type Benchmark = (args: string[]) => Promise<void>;

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
  .map((f) => f.replace(/\.ts$/, ''));

const [name, ...args] = process.argv.slice(2);
const selected = name ? [name] : available;
for (const benchmarkName of selected) {
  if (!available.includes(benchmarkName)) {
    console.error(`bench: no benchmark named "${benchmarkName}"; available: ${available.join(', ') || 'none'}`);
    process.exit(2);
  }
  const module = (await import(`./${benchmarkName}.ts`)) as { default: Benchmark };
  console.log(`== ${benchmarkName}`);
  await module.default(args);
}
