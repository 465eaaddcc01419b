// Something a process sets up at start in a service that may not be there yet (Temporal): tried at once, then
// again in the background until it succeeds, waiting longer after each failure. One warning when it first
// fails, one more each time the reason changes, one line when it succeeds, nothing for the tries in between; stop() ends it, leaving no timer behind.
import { formatDuration } from '../config/duration.js';

export interface Backoff {
  /** The wait after the first failure; doubled after each next one. */
  initialMs: number;
  maxMs: number;
  /** Each wait is shortened by a random part of up to this fraction, so that processes started together spread out. */
  jitter: number;
}

/** For what a process sets up in Temporal at start: 1 s, doubling to at most 60 s. */
export const START_UP_BACKOFF: Backoff = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 };

/** The wait after `failures` failures in a row (1 or more); `random` in [0, 1). */
export function backoffDelayMs(backoff: Backoff, failures: number, random: () => number = Math.random): number {
  const doubled = backoff.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  return Math.round(Math.min(backoff.maxMs, doubled) * (1 - backoff.jitter * random()));
}

export function describeBackoff(backoff: Backoff): string {
  return `every ${formatDuration(backoff.initialMs)} to ${formatDuration(backoff.maxMs)} (doubling, with jitter)`;
}

export interface RetriedUntilSuccess {
  /** Settles once the first try has succeeded or failed; never rejects. */
  readonly firstTry: Promise<void>;
  /** true once a try succeeded; false when stopped before. Never rejects. */
  readonly outcome: Promise<boolean>;
  /** No try after this; the one in flight sees its signal aborted and is waited for. */
  stop(): Promise<void>;
}

export interface RetryUntilSuccessOptions {
  /** What a try does, after "could not": `reconcile the fleet audit schedule`. */
  what: string;
  /** One try; resolves with the line to log on success (none: nothing worth a line, unless it took several tries). */
  attempt: (signal: AbortSignal) => Promise<string | undefined>;
  /** What it means until it succeeds, for the warning: `audits run only when asked`. */
  meanwhile?: string;
  log: { info(line: string): void; warn(line: string): void };
  backoff?: Backoff;
  random?: () => number;
}

export function retryUntilSuccess(options: RetryUntilSuccessOptions): RetriedUntilSuccess {
  const backoff = options.backoff ?? START_UP_BACKOFF;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let endWait: (() => void) | undefined;
  let firstTryDone: () => void = () => undefined;
  const firstTry = new Promise<void>((resolve) => (firstTryDone = resolve));

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      endWait = resolve;
      timer = setTimeout(resolve, ms);
    });

  async function tryUntilSuccess(): Promise<boolean> {
    let saidReason: string | undefined;
    for (let tries = 1; ; tries++) {
      try {
        const done = await options.attempt(stopping.signal);
        if (tries > 1) options.log.info(`${done ?? `${options.what}: done`} (after ${tries} tries)`);
        else if (done !== undefined) options.log.info(done);
        return true;
      } catch (error) {
        if (stopping.signal.aborted) return false;
        const reason = error instanceof Error ? error.message : String(error);
        if (tries === 1) {
          options.log.warn(`could not ${options.what} (${reason}); will retry ${describeBackoff(backoff)} until it succeeds${options.meanwhile ? `; until then ${options.meanwhile}` : ''}`);
        } else if (reason !== saidReason) {
          // What stands in the way changed (Temporal came up, and now refuses our key): said once more, for each new reason.
          options.log.warn(`still cannot ${options.what}, now: ${reason}; retrying`);
        }
        saidReason = reason;
      } finally {
        if (tries === 1) firstTryDone();
      }
      await wait(backoffDelayMs(backoff, tries, options.random));
      if (stopping.signal.aborted) return false;
    }
  }

  const outcome = tryUntilSuccess();
  return {
    firstTry,
    outcome,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      endWait?.();
      await outcome;
    },
  };
}
