// Encoding and decoding of TFTP packets: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and RFC 2347 (OACK and
// request options). Decoding never throws: a malformed packet is a value that says how to answer it.
import { tftpErrorCode, tftpErrorKind, type TftpErrorKind, type TftpProblem } from './errors.js';

export const TftpOpcode = {
  readRequest: 1,
  writeRequest: 2,
  data: 3,
  acknowledgement: 4,
  error: 5,
  optionAcknowledgement: 6,
} as const;

export type TftpMode = 'octet' | 'netascii';

/** An option as it appears on the wire; names are lower-cased on decoding (RFC 2347: case-insensitive). */
export interface TftpOption {
  name: string;
  value: string;
}

export interface TftpRequestPacket {
  type: 'read-request' | 'write-request';
  filename: string;
  /** The file name's length in bytes on the wire. */
  filenameBytes: number;
  mode: TftpMode;
  options: TftpOption[];
}

export interface TftpDataPacket {
  type: 'data';
  block: number;
  data: Buffer;
}

export interface TftpAcknowledgementPacket {
  type: 'acknowledgement';
  block: number;
}

export interface TftpErrorPacket {
  type: 'error';
  code: number;
  kind: TftpErrorKind;
  message: string;
}

export interface TftpOptionAcknowledgementPacket {
  type: 'option-acknowledgement';
  options: TftpOption[];
}

export type TftpPacket =
  | TftpRequestPacket
  | TftpDataPacket
  | TftpAcknowledgementPacket
  | TftpErrorPacket
  | TftpOptionAcknowledgementPacket;

export type TftpDecodeResult =
  | { ok: true; packet: TftpPacket }
  | { ok: false; problem: TftpProblem; opcode: number | undefined };

/** The largest block size RFC 2348 allows; a DATA packet is 4 bytes more. */
export const maxTftpBlockSize = 65464;

function malformed(kind: TftpErrorKind, message: string, opcode: number | undefined): TftpDecodeResult {
  return { ok: false, problem: { kind, message }, opcode };
}

/** Splits NUL-terminated strings starting at `offset`. `complete` is false when the last one has no NUL. */
function readStrings(packet: Buffer, offset: number): { strings: Buffer[]; complete: boolean } {
  const strings: Buffer[] = [];
  let start = offset;
  while (start < packet.length) {
    const end = packet.indexOf(0, start);
    if (end === -1) return { strings: [...strings, packet.subarray(start)], complete: false };
    strings.push(packet.subarray(start, end));
    start = end + 1;
  }
  return { strings, complete: true };
}

function decodeOptions(strings: Buffer[], opcode: number): { ok: true; options: TftpOption[] } | { ok: false; result: TftpDecodeResult } {
  // Some PXE ROMs pad requests with NUL bytes: trailing empty strings are not options.
  let count = strings.length;
  while (count > 0 && strings[count - 1]!.length === 0) count -= 1;
  if (count % 2 !== 0) {
    const name = strings[count - 1]!.toString('latin1');
    return { ok: false, result: malformed('option-negotiation-refused', `option "${name}" has no value`, opcode) };
  }
  const options: TftpOption[] = [];
  for (let i = 0; i < count; i += 2) {
    const name = strings[i]!.toString('latin1').toLowerCase();
    if (name.length === 0) {
      return { ok: false, result: malformed('option-negotiation-refused', 'empty option name', opcode) };
    }
    options.push({ name, value: strings[i + 1]!.toString('latin1') });
  }
  return { ok: true, options };
}

function decodeRequest(packet: Buffer, opcode: number): TftpDecodeResult {
  const { strings, complete } = readStrings(packet, 2);
  if (!complete) return malformed('illegal-operation', 'request is not NUL-terminated', opcode);
  const [filenameBytes, modeBytes, ...optionStrings] = strings;
  if (filenameBytes === undefined || modeBytes === undefined) {
    return malformed('illegal-operation', 'request has no file name or no mode', opcode);
  }
  const modeName = modeBytes.toString('latin1').toLowerCase();
  if (modeName !== 'octet' && modeName !== 'netascii') {
    const reason = modeName === 'mail' ? 'mail mode is not supported' : `unknown transfer mode "${modeName}"`;
    return malformed('illegal-operation', reason, opcode);
  }
  const decodedOptions = decodeOptions(optionStrings, opcode);
  if (!decodedOptions.ok) return decodedOptions.result;
  return {
    ok: true,
    packet: {
      type: opcode === TftpOpcode.readRequest ? 'read-request' : 'write-request',
      filename: filenameBytes.toString('utf8'),
      filenameBytes: filenameBytes.length,
      mode: modeName,
      options: decodedOptions.options,
    },
  };
}

