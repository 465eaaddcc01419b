// What the power tests ask of a chain result: its value, or a failure that says what went wrong.
import assert from 'node:assert/strict';
import type { PowerChainResult } from '../../power/chain.js';

export function value<T>(result: PowerChainResult<T>): T {
  if (!result.ok) assert.fail(`expected success, got ${result.failure.kind}: ${result.failure.message}`);
  return result.value;
}
