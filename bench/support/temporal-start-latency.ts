// The Temporal server's own time for each start, read from its Prometheus metrics: the histogram
// `service_latency` of the frontend's StartWorkflowExecution (seconds; the history service's share is inside
// it, and has a series of its own that is left out), summed over namespaces. The bench
// reads it before and after a run; the difference is the server's share of that run's latencies (from the
// request's arrival at the frontend to its answer, without the client's and the network's time). On a loaded
// machine it says whether a slow start was slow in the server or in the caller.

/** Cumulative bucket counts by upper bound (seconds), +Inf as Infinity. */
export type StartLatencyHistogram = Map<number, number>;

const BUCKET = /^service_latency_bucket\{([^}]*)\}\s+([0-9.e+-]+)$/;

/** Parses the StartWorkflowExecution buckets out of a Prometheus text exposition. */
export function startLatencyHistogram(exposition: string): StartLatencyHistogram {
  const histogram: StartLatencyHistogram = new Map();
  for (const line of exposition.split('\n')) {
    const match = BUCKET.exec(line.trim());
    if (match === null || !match[1]!.includes('operation="StartWorkflowExecution"') || !match[1]!.includes('service_name="frontend"')) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(match[1]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    histogram.set(bound, (histogram.get(bound) ?? 0) + Number(match[2]));
  }
  return histogram;
}

/** Reads the server's metrics now. */
export async function readStartLatency(metricsUrl: string): Promise<StartLatencyHistogram> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`the Temporal server's metrics at ${metricsUrl} answered ${response.status}`);
  return startLatencyHistogram(await response.text());
}

/** What happened between two readings: the starts' count, the bucket bounds of p50 and p99, and the share within 10 and 50 ms. */
export function describeStartLatency(before: StartLatencyHistogram, after: StartLatencyHistogram): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const during = (bound: number) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
  const count = during(Infinity);
  if (count <= 0) return 'no start seen in its metrics';
  const bound = (p: number) => {
    const le = bounds.find((b) => during(b) >= p * count);
    return le === undefined || le === Infinity ? `> ${bounds.at(-2)! * 1000} ms` : `<= ${+(le * 1000).toFixed(3)} ms`;
  };
  const within = (seconds: number) => {
    const le = bounds.filter((b) => b <= seconds).at(-1);
    return le === undefined ? '?' : `${((100 * during(le)) / count).toFixed(1)}% within ${+(le * 1000).toFixed(3)} ms`;
  };
  return `${count} starts: p50 ${bound(0.5)}, p99 ${bound(0.99)}; ${within(0.01)}, ${within(0.05)}`;
}
