// The webhook bench's reading of the Temporal server's GC trace (bench/support/gc-cycles.ts): lines as the Go
// runtime prints them with GODEBUG=gctrace=1 (these were printed by the dev server on the development machine),
// placed on the wall clock, and set beside the calls that were in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeGcDuring, gcCycles, type TimedCall } from '../../bench/support/gc-cycles.js';

const TRACE = [
  'gc 10 @1.603s 2%: 0.069+32+0.060 ms clock, 0.13+0.13/17/16+0.12 ms cpu, 61->63->35 MB, 69 MB goal, 3 MB stacks, 0 MB globals, 2 P',
  '2026/12/03 11:20:01 a log line of the server in between',
  'gc 11 @2.074s 2%: 0.51+42+0.069 ms clock, 1.0+2.0/22/21+0.13 ms cpu, 66->68->36 MB, 74 MB goal, 4 MB stacks, 0 MB globals, 2 P',
  'gc 12 @2.588s 2%: 2.4+27+0.003 ms clock, 4.9+0/15/25+0.006 ms cpu, 69->70->37 MB, 78 MB goal, 3 MB stacks, 0 MB globals, 2 P',
].join('\n');

test('each GC line is a cycle from its start, for the sum of its three clock phases; other lines are left out', () => {
  const cycles = gcCycles(TRACE, 1_000_000);
  assert.equal(cycles.length, 3);
  assert.equal(cycles[0]!.startMs, 1_001_603);
  assert.ok(Math.abs(cycles[0]!.wallMs - 32.129) < 1e-9);
  assert.equal(cycles[2]!.startMs, 1_002_588);
  assert.ok(Math.abs(cycles[2]!.wallMs - 29.403) < 1e-9);
});

test('the slowest 1% of calls are counted as in flight during a cycle only when their span overlaps it', () => {
  const cycles = gcCycles(TRACE, 1_000_000); // cycles at 1,001,603 (+32.1), 1,002,074 (+42.6), 1,002,588 (+29.4)
  const calls: TimedCall[] = Array.from({ length: 200 }, (_, index) => [1_000_000 + index * 20, 2]);
  calls[80] = [1_001_600, 50]; // overlaps the first cycle
  calls[120] = [1_002_400, 40]; // slow, but between the second and third cycles
  const described = describeGcDuring(cycles, calls);
  assert.match(described, /^3 collections of 29-43 ms \(wall\); of the slowest 2 calls \(40\.0 ms and over\), 1 were in flight during one$/);
  assert.match(describeGcDuring([], calls), /^no collection; of the slowest 2 calls/);
  assert.equal(describeGcDuring(cycles, []), 'no calls');
});

test('one collection is named in the singular, with its one wall time', () => {
  const [first] = gcCycles(TRACE, 0);
  assert.match(describeGcDuring([first!], [[1_600, 40], [3_000, 1]]), /^1 collection of 32 ms \(wall\); of the slowest 1 calls \(40\.0 ms and over\), 1 were in flight during one$/);
});
