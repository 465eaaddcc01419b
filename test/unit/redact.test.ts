// Tokens out of what is logged or shown: the request URLs and kernel command lines that carry them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets, redactTokens, redactUrl } from '../../secrets/redact.js';

test('request URLs lose the phone-home token in the path and any token in the query string', () => {
  assert.equal(redactUrl('/boot/rescue/AbC-123_xyz/ready'), '/boot/rescue/[redacted]/ready');
  assert.equal(redactUrl('/boot/rescue/AbC-123_xyz/ready?x=1'), '/boot/rescue/[redacted]/ready?x=1');
  assert.equal(redactUrl('/boot/status/web01/started?token=s3cr3t'), '/boot/status/web01/started?token=[redacted]');
  assert.equal(redactUrl('/x?a=1&TOKEN=s3cr3t&b=2'), '/x?a=1&TOKEN=[redacted]&b=2');
  assert.equal(redactUrl('/api/v1/systems?label=rack=r1'), '/api/v1/systems?label=rack=r1', 'nothing else changes');
});

test('messages and kernel command lines lose the tokens they quote', () => {
  assert.equal(
    redactTokens('no route POST /boot/rescue/T0k3n/ready; rescued.callback=http://h/boot/rescue/T0k3n/ready rescued.token=T0k3n console=ttyS0'),
    'no route POST /boot/rescue/[redacted]/ready; rescued.callback=http://h/boot/rescue/[redacted]/ready rescued.token=[redacted] console=ttyS0',
  );
  assert.equal(redactSecrets('a TOKEN b TOKEN', ['TOKEN', '']), 'a [redacted] b [redacted]');
});
