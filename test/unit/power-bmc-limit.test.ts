// The per-BMC concurrency limit: at most N holders per key, served in arrival order, waiters leave on abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultBmcConcurrency, KeyedSemaphore } from '../../power/bmc-limit.js';
import { bmcKey } from '../../power/chain.js';

test('at most the limit run at once per key; other keys do not wait', async () => {
  const limiter = new KeyedSemaphore();
  const signal = new AbortController().signal;
  const first = await limiter.acquire('bmc-a', 2, signal);
  const second = await limiter.acquire('bmc-a', 2, signal);
  let thirdGot = false;
  const third = limiter.acquire('bmc-a', 2, signal).then((release) => {
    thirdGot = true;
    return release;
  });
  const other = await limiter.acquire('bmc-b', 2, signal);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(thirdGot, false);
  assert.equal(limiter.running('bmc-a'), 2);
  first();
  first(); // a second release of the same slot changes nothing
  const release = await third;
  assert.equal(limiter.running('bmc-a'), 2);
  second();
  release();
  other();
  assert.equal(limiter.running('bmc-a'), 0);
});

test('a waiter whose signal aborts leaves the queue with the signal\'s reason', async () => {
  const limiter = new KeyedSemaphore();
  const hold = await limiter.acquire('bmc', 1, new AbortController().signal);
  const controller = new AbortController();
  const waiting = limiter.acquire('bmc', 1, controller.signal);
  controller.abort(new Error('driver_timeout'));
  await assert.rejects(waiting, /driver_timeout/);
  hold();
  assert.equal(limiter.running('bmc'), 0);
});

test('the default limit is 4, or RESCUED_BMC_CONCURRENCY when it is 1 to 64', () => {
  assert.equal(defaultBmcConcurrency({}), 4);
  assert.equal(defaultBmcConcurrency({ RESCUED_BMC_CONCURRENCY: '8' }), 8);
  assert.equal(defaultBmcConcurrency({ RESCUED_BMC_CONCURRENCY: '0' }), 4);
  assert.equal(defaultBmcConcurrency({ RESCUED_BMC_CONCURRENCY: 'lots' }), 4);
});

test('one BMC is one key, however its address is written', () => {
  const target = (address: string, port?: number) => ({ systemName: 's', type: 'redfish', address, options: {}, ...(port !== undefined ? { port } : {}) });
  assert.equal(bmcKey(target('https://BMC1.example')), bmcKey(target('bmc1.example')));
  assert.equal(bmcKey(target('http://127.0.0.1:8001')), bmcKey(target('127.0.0.1', 8001)));
  assert.notEqual(bmcKey(target('http://127.0.0.1:8001')), bmcKey(target('http://127.0.0.1:8002')));
});
