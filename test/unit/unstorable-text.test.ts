// Text PostgreSQL cannot store (U+0000; a lone UTF-16 surrogate, which jsonb refuses) is found wherever it is
// in a body, and named by its path; a surrogate pair is a character like any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findUnstorableText } from '../../api/nul-characters.js';

test('a lone surrogate, high or low, at any place of a string or key, is found with its path', () => {
  const at = (value: unknown) => findUnstorableText(value)?.path;
  assert.deepEqual(at({ a: ['ok', 'x\ud800'] }), ['a', '1'], 'a high surrogate at the end');
  assert.deepEqual(at({ a: '\ud800x' }), ['a'], 'a high surrogate followed by no low one');
  assert.deepEqual(at({ a: 'x\udc00' }), ['a'], 'a low surrogate preceded by no high one');
  assert.deepEqual(at({ a: '\udc00\ud800' }), ['a'], 'a pair in the wrong order is two lone halves');
  assert.deepEqual(at({ labels: { 'k\udfff': 'v' } }), ['labels', 'k\udfff'], 'in a key');
  assert.match(findUnstorableText({ a: '\ud800' })!.reason, /lone UTF-16 surrogate \(\\ud800\)/);
  assert.match(findUnstorableText({ a: 'x\u0000' })!.reason, /NUL character/);
});

test('surrogate pairs, and text without either, are stored as they are', () => {
  assert.equal(findUnstorableText({ a: '\ud83d\ude00', b: ['\u{10FFFF}', 'é', ''], c: { '\u{1F600}': 1 }, d: null, e: 3 }), undefined);
});
