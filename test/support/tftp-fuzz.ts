// Generators of hostile TFTP input for the fuzz tests: valid packets of every type, mutations of them, and
// hostile file names.
import fc from 'fast-check';
import { hostileString } from './fuzz.js';
import {
  encodeTftpAcknowledgement,
  encodeTftpData,
  encodeTftpError,
  encodeTftpOptionAcknowledgement,
  encodeTftpRequest,
  type TftpOption,
} from '../../boot/tftp/packets.js';
import type { TftpErrorKind } from '../../boot/tftp/errors.js';

const optionNames = ['blksize', 'tsize', 'timeout', 'utimeout', 'windowsize', 'BLKSIZE', 'WindowSize', 'multicast', 'rollover', '__proto__', 'constructor'];
const latin1NoNul = fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 24 });
const optionValue = fc.oneof(
  fc.integer({ min: -10, max: 100_000_000_000 }).map(String),
  fc.constantFrom('0', '8', '7', '512', '1468', '65464', '65465', '255', '256', ' 512', '1e3', '0x200', '', '-1', '99999999999'),
  latin1NoNul,
);
const option: fc.Arbitrary<TftpOption> = fc.record({ name: fc.oneof(fc.constantFrom(...optionNames), latin1NoNul.filter((s) => s.length > 0)), value: optionValue });
export const options = fc.array(option, { maxLength: 8 });
export const filename = fc.oneof(hostileString(), fc.string({ maxLength: 40 })).filter((s) => !s.includes('\0'));
export const errorKinds: TftpErrorKind[] = ['not-defined', 'file-not-found', 'access-violation', 'disk-full', 'illegal-operation', 'unknown-transfer-id', 'file-exists', 'no-such-user', 'option-negotiation-refused'];

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

function mutate(packet: Buffer, mutations: Mutation[]): Buffer {
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

const pathPiece = fc.oneof(
  fc.constantFrom('..', '.', '', 'pxelinux.cfg', 'default', 'link-out', '%2e%2e', '..%2f', '%2F', '\\', '..\\..', '\0', 'etc', 'passwd', '/', '//', '...', '. .', '~', '$HOME', 'C:', '\u2215', '\uff0e\uff0e'),
  fc.string({ maxLength: 5 }),
);
export const hostilePath = fc
  .tuple(fc.constantFrom('', '/', '//', '\\', './', '../', '/..', 'C:\\'), fc.array(pathPiece, { minLength: 1, maxLength: 8 }), fc.constantFrom('/', '\\', '/./', '//'))
  .map(([prefix, pieces, separator]) => prefix + pieces.join(separator));

