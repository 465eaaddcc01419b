// The webhook bench's verdict on its target (p99 at most 50 ms at 200 alerts/s, and at most 1.3 times the bare
// start), and whether each run kept the rate it was asked for. A run that fell behind measures its own backlog:
// its latencies grow with its length, and a ratio of two such runs says nothing about the webhook path. On a
// machine where the Temporal server cannot take the asked rate of starts, even the bare loop falls behind, and
// the bench says so instead of printing a ratio of two queues.

export const TARGET_RATE = 200;
export const TARGET_P99_MS = 50;
export const TARGET_RATIO = 1.3;
/** A run kept its rate when every call was accepted at this share of the rate or more (its last answers came within about 0.5 s of the schedule at 200/s). */
export const KEPT_RATE_SHARE = 0.95;

export interface RunFigures {
  /** Calls made. */
  count: number;
  /** Calls answered as accepted (a 200 for a delivery; a started workflow for the bare loop). */
  accepted: number;
  /** From the first call to the last answer. */
  elapsedS: number;
  p99Ms: number;
}

/** Accepted calls per second over the run. */
export function acceptedRate(run: RunFigures): number {
  return run.elapsedS > 0 ? run.accepted / run.elapsedS : 0;
}

/** Whether the run kept `rate`: every call accepted, and answered at KEPT_RATE_SHARE of the rate or more. */
export function keptRate(run: RunFigures, rate: number): boolean {
  return run.accepted === run.count && acceptedRate(run) >= KEPT_RATE_SHARE * rate;
}

/** The p99 ratio webhook/bare, or why there is none: a run that fell behind would make it a ratio of backlogs. */
export function describeRatio(rate: number, hooks: RunFigures, bare: RunFigures): string {
  const ratio = keptRate(hooks, rate) && keptRate(bare, rate) ? `${(hooks.p99Ms / bare.p99Ms).toFixed(2)}x` : 'none (a run fell behind: a ratio of backlogs)';
  return `p99 ratio webhook/bare: ${ratio}   (target: p99 <= ${TARGET_P99_MS} ms at ${TARGET_RATE}/s and <= ${TARGET_RATIO}x bare)`;
}

/** One line: whether the target is held, not held, or cannot be measured at this rate on this machine, and why. */
export function webhookVerdict(rate: number, hooks: RunFigures, bare: RunFigures): string {
  const at = rate === TARGET_RATE ? '' : ` (measured at ${rate}/s; the target is stated at ${TARGET_RATE}/s)`;
  if (!keptRate(bare, rate)) {
    return (
      `target not measurable here at ${rate}/s: the bare loop itself kept only ${acceptedRate(bare).toFixed(0)}/s (${bare.accepted} of ${bare.count} started), ` +
      `so the Temporal server on this machine cannot take ${rate} starts a second and both runs measure its backlog; a lower --rate compares the paths`
    );
  }
  if (!keptRate(hooks, rate)) {
    return `target not held${at}: the webhook path kept only ${acceptedRate(hooks).toFixed(0)}/s (${hooks.accepted} of ${hooks.count} accepted) where the bare loop kept up`;
  }
  const ratio = hooks.p99Ms / bare.p99Ms;
  const held = hooks.p99Ms <= TARGET_P99_MS && ratio <= TARGET_RATIO;
  return (
    `target ${held ? 'held' : 'not held'}${at}: webhook p99 ${hooks.p99Ms.toFixed(1)} ms (at most ${TARGET_P99_MS}), ` +
    `${ratio.toFixed(2)}x the bare start's ${bare.p99Ms.toFixed(1)} ms (at most ${TARGET_RATIO}x)`
  );
}
