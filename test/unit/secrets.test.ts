import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretCipher, SecretDecryptionError } from '../../secrets/cipher.js';
import { keyFromConfiguredSecret, loadOrCreateSecretKey } from '../../secrets/key.js';

test('AES-256-GCM round trip, fresh IV each time, no plaintext in the stored form', () => {
  const cipher = createSecretCipher(randomBytes(32));
  const a = cipher.encrypt('calvin');
  const b = cipher.encrypt('calvin');
  assert.notEqual(a, b);
  assert.equal(a.includes('calvin'), false);
  assert.equal(cipher.decrypt(a), 'calvin');
  assert.equal(cipher.decrypt(cipher.encrypt('')), '');
  assert.equal(cipher.decrypt(cipher.encrypt('pässwörd ✓')), 'pässwörd ✓');
});

test('a tampered value or another key is refused', () => {
  const cipher = createSecretCipher(randomBytes(32));
  const stored = cipher.encrypt('calvin');
  const parts = stored.split(':');
  parts[3] = Buffer.from('xxxxxx').toString('base64url');
  assert.throws(() => cipher.decrypt(parts.join(':')), SecretDecryptionError);
  assert.throws(() => createSecretCipher(randomBytes(32)).decrypt(stored), /RESCUED_SECRET_KEY/);
  assert.throws(() => cipher.decrypt('calvin'), SecretDecryptionError);
});

test('RESCUED_SECRET_KEY as hex, base64 or a long passphrase; short ones refused', () => {
  const key = randomBytes(32);
  assert.deepEqual(keyFromConfiguredSecret(key.toString('hex')), key);
  assert.deepEqual(keyFromConfiguredSecret(key.toString('base64')), key);
  assert.equal(keyFromConfiguredSecret('correct horse battery staple').length, 32);
  assert.throws(() => keyFromConfiguredSecret('short'), /at least 16/);
});

test('without RESCUED_SECRET_KEY a key is generated once into a 0600 file and reused', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'rescued-key-'));
  try {
    const first = await loadOrCreateSecretKey({ configuredSecret: undefined, dataDir });
    const second = await loadOrCreateSecretKey({ configuredSecret: undefined, dataDir });
    assert.deepEqual(first, second);
    assert.equal((await stat(join(dataDir, 'secret.key'))).mode & 0o777, 0o600);
    assert.equal((await readFile(join(dataDir, 'secret.key'), 'utf8')).trim(), first.toString('hex'));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
