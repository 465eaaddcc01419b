// Hostile input for the TFTP packet decoder, option negotiation and the path jail: random and mutated
// RRQ/WRQ/DATA/ACK/ERROR/OACK packets never make decoding throw, decode to what was encoded when valid,
// and no requested name normalizes to a path that leaves the root. Counts are printed (test/support/fuzz.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { fuzz, hostileString } from '../support/fuzz.js';
import { errorKinds, filename, hostilePath, mutatedPacket, options } from '../support/tftp-fuzz.js';
import { TftpOpcode, decodeTftpPacket, encodeTftpAcknowledgement, encodeTftpRequest, maxTftpBlockSize } from '../../boot/tftp/packets.js';
import { maxTftpWindowSize, negotiateTftpOptions } from '../../boot/tftp/options.js';
import { isInsideDirectory, normalizeTftpPath } from '../../boot/tftp/jail.js';

/** What any decoding result must look like, whatever the input. */
function assertWellFormedResult(input: Buffer): void {
  const result = decodeTftpPacket(input);
  if (!result.ok) {
    assert.equal(typeof result.problem.message, 'string');
    assert.ok(result.problem.message.length > 0);
    assert.ok(errorKinds.includes(result.problem.kind));
    return;
  }
  const packet = result.packet;
  switch (packet.type) {
    case 'read-request':
    case 'write-request':
      assert.ok(packet.mode === 'octet' || packet.mode === 'netascii');
      assert.ok(!packet.filename.includes('\0'));
      for (const o of packet.options) assert.ok(o.name.length > 0 && o.name === o.name.toLowerCase());
      break;
    case 'data':
      assert.ok(packet.block >= 0 && packet.block <= 0xffff);
      assert.ok(packet.data.length <= maxTftpBlockSize);
      break;
    case 'acknowledgement':
      assert.ok(packet.block >= 0 && packet.block <= 0xffff);
      assert.equal(input.length, 4);
      break;
    case 'error':
      assert.ok(errorKinds.includes(packet.kind));
      break;
    case 'option-acknowledgement':
      for (const o of packet.options) assert.ok(o.name.length > 0);
      break;
  }
}

test('random bytes never make the decoder throw, and every result is well formed', () => {
  fuzz('decodeTftpPacket(random bytes)', fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)), assertWellFormedResult, 5000);
  // Random bytes behind each real opcode reach deeper than random opcodes.
  fuzz(
    'decodeTftpPacket(opcode 1-6 + random bytes)',
    fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 300 })).map(([opcode, rest]) => Buffer.concat([Buffer.from([0, opcode]), rest])),
    assertWellFormedResult,
    5000,
  );
});

test('mutated RRQ/WRQ/DATA/ACK/ERROR/OACK packets never make the decoder throw', () => {
  fuzz('decodeTftpPacket(mutated packets)', mutatedPacket, assertWellFormedResult, 5000);
});

test('a request decodes to what was encoded: file name, mode and options (names lower-cased)', () => {
  fuzz(
    'request round trip',
    fc.tuple(filename.filter((s) => s.length > 0), fc.constantFrom('octet', 'netascii'), options),
    ([name, mode, opts]) => {
      const result = decodeTftpPacket(encodeTftpRequest('read-request', name, mode, opts));
      // An empty last value reads as NUL padding (some PXE ROMs pad), so that option has no value: refused, not a crash.
      if (opts.at(-1)?.value === '') {
        assert.ok(!result.ok || result.packet.type === 'read-request');
        return;
      }
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.packet.type, 'read-request');
      if (result.packet.type !== 'read-request') return;
      assert.equal(result.packet.filename, name);
      assert.equal(result.packet.mode, mode);
      assert.deepEqual(result.packet.options, opts.map((o) => ({ name: o.name.toLowerCase(), value: o.value })));
    },
    3000,
  );
  const ack = decodeTftpPacket(encodeTftpAcknowledgement(0x1234));
  assert.deepEqual(ack, { ok: true, packet: { type: 'acknowledgement', block: 0x1234 } });
  assert.equal(TftpOpcode.optionAcknowledgement, 6);
});

test('option negotiation stays within the limits whatever the client asks', () => {
  const limits = fc.record({ maxBlockSize: fc.integer({ min: -5, max: 100_000 }), maxWindowSize: fc.integer({ min: -5, max: 100_000 }), defaultTimeoutMs: fc.integer({ min: 1, max: 10_000 }) });
  fuzz(
    'negotiateTftpOptions(random options)',
    fc.tuple(options, fc.integer({ min: 0, max: 2 ** 40 }), limits),
    ([requested, size, lim]) => {
      const n = negotiateTftpOptions(requested.map((o) => ({ name: o.name.toLowerCase(), value: o.value })), size, lim);
      assert.ok(Number.isInteger(n.blockSize) && n.blockSize >= 8 && n.blockSize <= maxTftpBlockSize, `blockSize ${n.blockSize}`);
      assert.ok(n.blockSize <= Math.max(8, lim.maxBlockSize) || n.blockSize === 512);
      assert.ok(Number.isInteger(n.windowSize) && n.windowSize >= 1 && n.windowSize <= maxTftpWindowSize);
      assert.ok(n.timeoutMs === lim.defaultTimeoutMs || (n.timeoutMs >= 10 && n.timeoutMs <= 255_000), `timeoutMs ${n.timeoutMs}`);
      const names = n.acknowledged.map((o) => o.name);
      assert.equal(new Set(names).size, names.length, 'an option acknowledged twice');
      for (const o of n.acknowledged) assert.match(o.value, /^[0-9]+$/);
    },
    5000,
  );
});

test('no requested name normalizes to a path outside the root', () => {
  const root = '/srv/tftp-root';
  fuzz(
    'normalizeTftpPath(hostile paths)',
    fc.oneof(hostilePath, hostileString(), fc.string({ unit: 'binary', maxLength: 300 })),
    (requested) => {
      const result = normalizeTftpPath(requested);
      if (!result.ok) {
        assert.ok(result.problem.message.length > 0);
        return;
      }
      const path = result.path;
      assert.ok(!path.startsWith('/'), path);
      assert.ok(!path.includes('\\') && !path.includes('\0'), path);
      for (const component of path.split('/')) assert.ok(component !== '' && component !== '.' && component !== '..', path);
      assert.ok(isInsideDirectory(resolve(join(root, path)), root), path);
    },
    5000,
  );
});
