// Hostile input for the TFTP packet decoder, option negotiation and the path jail: random and mutated
// RRQ/WRQ/DATA/ACK/ERROR/OACK packets never make decoding throw, decode to what was encoded when valid,
// and no requested name normalizes to a path that leaves the root. Counts are printed (test/support/fuzz.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { fuzz, hostileString } from '../support/fuzz.js';
import {
  TftpOpcode,
  decodeTftpPacket,
  encodeTftpAcknowledgement,
  encodeTftpData,
  encodeTftpError,
  encodeTftpOptionAcknowledgement,
  encodeTftpRequest,
  maxTftpBlockSize,
  type TftpOption,
} from '../../boot/tftp/packets.js';
import { maxTftpWindowSize, negotiateTftpOptions } from '../../boot/tftp/options.js';
import { isInsideDirectory, normalizeTftpPath } from '../../boot/tftp/jail.js';
import type { TftpErrorKind } from '../../boot/tftp/errors.js';

const optionNames = ['blksize', 'tsize', 'timeout', 'utimeout', 'windowsize', 'BLKSIZE', 'WindowSize', 'multicast', 'rollover', '__proto__', 'constructor'];
const latin1NoNul = fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 24 });
const optionValue = fc.oneof(
  fc.integer({ min: -10, max: 100_000_000_000 }).map(String),
  fc.constantFrom('0', '8', '7', '512', '1468', '65464', '65465', '255', '256', ' 512', '1e3', '0x200', '', '-1', '99999999999'),
  latin1NoNul,
);
const option: fc.Arbitrary<TftpOption> = fc.record({ name: fc.oneof(fc.constantFrom(...optionNames), latin1NoNul.filter((s) => s.length > 0)), value: optionValue });
const options = fc.array(option, { maxLength: 8 });
const filename = fc.oneof(hostileString(), fc.string({ maxLength: 40 })).filter((s) => !s.includes('\0'));
const errorKinds: TftpErrorKind[] = ['not-defined', 'file-not-found', 'access-violation', 'disk-full', 'illegal-operation', 'unknown-transfer-id', 'file-exists', 'no-such-user', 'option-negotiation-refused'];

/** Valid packets of every type, encoded by the same code the server and client use. */
const validPacket: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.constantFrom('read-request', 'write-request') as fc.Arbitrary<'read-request' | 'write-request'>, filename, fc.constantFrom('octet', 'netascii', 'OCTET', 'mail', 'binary'), options).map(([type, name, mode, opts]) => encodeTftpRequest(type, name, mode, opts)),
  fc.integer({ min: 0, max: 0xffff }).map(encodeTftpAcknowledgement),
  fc.tuple(fc.integer({ min: 0, max: 0x1ffff }), fc.uint8Array({ maxLength: 600 })).map(([block, data]) => encodeTftpData(block, data)),
  fc.tuple(fc.constantFrom(...errorKinds), fc.string({ maxLength: 60 })).map(([kind, message]) => encodeTftpError(kind, message)),
  options.map(encodeTftpOptionAcknowledgement),
);

type Mutation = { kind: 'flip'; at: number; value: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'opcode'; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('opcode' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
);

export function mutate(packet: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(packet);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.kind === 'opcode' ? 0 : m.at % (bytes.length + 1);
    if (m.kind === 'flip' && bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
    else if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    else if (m.kind === 'opcode' && bytes.length >= 2) bytes.writeUInt16BE(m.value, 0);
  }
  return bytes;
}
export const mutatedPacket = fc.tuple(validPacket, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([packet, mutations]) => mutate(packet, mutations));

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

const pathPiece = fc.oneof(
  fc.constantFrom('..', '.', '', 'pxelinux.cfg', 'default', 'link-out', '%2e%2e', '..%2f', '%2F', '\\', '..\\..', '\0', 'etc', 'passwd', '/', '//', '...', '. .', '~', '$HOME', 'C:', '\u2215', '\uff0e\uff0e'),
  fc.string({ maxLength: 5 }),
);
export const hostilePath = fc
  .tuple(fc.constantFrom('', '/', '//', '\\', './', '../', '/..', 'C:\\'), fc.array(pathPiece, { minLength: 1, maxLength: 8 }), fc.constantFrom('/', '\\', '/./', '//'))
  .map(([prefix, pieces, separator]) => prefix + pieces.join(separator));

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
