// The start-up retry's timing and logging rules, on node's mocked timers (no real clock involved).
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, retryUntilSuccess, START_UP_BACKOFF, type RetryUntilSuccessOptions } from '../../concurrency/retry-until-success.js';

/** Lets the promises that the mocked timers resolved run (setImmediate is not mocked). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function recordingLog() {
  const lines: Array<{ level: 'info' | 'warn'; line: string }> = [];
  return { lines, log: { info: (line: string) => lines.push({ level: 'info', line }), warn: (line: string) => lines.push({ level: 'warn', line }) } };
}

/** A try that fails until `failures` tries have failed, counting its tries. */
function failingTimes(failures: number): { tries: () => number; attempt: RetryUntilSuccessOptions['attempt'] } {
  let tries = 0;
  return {
    tries: () => tries,
    attempt: async () => {
      tries++;
      if (tries <= failures) throw new Error('Temporal: unreachable');
      return 'schedule created';
    },
  };
}

describe('backoffDelayMs', () => {
  test('1 s doubling to at most 60 s, without jitter at random 0', () => {
    const delays = Array.from({ length: 9 }, (_, index) => backoffDelayMs(START_UP_BACKOFF, index + 1, () => 0));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    assert.equal(backoffDelayMs(START_UP_BACKOFF, 10_000, () => 0), 60_000, 'no overflow after many failures');
  });

  test('jitter shortens a wait by at most its fraction, never lengthens it', () => {
    assert.equal(backoffDelayMs(START_UP_BACKOFF, 1, () => 0.999_999), 800);
    assert.equal(backoffDelayMs(START_UP_BACKOFF, 7, () => 0.5), 54_000);
    for (const random of [0, 0.25, 0.5, 0.75, 0.99]) {
      const delay = backoffDelayMs(START_UP_BACKOFF, 3, () => random);
      assert.ok(delay <= 4000 && delay >= 3200, `${delay}`);
    }
  });
});

describe('retryUntilSuccess', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a first try that succeeds logs its line and schedules nothing', async () => {
    const { lines, log } = recordingLog();
    const retried = retryUntilSuccess({ what: 'reconcile the schedule', attempt: async () => 'schedule created', log });
    await retried.firstTry;
    assert.equal(await retried.outcome, true);
    assert.deepEqual(lines, [{ level: 'info', line: 'schedule created' }]);
    await retried.stop();
  });

  test('one warning at the first failure, one line at the success, none for the tries between', async () => {
    const { lines, log } = recordingLog();
    const { tries, attempt } = failingTimes(3);
    const retried = retryUntilSuccess({ what: 'reconcile the schedule', meanwhile: 'audits run only when asked', attempt, log, random: () => 0 });
    await retried.firstTry;
    assert.equal(tries(), 1);
    assert.deepEqual(lines, [
      {
        level: 'warn',
        line: 'could not reconcile the schedule (Temporal: unreachable); will retry every 1s to 1m (doubling, with jitter) until it succeeds; until then audits run only when asked',
      },
    ]);
    for (const waitMs of [1000, 2000, 4000]) {
      mock.timers.tick(waitMs);
      await settle();
    }
    assert.equal(tries(), 4);
    assert.equal(await retried.outcome, true);
    assert.deepEqual(lines.slice(1), [{ level: 'info', line: 'schedule created (after 4 tries)' }]);
    mock.timers.tick(600_000);
    await settle();
    assert.equal(tries(), 4, 'nothing after the success');
  });

  test('a new reason is said once: Temporal came up and refuses our key', async () => {
    const { lines, log } = recordingLog();
    const reasons = ['nothing listens there', 'nothing listens there', 'UNAUTHENTICATED: bad API key', 'UNAUTHENTICATED: bad API key'];
    let tries = 0;
    const retried = retryUntilSuccess({
      what: 'start the rescue worker',
      attempt: async () => {
        const reason = reasons[tries++];
        if (reason !== undefined) throw new Error(reason);
        return 'polling';
      },
      log,
      random: () => 0,
    });
    await retried.firstTry;
    for (const waitMs of [1000, 2000, 4000, 8000]) {
      mock.timers.tick(waitMs);
      await settle();
    }
    assert.equal(await retried.outcome, true);
    assert.deepEqual(
      lines.map((l) => l.line.replace(/; will retry .*/, '')),
      ['could not start the rescue worker (nothing listens there)', 'still cannot start the rescue worker, now: UNAUTHENTICATED: bad API key; retrying', 'polling (after 5 tries)'],
    );
  });

  test('tries after 1, 2, 4, ... s, then once a minute however long it fails', async () => {
    const { attempt, tries } = failingTimes(Number.POSITIVE_INFINITY);
    const { lines, log } = recordingLog();
    const retried = retryUntilSuccess({ what: 'register the search attributes', attempt, log, random: () => 0 });
    await retried.firstTry;
    const waits = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000];
    for (const [index, waitMs] of waits.entries()) {
      mock.timers.tick(waitMs - 1);
      await settle();
      assert.equal(tries(), index + 1, `not before ${waitMs} ms`);
      mock.timers.tick(1);
      await settle();
      assert.equal(tries(), index + 2, `after ${waitMs} ms`);
    }
    assert.equal(lines.length, 1, 'the first failure only');
    await retried.stop();
    assert.equal(await retried.outcome, false);
  });

  test('stop while waiting: no try after it, no timer left, no line', async () => {
    const { attempt, tries } = failingTimes(Number.POSITIVE_INFINITY);
    const { lines, log } = recordingLog();
    const retried = retryUntilSuccess({ what: 'start the rescue worker', attempt, log, random: () => 0 });
    await retried.firstTry;
    mock.timers.tick(1000);
    await settle();
    assert.equal(tries(), 2);
    await retried.stop();
    assert.equal(await retried.outcome, false);
    mock.timers.tick(3_600_000);
    await settle();
    assert.equal(tries(), 2);
    assert.equal(lines.length, 1);
  });

  test('stop during a try aborts its signal, waits for it, and tries no more', async () => {
    const { lines, log } = recordingLog();
    let tries = 0;
    let seenSignal: AbortSignal | undefined;
    const retried = retryUntilSuccess({
      what: 'reconcile the schedule',
      log,
      attempt: (signal) => {
        tries++;
        seenSignal = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      },
    });
    await settle();
    assert.equal(tries, 1);
    await retried.stop();
    assert.equal(seenSignal?.aborted, true);
    assert.equal(await retried.outcome, false);
    mock.timers.tick(3_600_000);
    await settle();
    assert.equal(tries, 1);
    assert.deepEqual(lines, [], 'a try cut by the stop is no failure to report');
  });
});

describe('retryUntilSuccess on the real timers', () => {
  test('its wait is the one timer it holds, and stop clears it', async () => {
    const pendingTimeouts = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = pendingTimeouts();
    const { log } = recordingLog();
    const retried = retryUntilSuccess({ what: 'register the search attributes', attempt: failingTimes(Number.POSITIVE_INFINITY).attempt, log });
    await retried.firstTry;
    await settle();
    assert.equal(pendingTimeouts(), before + 1, 'waiting for the next try');
    await retried.stop();
    assert.equal(pendingTimeouts(), before, 'no timer left after stop');
  });
});
