// One call to a BMC, retried with backoff when nothing answered, and recorded try by try.
import { BmcError, isBmcError, type BmcErrorKind, type BmcErrorOrigin } from './errors.js';
import type { OperationContext } from './types.js';

export interface RetryPolicy {
  /** Extra tries after the first one. */
  retries: number;
  /** Delay before the first retry; doubled for each next one. */
  delayMs: number;
}

/** What is worth another try: nothing answered, or the answer came too late. */
export const RETRY_ON_NO_ANSWER: readonly BmcErrorKind[] = ['unreachable', 'timeout'];
/**
 * For commands that must not run twice (cycle, reset, reboot): only when the BMC was not reached at all, as a
 * timeout may mean the BMC got the command.
 */
export const RETRY_ON_UNREACHABLE_ONLY: readonly BmcErrorKind[] = ['unreachable'];

/** Waits, or rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `run` until it succeeds, fails with a kind not in `retryOn`, or the tries are used up. Every try is
 * recorded in the context.
 */
export async function callWithRetries<T>(
  context: OperationContext,
  origin: BmcErrorOrigin,
  description: string,
  policy: RetryPolicy,
  run: () => Promise<T>,
  retryOn: readonly BmcErrorKind[] = RETRY_ON_NO_ANSWER,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    context.signal.throwIfAborted();
    const started = performance.now();
    try {
      const result = await run();
      context.recordCall({ description, try: attempt, elapsedMs: Math.round(performance.now() - started) });
      return result;
    } catch (error) {
      const failure = isBmcError(error)
        ? error
        : new BmcError('internal', origin, `${description}: ${error instanceof Error ? error.message : String(error)}`);
      context.recordCall({
        description,
        try: attempt,
        elapsedMs: Math.round(performance.now() - started),
        failure: failure.toFailure(),
      });
      const worthRetrying = retryOn.includes(failure.kind);
      if (!worthRetrying || attempt > policy.retries || context.signal.aborted) throw failure;
      await sleep(policy.delayMs * 2 ** (attempt - 1), context.signal);
    }
  }
}