export function decodeTftpPacket(packet: Buffer): TftpDecodeResult {
  if (packet.length < 2) return malformed('illegal-operation', 'packet shorter than an opcode', undefined);
  const opcode = packet.readUInt16BE(0);
  switch (opcode) {
    case TftpOpcode.readRequest:
    case TftpOpcode.writeRequest:
      return decodeRequest(packet, opcode);
    case TftpOpcode.data:
      if (packet.length < 4) return malformed('illegal-operation', 'DATA packet without a block number', opcode);
      if (packet.length > 4 + maxTftpBlockSize) return malformed('illegal-operation', 'DATA packet too long', opcode);
      return { ok: true, packet: { type: 'data', block: packet.readUInt16BE(2), data: packet.subarray(4) } };
    case TftpOpcode.acknowledgement:
      if (packet.length !== 4) return malformed('illegal-operation', 'ACK packet must be 4 bytes', opcode);
      return { ok: true, packet: { type: 'acknowledgement', block: packet.readUInt16BE(2) } };
    case TftpOpcode.error: {
      if (packet.length < 4) return malformed('illegal-operation', 'ERROR packet without a code', opcode);
      const code = packet.readUInt16BE(2);
      // A missing terminator is tolerated here: the peer is giving up anyway, and its message helps.
      const end = packet.indexOf(0, 4);
      const message = packet.subarray(4, end === -1 ? packet.length : end).toString('utf8');
      return { ok: true, packet: { type: 'error', code, kind: tftpErrorKind(code), message } };
    }
    case TftpOpcode.optionAcknowledgement: {
      const { strings, complete } = readStrings(packet, 2);
      if (!complete) return malformed('illegal-operation', 'OACK is not NUL-terminated', opcode);
      const decodedOptions = decodeOptions(strings, opcode);
      if (!decodedOptions.ok) return decodedOptions.result;
      return { ok: true, packet: { type: 'option-acknowledgement', options: decodedOptions.options } };
    }
    default:
      return malformed('illegal-operation', `unknown opcode ${opcode}`, opcode);
  }
}

function encodeStrings(opcode: number, strings: string[], encoding: BufferEncoding[]): Buffer {
  const parts = strings.map((s, i) => Buffer.from(s, encoding[i] ?? 'latin1'));
  const packet = Buffer.alloc(2 + parts.reduce((sum, p) => sum + p.length + 1, 0));
  packet.writeUInt16BE(opcode, 0);
  let offset = 2;
  for (const part of parts) {
    part.copy(packet, offset);
    offset += part.length + 1;
  }
  return packet;
}

export function encodeTftpRequest(
  type: 'read-request' | 'write-request',
  filename: string,
  mode: TftpMode | string,
  options: TftpOption[] = [],
): Buffer {
  const opcode = type === 'read-request' ? TftpOpcode.readRequest : TftpOpcode.writeRequest;
  const strings = [filename, mode, ...options.flatMap((o) => [o.name, o.value])];
  return encodeStrings(opcode, strings, ['utf8']);
}

export function encodeTftpOptionAcknowledgement(options: TftpOption[]): Buffer {
  return encodeStrings(
    TftpOpcode.optionAcknowledgement,
    options.flatMap((o) => [o.name, o.value]),
    [],
  );
}

export function encodeTftpAcknowledgement(block: number): Buffer {
  const packet = Buffer.allocUnsafe(4);
  packet.writeUInt16BE(TftpOpcode.acknowledgement, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
  return packet;
}

export function encodeTftpError(kind: TftpErrorKind, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const packet = Buffer.alloc(5 + text.length);
  packet.writeUInt16BE(TftpOpcode.error, 0);
  packet.writeUInt16BE(tftpErrorCode(kind), 2);
  text.copy(packet, 4);
  return packet;
}

/** A DATA packet for `block` (wrapped to 16 bits) carrying source[start, end). */
export function encodeTftpData(block: number, source: Uint8Array, start = 0, end = source.length): Buffer {
  const packet = Buffer.allocUnsafe(4 + end - start);
  packet[0] = 0;
  packet[1] = TftpOpcode.data;
  packet[2] = (block >>> 8) & 0xff;
  packet[3] = block & 0xff;
  packet.set(source.subarray(start, end), 4);
  return packet;
}
