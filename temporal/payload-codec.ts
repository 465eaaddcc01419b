// Encrypted history: every payload our client and worker hand to Temporal (workflow inputs and results,
// activity arguments, signals, updates, queries, summaries, failure messages) is sealed with AES-256-GCM
// under a key named by its ID. New payloads use the newest key; older keys stay to open what they sealed,
// so keys rotate without rewriting history. Temporal sees only the key ID and ciphertext.
// The format is that of Temporal's encryption samples: metadata encoding "binary/encrypted" and
// "encryption-key-id", data = 12-byte IV, ciphertext, 16-byte tag, of the original Payload's protobuf.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { temporal } = proto;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** The keys, oldest first; the last one seals. Never logged: describePayloadKeys() shows IDs only. */
export interface PayloadKeyRing {
  keys: readonly PayloadKey[];
  /** Where they came from, for the start-up line. */
  source: string;
}

export class PayloadKeyError extends Error {
  override readonly name = 'PayloadKeyError';
}

/** Decoding met a payload it cannot open: an unknown key ID, or a tampered or truncated one. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** "id1:hex64,id2:hex64" (or one per line), oldest first: what RESCUED_PAYLOAD_KEYS and its file hold. */
export function parsePayloadKeys(text: string, origin: string): PayloadKey[] {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  if (entries.length === 0) throw new PayloadKeyError(`${origin} holds no key; write id:64-hex-digits, several separated by commas, newest last`);
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    const hex = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new PayloadKeyError(`${origin}, key ${index + 1}: the key ID must be 1 to 64 letters, digits, ".", "_" or "-", before a ":" (got ${colon < 0 ? 'no ":"' : `"${id}"`})`);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new PayloadKeyError(`${origin}, key "${id}": the key must be 64 hex digits (32 bytes), got ${hex.length} characters`);
    if (seen.has(id)) throw new PayloadKeyError(`${origin}: key ID "${id}" is given twice`);
    seen.add(id);
    return { id, key: Buffer.from(hex, 'hex') };
  });
}

/** The ID of the key derived from the secret key when no payload keys are configured. */
export const DERIVED_KEY_ID = 'secret-key-1';

/** A payload key derived from RESCUED_SECRET_KEY (or the data folder's key file), under a fixed ID. */
export function derivePayloadKey(secretKey: Buffer): PayloadKey {
  return { id: DERIVED_KEY_ID, key: createHmac('sha256', secretKey).update('rescued-payload-key:v1').digest() };
}

/**
 * The key ring from RESCUED_PAYLOAD_KEYS or RESCUED_PAYLOAD_KEYS_FILE; with neither, one key derived from the
 * secret key (said so at start and in the README, so every process that shares the secret key shares it).
 */
export function payloadKeyRing(configured: { keys: string | undefined; file: string | undefined }, secretKey: Buffer): PayloadKeyRing {
  if (configured.keys !== undefined && configured.file !== undefined) throw new PayloadKeyError('set RESCUED_PAYLOAD_KEYS or RESCUED_PAYLOAD_KEYS_FILE, not both');
  if (configured.keys !== undefined) return { keys: parsePayloadKeys(configured.keys, 'RESCUED_PAYLOAD_KEYS'), source: 'RESCUED_PAYLOAD_KEYS' };
  if (configured.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(configured.file, 'utf8');
    } catch (error) {
      throw new PayloadKeyError(`RESCUED_PAYLOAD_KEYS_FILE: cannot read "${configured.file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return { keys: parsePayloadKeys(text, `RESCUED_PAYLOAD_KEYS_FILE (${configured.file})`), source: `RESCUED_PAYLOAD_KEYS_FILE (${configured.file})` };
  }
  return { keys: [derivePayloadKey(secretKey)], source: 'derived from the secret key (RESCUED_PAYLOAD_KEYS unset)' };
}

/** For logs: the key IDs and where they came from, never a key. */
export function describePayloadKeys(ring: PayloadKeyRing): string {
  const ids = ring.keys.map((key) => key.id);
  return `AES-256-GCM, sealing with key "${ids.at(-1)}"${ids.length > 1 ? `, opening also ${ids.slice(0, -1).map((id) => `"${id}"`).join(', ')}` : ''}; keys ${ring.source}`;
}

export function createEncryptionCodec(ring: PayloadKeyRing): PayloadCodec {
  if (ring.keys.length === 0) throw new PayloadKeyError('the payload key ring is empty');
  for (const key of ring.keys) if (key.key.length !== 32) throw new PayloadKeyError(`payload key "${key.id}" is ${key.key.length} bytes, not 32`);
  const sealing = ring.keys.at(-1)!;
  const byId = new Map(ring.keys.map((key) => [key.id, key.key]));

  function seal(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealing.key, iv);
    // The key ID is authenticated with the data: a payload relabelled with another ID does not open.
    cipher.setAAD(Buffer.from(sealing.id, 'utf8'));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(sealing.id) },
      data: sealed,
    };
  }

  function open(payload: Payload): Payload {
    // Payloads written before encryption was on (or by a process without it) are passed through as they are.
    const encoding = payload.metadata?.encoding;
    if (encoding === undefined || Buffer.from(encoding).toString('utf8') !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    if (idBytes === undefined) throw new PayloadDecryptionError(`an encrypted payload carries no "${KEY_ID_METADATA}"`);
    const id = Buffer.from(idBytes).toString('utf8');
    const key = byId.get(id);
    if (key === undefined) {
      throw new PayloadDecryptionError(`a payload is sealed with key "${id}", which this process does not have (it has ${[...byId.keys()].map((k) => `"${k}"`).join(', ')}): add it to RESCUED_PAYLOAD_KEYS`);
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`a payload sealed with key "${id}" is truncated (${data.length} bytes)`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`a payload sealed with key "${id}" does not authenticate (altered, or key "${id}" is not the key that sealed it)`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }

  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(seal);
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(open);
    },
  };
}
