// netascii (RFC 764 as used by RFC 1350): LF is sent as CR LF, a bare CR as CR NUL.
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

export function encodeNetascii(bytes: Uint8Array): Buffer {
  let extra = 0;
  for (const byte of bytes) if (byte === LF || byte === CR) extra += 1;
  const encoded = Buffer.allocUnsafe(bytes.length + extra);
  let out = 0;
  for (const byte of bytes) {
    if (byte === LF) {
      encoded[out++] = CR;
      encoded[out++] = LF;
    } else if (byte === CR) {
      encoded[out++] = CR;
      encoded[out++] = NUL;
    } else {
      encoded[out++] = byte;
    }
  }
  return encoded;
}

/** The inverse, for clients: CR LF becomes LF, CR NUL becomes CR; any other CR is kept. */
export function decodeNetascii(bytes: Uint8Array): Buffer {
  const decoded = Buffer.allocUnsafe(bytes.length);
  let out = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    const next = bytes[i + 1];
    if (byte === CR && next === LF) {
      decoded[out++] = LF;
      i += 1;
    } else if (byte === CR && next === NUL) {
      decoded[out++] = CR;
      i += 1;
    } else {
      decoded[out++] = byte;
    }
  }
  return decoded.subarray(0, out);
}
