// The webhook bench's verdict (bench/support/webhook-verdict.ts): a run that fell behind its rate measures its
// backlog, so the target is judged only when both runs kept the rate; the figures of the first run on a slower
// host (2026-12-03: the bare loop kept 144/s of 200/s, its p50 3.2 s) are the case it was written for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedRate, keptRate, webhookVerdict } from '../../bench/support/webhook-verdict.js';

const run = (accepted: number, elapsedS: number, p99Ms: number, count = 2000) => ({ count, accepted, elapsedS, p99Ms });

test('a run that answered every call within about half a second of its schedule kept its rate', () => {
  assert.equal(keptRate(run(2000, 10.05, 60), 200), true);
  assert.equal(keptRate(run(2000, 10.6, 600), 200), false, '189/s: its last answers came 0.6 s late');
  assert.equal(keptRate(run(1999, 10.0, 40), 200), false, 'a call was not accepted');
  assert.equal(acceptedRate(run(0, 0, 0)), 0);
});

test('when the bare loop fell behind, the target is not measurable, whatever the ratio of the two queues', () => {
  const verdict = webhookVerdict(200, run(2000, 15.7, 5680.1), run(2000, 13.9, 3923.8));
  assert.match(verdict, /^target not measurable here at 200\/s: the bare loop itself kept only 144\/s \(2000 of 2000 started\)/);
  assert.doesNotMatch(verdict, /held/);
});

test('when only the webhook path fell behind, the target is not held', () => {
  assert.match(webhookVerdict(200, run(2000, 11.5, 900), run(2000, 10.01, 20)), /^target not held: the webhook path kept only 174\/s/);
});

test('both runs kept their rate: held only within 50 ms and 1.3 times the bare p99', () => {
  assert.match(webhookVerdict(200, run(2000, 10.02, 24), run(2000, 10.01, 20)), /^target held: webhook p99 24\.0 ms \(at most 50\), 1\.20x the bare start's 20\.0 ms/);
  assert.match(webhookVerdict(200, run(2000, 10.02, 62.2), run(2000, 10.01, 18)), /^target not held: webhook p99 62\.2 ms/);
  assert.match(webhookVerdict(200, run(2000, 10.02, 40), run(2000, 10.01, 20)), /^target not held: .* 2\.00x/, 'under 50 ms but twice the bare start');
  assert.match(webhookVerdict(100, run(1000, 10.02, 20, 1000), run(1000, 10.01, 18, 1000)), /^target held \(measured at 100\/s; the target is stated at 200\/s\)/);
});
