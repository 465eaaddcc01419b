import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateTftpOptions, tftpOptionsRecord, type TftpOptionLimits } from '../../boot/tftp/options.js';

const limits: TftpOptionLimits = { maxBlockSize: 65464, maxWindowSize: 64, defaultTimeoutMs: 1000 };

test('no options: RFC 1350 defaults and no OACK', () => {
  assert.deepEqual(negotiateTftpOptions([], 1234, limits), {
    blockSize: 512,
    windowSize: 1,
    timeoutMs: 1000,
    acknowledged: [],
  });
});

test('blksize, tsize, timeout and windowsize are acknowledged in the order asked', () => {
  const negotiated = negotiateTftpOptions(
    [
      { name: 'windowsize', value: '16' },
      { name: 'tsize', value: '0' },
      { name: 'blksize', value: '1468' },
      { name: 'timeout', value: '3' },
    ],
    123456,
    limits,
  );
  assert.equal(negotiated.blockSize, 1468);
  assert.equal(negotiated.windowSize, 16);
  assert.equal(negotiated.timeoutMs, 3000);
  assert.deepEqual(negotiated.acknowledged, [
    { name: 'windowsize', value: '16' },
    { name: 'tsize', value: '123456' },
    { name: 'blksize', value: '1468' },
    { name: 'timeout', value: '3' },
  ]);
});

test('blksize: below 8 ignored, above the limit answered with the limit', () => {
  assert.deepEqual(negotiateTftpOptions([{ name: 'blksize', value: '7' }], 0, limits).acknowledged, []);
  const clamped = negotiateTftpOptions([{ name: 'blksize', value: '65535' }], 0, { ...limits, maxBlockSize: 1468 });
  assert.equal(clamped.blockSize, 1468);
  assert.deepEqual(clamped.acknowledged, [{ name: 'blksize', value: '1468' }]);
  assert.equal(negotiateTftpOptions([{ name: 'blksize', value: '8' }], 0, limits).blockSize, 8);
  assert.equal(negotiateTftpOptions([{ name: 'blksize', value: '99999' }], 0, limits).blockSize, 65464);
});

test('timeout outside 1..255 and non-numeric values are not acknowledged', () => {
  for (const value of ['0', '256', 'abc', '-1', '1.5', '']) {
    const negotiated = negotiateTftpOptions([{ name: 'timeout', value }], 0, limits);
    assert.deepEqual(negotiated.acknowledged, [], `timeout ${JSON.stringify(value)}`);
    assert.equal(negotiated.timeoutMs, 1000);
  }
});

test('utimeout (tftpd-hpa) is in microseconds', () => {
  const negotiated = negotiateTftpOptions([{ name: 'utimeout', value: '200000' }], 0, limits);
  assert.equal(negotiated.timeoutMs, 200);
  assert.deepEqual(negotiated.acknowledged, [{ name: 'utimeout', value: '200000' }]);
});

test('windowsize: clamped to the server limit, 0 ignored', () => {
  const clamped = negotiateTftpOptions([{ name: 'windowsize', value: '500' }], 0, limits);
  assert.equal(clamped.windowSize, 64);
  assert.deepEqual(clamped.acknowledged, [{ name: 'windowsize', value: '64' }]);
  assert.deepEqual(negotiateTftpOptions([{ name: 'windowsize', value: '0' }], 0, limits).acknowledged, []);
});

test('unknown options are ignored; only unknown options means no OACK; a repeated option counts once', () => {
  assert.deepEqual(negotiateTftpOptions([{ name: 'multicast', value: '' }], 0, limits).acknowledged, []);
  const repeated = negotiateTftpOptions(
    [
      { name: 'blksize', value: '1024' },
      { name: 'blksize', value: '2048' },
    ],
    0,
    limits,
  );
  assert.equal(repeated.blockSize, 1024);
  assert.equal(repeated.acknowledged.length, 1);
});

test('options as a record keep the first value and treat hostile names as data', () => {
  const record = tftpOptionsRecord([
    { name: '__proto__', value: 'x' },
    { name: 'blksize', value: '1' },
    { name: 'blksize', value: '2' },
  ]);
  assert.equal(record['blksize'], '1');
  assert.equal(Object.getPrototypeOf(record), Object.prototype);
  assert.equal(Object.hasOwn(record, '__proto__'), true);
});

test('tsize is left out for an empty file (curl refuses "tsize 0")', () => {
  const negotiated = negotiateTftpOptions(
    [
      { name: 'tsize', value: '0' },
      { name: 'blksize', value: '512' },
    ],
    0,
    limits,
  );
  assert.deepEqual(negotiated.acknowledged, [{ name: 'blksize', value: '512' }]);
});
