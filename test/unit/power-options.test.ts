import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BmcError, BMC_ERROR_KINDS, isRetryable } from '../../power/errors.js';
import { OptionReader, readCommonOptions } from '../../power/options.js';
import { createDefaultRegistry } from '../../power/registry.js';
import type { BmcTarget } from '../../power/types.js';

const origin = { systemName: 'web01', driver: 'ipmitool' };

function isInvalidConfig(pattern: RegExp) {
  return (error: unknown): boolean => error instanceof BmcError && error.kind === 'invalid-config' && pattern.test(error.message);
}

test('booleans, integers, seconds and choices, with defaults', () => {
  const reader = new OptionReader({ a: 'yes', b: 'OFF', n: '5', s: '1.5', c: 'Operator', empty: '' }, origin);
  assert.equal(reader.boolean('a', false), true);
  assert.equal(reader.boolean('b', true), false);
  assert.equal(reader.boolean('missing', true), true);
  assert.equal(reader.boolean('empty', true), true);
  assert.equal(reader.integer('n', 1, 0, 10), 5);
  assert.equal(reader.seconds('s', 3), 1500);
  assert.equal(reader.seconds('missing', 3), 3000);
  assert.equal(reader.choice('c', ['user', 'operator'] as const, 'user'), 'operator');
});

test('a bad option value is invalid-config naming the machine, the driver and the option', () => {
  const reader = new OptionReader({ a: 'perhaps', n: '11', x: '2x', s: '-1', c: 'root' }, origin);
  assert.throws(() => reader.boolean('a', false), isInvalidConfig(/^web01: ipmitool: option a="perhaps" is not valid/));
  assert.throws(() => reader.integer('n', 1, 0, 10), isInvalidConfig(/n="11"/));
  assert.throws(() => reader.integer('x', 1, 0, 10), isInvalidConfig(/x="2x"/));
  assert.throws(() => reader.seconds('s', 1), isInvalidConfig(/s="-1"/));
  assert.throws(() => reader.choice('c', ['user', 'operator'] as const, 'user'), isInvalidConfig(/one of user, operator/));
});

test('common options and their defaults', () => {
  assert.deepEqual(readCommonOptions(new OptionReader({}, origin)), {
    driverTimeoutMs: 120000,
    callTimeoutMs: undefined,
    retries: 2,
    retryDelayMs: 1000,
    readbackTimeoutMs: 60000,
    readbackIntervalMs: 250,
    cycleSettleMs: 5000,
  });
  const custom = readCommonOptions(new OptionReader({ retries: '0', call_timeout: '4', readback_timeout: '90' }, origin), 15);
  assert.equal(custom.retries, 0);
  assert.equal(custom.callTimeoutMs, 4000);
  assert.equal(custom.readbackTimeoutMs, 90000);
  assert.equal(readCommonOptions(new OptionReader({}, origin), 15).callTimeoutMs, 15000);
});

test('retryable kinds', () => {
  assert.deepEqual(BMC_ERROR_KINDS.filter(isRetryable), ['unreachable', 'timeout', 'state-not-reached']);
  assert.equal(isRetryable('auth'), false);
  assert.equal(isRetryable('tls'), false);
});

test('power types resolve to drivers; other names to installed fence agents', () => {
  const installed = new Set(['fence_ipmilan', 'fence_drac5', 'fence_wti']);
  const registry = createDefaultRegistry((name) => (installed.has(name) ? `/usr/sbin/${name}` : null));
  const target = (type: string): BmcTarget => ({ systemName: 'web01', type, address: '10.0.0.5', options: {} });
  assert.equal(registry.resolve(target('ipmi')).driver, 'ipmitool');
  assert.equal(registry.resolve(target('IPMItool')).driver, 'ipmitool');
  assert.equal(registry.resolve(target('ipmilanplus')).driver, 'ipmitool');
  assert.equal(registry.resolve(target('redfish')).driver, 'redfish');
  assert.equal(registry.resolve(target('ipmilan')).driver, 'fence_ipmilan');
  assert.equal(registry.resolve(target('drac5')).driver, 'fence_drac5');
  assert.equal(registry.resolve(target('fence_wti')).driver, 'fence_wti');
  assert.equal(registry.createDriver(target('drac5')).name, 'fence_drac5');
});

test('an unknown power type is unsupported and named', () => {
  const registry = createDefaultRegistry(() => null);
  const target: BmcTarget = { systemName: 'web01', type: 'ilo9', address: '10.0.0.5', options: {} };
  assert.throws(
    () => registry.resolve(target),
    (error: unknown) => error instanceof BmcError && error.kind === 'unsupported' && /power type "ilo9"/.test(error.message) && /fence_ilo9/.test(error.message),
  );
  assert.throws(
    () => registry.resolve({ ...target, type: '../../bin/sh' }),
    (error: unknown) => error instanceof BmcError && error.kind === 'unsupported',
  );
});
