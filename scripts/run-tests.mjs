#!/usr/bin/env node
// Runs the test suite with node's own test runner (tsx as the TypeScript loader).
// Node 20's runner does not discover *.test.ts files by itself, so we list them here.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
//
// The files run in two lanes side by side: the virtual-machine lane, one file at a time (files that boot QEMU
// machines, each keeping one emulated CPU busy, so two never fight for a core), and the lane of everything
// else, two files at a time (servers that mostly wait: Temporal, PostgreSQL, TFTP, sshd). The longest files
// start first so that none is left running alone at the end. RESCUED_TEST_LANES=1 runs everything in one
// lane, one file at a time.
import { readdirSync, readFileSync, statSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { tmpdir } from 'node:os';
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

/** A file belongs to the VM lane when it starts QEMU machines (or says so with a `test-lane: vm` comment). */
function bootsVirtualMachines(file) {
  const source = readFileSync(file, 'utf8');
  return /\b(startLabVm|startRescueMachine|runZoo|powerOnVm|bootInstalledDisk)\(|test-lane: vm/.test(source);
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

/** Files measured at a minute or more (a CI run on 2 cores): started first in their lane. */
const LONGEST_FIRST = [
  'zoo-vm', 'rescue-crashes', 'image-build', 'history-encryption', 'e2e-rescues', 'temporal-cluster', 'lab-uefi-netboot',
  'embedded-stack', 'cli', 'power-api', 'lab-vm', 'lab-bootable-disk', 'pagination', 'lab-installer', 'audit',
];
const rank = (file) => {
  const index = LONGEST_FIRST.indexOf(file.replace(/^.*\//, '').replace(/\.test\.ts$/, ''));
  return index === -1 ? LONGEST_FIRST.length : index;
};
const longestFirst = (list) => [...list].sort((a, b) => rank(a) - rank(b));

const singleLane = process.env.RESCUED_TEST_LANES === '1';
const vmFiles = singleLane ? [] : longestFirst(files.filter(bootsVirtualMachines));
const otherFiles = singleLane ? files : longestFirst(files.filter((file) => !vmFiles.includes(file)));
const lanes = [
  { name: 'main', files: otherFiles, concurrency: singleLane ? 1 : 2 },
  { name: 'vm', files: vmFiles, concurrency: 1 },
].filter((lane) => lane.files.length > 0);

const children = [];
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => children.forEach((child) => child.kill(signal)));

// The first lane streams to the console; the others are kept in a file and printed when they end, so the
// output of two lanes never interleaves line by line. Every lane's output is also kept, so that the run ends with
// the failures of all lanes together: a reader of the last lines of a long run sees what failed.
const logDirectory = mkdtempSync(join(tmpdir(), 'rescued-tests-'));
function runLane(lane, index) {
  const started = Date.now();
  const streamed = index === 0;
  const logPath = join(logDirectory, `${lane.name}.log`);
  console.log(`run-tests: lane ${lane.name}: ${lane.files.length} files, ${lane.concurrency} at a time${streamed ? '' : ' (output shown when the lane ends)'}: ${lane.files.map((f) => relative(process.cwd(), f)).join(' ')}`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${lane.concurrency}`, ...passThrough, ...lane.files],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const log = createWriteStream(logPath);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  if (streamed) {
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
  }
  return new Promise((resolveLane) => {
    child.on('exit', (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      setTimeout(() => {
        if (!streamed) {
          console.log(`\n===== lane ${lane.name} (${lane.files.length} files) =====`);
          process.stdout.write(readFileSync(logPath));
        }
        const status = code ?? (signal ? 1 : 0);
        console.log(`run-tests: lane ${lane.name} ended with exit code ${status} after ${seconds} s`);
        resolveLane({ lane: lane.name, status, failures: failuresIn(readFileSync(logPath, 'utf8')) });
      }, 200);
    });
  });
}

/**
 * The failed tests in a lane's TAP output: each `not ok` line with the start of its diagnostic block (the error,
 * its location and code, not the stack). A suite that failed only because a test in it failed is left out.
 */
function failuresIn(tap) {
  const lines = tap.split('\n');
  const failures = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!/^\s*not ok \d+/.test(lines[i])) continue;
    const block = [lines[i].trim()];
    let onlySubtests = false;
    for (let j = i + 1; j < lines.length && block.length < 30; j += 1) {
      const line = lines[j];
      if (/^\s*\.\.\.\s*$/.test(line) || /^\s*stack:/.test(line) || /^\s*(not )?ok \d+/.test(line)) break;
      if (/failureType: 'subtestsFailed'/.test(line)) onlySubtests = true;
      if (/^\s*(---|duration_ms:|type:|$)/.test(line)) continue;
      block.push(`  ${line.trim()}`);
    }
    if (!onlySubtests) failures.push(block.join('\n'));
  }
  return failures;
}

const results = await Promise.all(lanes.map(runLane));
rmSync(logDirectory, { recursive: true, force: true });
const failed = results.filter((result) => result.status !== 0);
for (const result of failed) {
  console.log(`\nrun-tests: lane ${result.lane} failed (exit code ${result.status}); its failed tests:`);
  console.log(result.failures.length > 0 ? result.failures.join('\n') : '  none reported as a test: the lane itself failed (see its output above)');
}
console.log(`run-tests: ${failed.length === 0 ? 'all lanes passed' : `failed lanes: ${failed.map((result) => result.lane).join(', ')}`}`);
process.exit(failed.length > 0 ? 1 : 0);
