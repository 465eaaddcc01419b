import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeTftpPacket,
  encodeTftpAcknowledgement,
  encodeTftpData,
  encodeTftpError,
  encodeTftpOptionAcknowledgement,
  encodeTftpRequest,
  type TftpDecodeResult,
  type TftpPacket,
} from '../../boot/tftp/packets.js';
import { tftpErrorCode, tftpErrorKind } from '../../boot/tftp/errors.js';
import { decodeNetascii, encodeNetascii } from '../../boot/tftp/netascii.js';

function packetOf(result: TftpDecodeResult): TftpPacket {
  assert.ok(result.ok, `expected a packet, got ${result.ok ? '' : result.problem.message}`);
  return result.packet;
}

function bytes(...parts: (number[] | string)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

test('a read request with options decodes, option names lower-cased, mode case-insensitive', () => {
  const packet = packetOf(decodeTftpPacket(bytes([0, 1], 'pxelinux.0\0', 'OCTET\0', 'BlkSize\0', '1468\0', 'tsize\0', '0\0')));
  assert.deepEqual(packet, {
    type: 'read-request',
    filename: 'pxelinux.0',
    filenameBytes: 10,
    mode: 'octet',
    options: [
      { name: 'blksize', value: '1468' },
      { name: 'tsize', value: '0' },
    ],
  });
});

test('a request encodes and decodes back to itself', () => {
  const encoded = encodeTftpRequest('write-request', 'grub/grub.cfg', 'netascii', [{ name: 'windowsize', value: '16' }]);
  assert.deepEqual(packetOf(decodeTftpPacket(encoded)), {
    type: 'write-request',
    filename: 'grub/grub.cfg',
    filenameBytes: 13,
    mode: 'netascii',
    options: [{ name: 'windowsize', value: '16' }],
  });
});

test('trailing NUL padding after a request is not an option', () => {
  const packet = packetOf(decodeTftpPacket(bytes([0, 1], 'a\0octet\0', [0, 0, 0])));
  assert.equal(packet.type, 'read-request');
  assert.deepEqual(packet.type === 'read-request' && packet.options, []);
});

test('malformed requests are values that say how to answer', () => {
  const cases: [Buffer, string, RegExp][] = [
    [bytes([0]), 'illegal-operation', /shorter than an opcode/],
    [bytes([0, 1], 'file-without-terminator'), 'illegal-operation', /NUL-terminated/],
    [bytes([0, 1], 'file\0octet'), 'illegal-operation', /NUL-terminated/],
    [bytes([0, 1], 'file\0'), 'illegal-operation', /no file name or no mode/],
    [bytes([0, 1], 'file\0binary\0'), 'illegal-operation', /unknown transfer mode "binary"/],
    [bytes([0, 1], 'file\0mail\0'), 'illegal-operation', /mail mode/],
    [bytes([0, 1], 'file\0octet\0blksize\0'), 'option-negotiation-refused', /"blksize" has no value/],
    [bytes([0, 1], 'file\0octet\0\0x\0'), 'option-negotiation-refused', /empty option name/],
    [bytes([0, 9], 'x'), 'illegal-operation', /unknown opcode 9/],
    [bytes([0, 4, 0]), 'illegal-operation', /ACK packet must be 4 bytes/],
    [bytes([0, 3, 0]), 'illegal-operation', /without a block number/],
    [bytes([0, 5, 0]), 'illegal-operation', /without a code/],
  ];
  for (const [packet, kind, message] of cases) {
    const result = decodeTftpPacket(packet);
    assert.equal(result.ok, false, `expected ${packet.toString('hex')} to be refused`);
    if (!result.ok) {
      assert.equal(result.problem.kind, kind, packet.toString('hex'));
      assert.match(result.problem.message, message);
    }
  }
});

test('DATA, ACK, ERROR and OACK round-trip; block numbers wrap at 65536', () => {
  const data = encodeTftpData(65536 + 7, Buffer.from('hello world'), 6, 11);
  assert.deepEqual(packetOf(decodeTftpPacket(data)), { type: 'data', block: 7, data: Buffer.from('world') });
  assert.deepEqual(packetOf(decodeTftpPacket(encodeTftpAcknowledgement(65535))), { type: 'acknowledgement', block: 65535 });
  assert.deepEqual(packetOf(decodeTftpPacket(encodeTftpAcknowledgement(65536))), { type: 'acknowledgement', block: 0 });
  assert.deepEqual(packetOf(decodeTftpPacket(encodeTftpError('file-not-found', 'no such file'))), {
    type: 'error',
    code: 1,
    kind: 'file-not-found',
    message: 'no such file',
  });
  const oack = encodeTftpOptionAcknowledgement([
    { name: 'blksize', value: '1468' },
    { name: 'tsize', value: '42' },
  ]);
  assert.deepEqual(oack, bytes([0, 6], 'blksize\x001468\0tsize\x0042\0'));
  assert.deepEqual(packetOf(decodeTftpPacket(oack)), {
    type: 'option-acknowledgement',
    options: [
      { name: 'blksize', value: '1468' },
      { name: 'tsize', value: '42' },
    ],
  });
});

test('an empty DATA packet (the end of a file that fills its last block) decodes', () => {
  assert.deepEqual(packetOf(decodeTftpPacket(bytes([0, 3, 0, 2]))), { type: 'data', block: 2, data: Buffer.alloc(0) });
});

test('error codes map both ways; unknown codes are not-defined', () => {
  assert.equal(tftpErrorCode('option-negotiation-refused'), 8);
  assert.equal(tftpErrorCode('unknown-transfer-id'), 5);
  assert.equal(tftpErrorKind(2), 'access-violation');
  assert.equal(tftpErrorKind(99), 'not-defined');
});

test('netascii: LF becomes CR LF, CR becomes CR NUL, and back', () => {
  const text = Buffer.from('a\nb\rc\r\nd');
  const encoded = encodeNetascii(text);
  assert.deepEqual(encoded, Buffer.from('a\r\nb\r\0c\r\0\r\nd'));
  assert.deepEqual(decodeNetascii(encoded), text);
  assert.deepEqual(encodeNetascii(Buffer.alloc(0)), Buffer.alloc(0));
});
