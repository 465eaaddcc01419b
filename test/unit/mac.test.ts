import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidMacAddressError, macToBootFileSuffix, normalizeMac } from '../../inventory/mac.js';

test('every usual MAC form normalises to lower-case colons', () => {
  for (const form of ['52:54:00:12:34:AB', '52-54-00-12-34-ab', '5254.0012.34ab', '5254001234AB', '  52:54:00:12:34:ab ']) {
    assert.equal(normalizeMac(form), '52:54:00:12:34:ab', form);
  }
});

test('anything else is refused, naming the value', () => {
  for (const bad of ['', '52:54:00:12:34', '52:54:00:12:34:ab:cd', '52:54:00:12:34:zz', '52:54-00:12:34:ab', '5254.0012.34a', 'not a mac', '52:54:00:12:34:ab;rm']) {
    assert.throws(() => normalizeMac(bad), (error: unknown) => error instanceof InvalidMacAddressError && error.message.includes(`"${bad}"`), JSON.stringify(bad));
  }
});

test('pxelinux/GRUB per-MAC file suffix', () => {
  assert.equal(macToBootFileSuffix('52:54:00:12:34:AB'), '01-52-54-00-12-34-ab');
});
