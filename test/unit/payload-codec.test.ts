// The history's payload codec: AES-256-GCM under named keys that rotate (new payloads sealed with the newest
// key, older ones still open), clear errors for an unknown key or an altered payload, and key configuration
// that never shows a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  createEncryptionCodec,
  DERIVED_KEY_ID,
  describePayloadKeys,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parsePayloadKeys,
  PayloadDecryptionError,
  PayloadKeyError,
  payloadKeyRing,
} from '../../temporal/payload-codec.js';

const hex = () => randomBytes(32).toString('hex');
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const keyIdOf = (p: Payload) => Buffer.from(p.metadata![KEY_ID_METADATA]!).toString();

test('a payload is sealed (no plaintext left), tagged with its key ID, and opens to the same payload', async () => {
  const codec = createEncryptionCodec({ keys: parsePayloadKeys(`k1:${hex()}`, 'test'), source: 'test' });
  const original = payload({ reason: 'disk full on web01', mac: '52:54:00:12:34:56' });
  const [sealed] = await codec.encode([original]);
  assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
  assert.equal(keyIdOf(sealed!), 'k1');
  assert.equal(Buffer.from(sealed!.data!).includes('disk full'), false);
  assert.equal(Object.keys(sealed!.metadata!).length, 2, 'the original metadata is sealed too');
  const [opened] = await codec.decode([sealed!]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), { reason: 'disk full on web01', mac: '52:54:00:12:34:56' });
  const [again] = await codec.encode([original]);
  assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(sealed!.data!), 'a fresh IV for every payload');
});

test('rotation: a new key seals new payloads; payloads sealed with the old key still open; a retired key is a clear error', async () => {
  const [old, next] = [hex(), hex()];
  const before = createEncryptionCodec({ keys: parsePayloadKeys(`2025-01:${old}`, 'test'), source: 'test' });
  const during = createEncryptionCodec({ keys: parsePayloadKeys(`2025-01:${old},2026-01:${next}`, 'test'), source: 'test' });
  const after = createEncryptionCodec({ keys: parsePayloadKeys(`2026-01:${next}`, 'test'), source: 'test' });
  const [oldPayload] = await before.encode([payload('sealed last year')]);
  const [newPayload] = await during.encode([payload('sealed this year')]);
  assert.equal(keyIdOf(newPayload!), '2026-01', 'the newest (last) key seals');
  assert.deepEqual((await during.decode([oldPayload!, newPayload!])).map((p) => defaultPayloadConverter.fromPayload(p)), ['sealed last year', 'sealed this year']);
  await assert.rejects(after.decode([oldPayload!]), (error: unknown) => error instanceof PayloadDecryptionError && /sealed with key "2025-01", which this process does not have \(it has "2026-01"\)/.test(error.message));
});

test('an altered payload, a relabelled key ID or a truncated one does not open, and says so', async () => {
  const [a, b] = [hex(), hex()];
  const codec = createEncryptionCodec({ keys: parsePayloadKeys(`a:${a},b:${b}`, 'test'), source: 'test' });
  const [sealed] = await codec.encode([payload('secret')]);
  const flipped = Buffer.from(sealed!.data!);
  flipped[20] = flipped[20]! ^ 1;
  await assert.rejects(codec.decode([{ ...sealed!, data: flipped }]), /sealed with key "b" does not authenticate/);
  await assert.rejects(codec.decode([{ ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: Buffer.from('a') } }]), /sealed with key "a" does not authenticate/);
  await assert.rejects(codec.decode([{ ...sealed!, data: Buffer.from(sealed!.data!).subarray(0, 10) }]), /truncated/);
  await assert.rejects(codec.decode([{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: Buffer.alloc(40) }]), /carries no "encryption-key-id"/);
});

test('payloads written before encryption was on pass through decode unchanged (old histories still replay)', async () => {
  const codec = createEncryptionCodec({ keys: parsePayloadKeys(`k:${hex()}`, 'test'), source: 'test' });
  const plain = payload({ system: 'web01' });
  assert.deepEqual(await codec.decode([plain]), [plain]);
});

test('key lists: id:64-hex, comma or newline separated, comments; bad ones are refused naming the key, never showing it', () => {
  const keys = parsePayloadKeys(`# rotated yearly\nk-2025:${hex()}\n\nk-2026:${hex()}\n`, 'file');
  assert.deepEqual(keys.map((k) => k.id), ['k-2025', 'k-2026']);
  const secret = hex().slice(0, 60);
  assert.throws(() => parsePayloadKeys(`short:${secret}`, 'RESCUED_PAYLOAD_KEYS'), (e: unknown) => e instanceof PayloadKeyError && /key "short": the key must be 64 hex digits/.test(e.message) && !e.message.includes(secret));
  assert.throws(() => parsePayloadKeys(hex(), 'RESCUED_PAYLOAD_KEYS'), /key 1: the key ID must be .* \(got no ":"\)/);
  assert.throws(() => parsePayloadKeys(`a b:${hex()}`, 'RESCUED_PAYLOAD_KEYS'), /the key ID must be/);
  assert.throws(() => parsePayloadKeys(`k:${hex()},k:${hex()}`, 'RESCUED_PAYLOAD_KEYS'), /key ID "k" is given twice/);
  assert.throws(() => parsePayloadKeys(' , ', 'RESCUED_PAYLOAD_KEYS'), /holds no key/);
});

test('the key ring: from RESCUED_PAYLOAD_KEYS, from its file, or derived from the secret key under a fixed ID; described by IDs only', async () => {
  const secretKey = randomBytes(32);
  const [k1, k2] = [hex(), hex()];
  const fromEnv = payloadKeyRing({ keys: `k1:${k1},k2:${k2}`, file: undefined }, secretKey);
  const line = describePayloadKeys(fromEnv);
  assert.match(line, /sealing with key "k2", opening also "k1"; keys RESCUED_PAYLOAD_KEYS/);
  assert.equal(line.includes(k1) || line.includes(k2), false);

  const folder = await mkdtemp(join(tmpdir(), 'payload-keys-'));
  try {
    await writeFile(join(folder, 'keys'), `k1:${k1}\n`);
    assert.deepEqual(payloadKeyRing({ keys: undefined, file: join(folder, 'keys') }, secretKey).keys.map((k) => k.id), ['k1']);
    assert.throws(() => payloadKeyRing({ keys: undefined, file: join(folder, 'missing') }, secretKey), /RESCUED_PAYLOAD_KEYS_FILE: cannot read ".*missing" \(ENOENT\)/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  assert.throws(() => payloadKeyRing({ keys: `k1:${k1}`, file: '/x' }, secretKey), /not both/);

  const derived = payloadKeyRing({ keys: undefined, file: undefined }, secretKey);
  assert.equal(derived.keys[0]!.id, DERIVED_KEY_ID);
  assert.deepEqual(derived.keys[0]!.key, payloadKeyRing({ keys: undefined, file: undefined }, secretKey).keys[0]!.key, 'every process with the same secret key derives the same key');
  assert.notDeepEqual(derived.keys[0]!.key, secretKey, 'not the secret key itself');
  assert.match(describePayloadKeys(derived), /derived from the secret key/);
});
