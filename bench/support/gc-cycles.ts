// Garbage collections beside the webhook bench's slowest calls: the Temporal dev server's (Go) and the API
// process's own (V8).
//
// The server is a Go program; with GODEBUG=gctrace=1 the Go runtime prints one line per collection on its
// standard error (documented in the runtime package, https://pkg.go.dev/runtime, "gctrace"), e.g.
//   gc 12 @2.588s 2%: 2.4+27+0.003 ms clock, 4.9+0/15/25+0.006 ms cpu, 69->70->37 MB, 78 MB goal, 3 MB stacks, 0 MB globals, 2 P
// "@2.588s" is when the cycle started, in seconds since the program started, and the three clock figures
// (stop-the-world sweep termination, concurrent mark and scan, stop-the-world mark termination) add up to its
// wall time. The SDK's test environment starts the CLI with its own standard error inherited, so the bench
// starts it through a wrapper: a shell script that notes the time, then execs the CLI with the trace on and its
// standard error appended to a file. The API's pauses come from node's performance timeline (entries of type
// "gc"). Each collection is placed on the wall clock, to be set beside the calls' own times: a call in flight
// while the server collected waited for it, on a machine whose two cores the collection's workers share with
// everything else.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { quoteShellArgument } from '../../shell/quote.js';

export interface GcCycle {
  /** When the cycle started, in milliseconds since the epoch. */
  startMs: number;
  /** Its wall time, in milliseconds. */
  wallMs: number;
}

const GC_LINE = /^gc \d+ @([\d.]+)s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock/;

/** The cycles in a gctrace output, placed after the program's start (milliseconds since the epoch). */
export function gcCycles(trace: string, programStartMs: number): GcCycle[] {
  const cycles: GcCycle[] = [];
  for (const line of trace.split('\n')) {
    const match = GC_LINE.exec(line);
    if (match === null) continue;
    cycles.push({ startMs: programStartMs + Number(match[1]) * 1000, wallMs: Number(match[2]) + Number(match[3]) + Number(match[4]) });
  }
  return cycles;
}

/**
 * Writes, in `directory` (the bench's own temporary folder), a wrapper of the CLI at `cliPath` that runs it with
 * the GC trace on. `executable` is to be given to the test environment in place of the CLI; `cycles()` reads
 * the collections so far.
 */
export async function temporalWithGcTrace(cliPath: string, directory: string): Promise<{ executable: string; cycles(): Promise<GcCycle[]> }> {
  const executable = join(directory, 'temporal-gctrace');
  const startedFile = join(directory, 'started-ns');
  const traceFile = join(directory, 'stderr.log');
  await writeFile(
    executable,
    ['#!/bin/sh', `date +%s%N > ${quoteShellArgument(startedFile)}`, 'export GODEBUG=gctrace=1', `exec ${quoteShellArgument(cliPath)} "$@" 2>>${quoteShellArgument(traceFile)}`, ''].join('\n'),
  );
  await chmod(executable, 0o700);
  return {
    executable,
    async cycles() {
      const startedNs = (await readFile(startedFile, 'utf8')).trim();
      return gcCycles(await readFile(traceFile, 'utf8').catch(() => ''), Number(BigInt(startedNs) / 1_000_000n));
    },
  };
}

/**
 * Records this process's own garbage-collection pauses of at least `minimumMs` (shorter ones cannot explain a
 * slow call) until the returned function is called, which gives them.
 */
export function observeV8Pauses(minimumMs = 10): () => GcCycle[] {
  const pauses: GcCycle[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration >= minimumMs) pauses.push({ startMs: performance.timeOrigin + entry.startTime, wallMs: entry.duration });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    return pauses;
  };
}

/** A delivery or start: when it was sent (milliseconds since the epoch) and how long its answer took. */
export type TimedCall = [sentAtMs: number, latencyMs: number];

/**
 * The collections that overlap the window of a run, and how many of its slowest `share` of calls were in flight
 * while one ran.
 */
export function describeGcDuring(cycles: GcCycle[], calls: TimedCall[], share = 0.01): string {
  if (calls.length === 0) return 'no calls';
  const from = Math.min(...calls.map(([sent]) => sent));
  const to = Math.max(...calls.map(([sent, latency]) => sent + latency));
  const during = cycles.filter((cycle) => cycle.startMs < to && cycle.startMs + cycle.wallMs > from);
  const slowest = [...calls].sort((a, b) => b[1] - a[1]).slice(0, Math.max(1, Math.round(calls.length * share)));
  const overlapped = slowest.filter(([sent, latency]) => during.some((cycle) => cycle.startMs < sent + latency && cycle.startMs + cycle.wallMs > sent));
  const walls = during.map((cycle) => cycle.wallMs);
  const [shortest, longest] = [Math.min(...walls).toFixed(0), Math.max(...walls).toFixed(0)];
  const cyclesText =
    during.length === 0 ? 'no collection' : `${during.length} ${during.length === 1 ? 'collection' : 'collections'} of ${shortest === longest ? shortest : `${shortest}-${longest}`} ms (wall)`;
  return `${cyclesText}; of the slowest ${slowest.length} calls (${slowest.at(-1)![1].toFixed(1)} ms and over), ${overlapped.length} were in flight during one`;
}
