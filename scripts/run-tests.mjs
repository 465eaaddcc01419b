#!/usr/bin/env node
// Runs the test suite with node's own test runner (tsx as the TypeScript loader).
// Node 20's runner does not discover *.test.ts files by itself, so we list them here.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

function collect(path, out) {
  const stats = statSync(path);
  if (stats.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path).sort()) collect(join(path, entry), out);
  return out;
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = (roots.length > 0 ? roots : ['test']).flatMap((root) => collect(resolve(root), []));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under', roots.join(', ') || 'test');
  process.exit(1);
}

// The whole suite starts with the type checker: a type error fails `npm test` like a failing test.
if (roots.length === 0) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('run-tests: the type check failed (npm run typecheck)');
    process.exit(1);
  }
  console.log('run-tests: type check passed');
}

// One test file at a time: integration tests start real servers (Temporal, PostgreSQL clients,
// QEMU) and a 2-core machine serves them better one by one.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...passThrough, ...files],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
