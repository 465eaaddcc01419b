// AES-256-GCM for secrets at rest (BMC passwords, rescue SSH keys). The stored form is
// "v1:<iv>:<tag>:<ciphertext>" in base64url, so a future key or algorithm change can be told apart.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;

export class SecretDecryptionError extends Error {
  override readonly name = 'SecretDecryptionError';
}

export interface SecretCipher {
  encrypt(plaintext: string): string;
  decrypt(stored: string): string;
}

export function createSecretCipher(key: Buffer): SecretCipher {
  if (key.length !== 32) throw new Error(`an AES-256 key is 32 bytes, got ${key.length}`);
  return {
    encrypt(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join(':');
    },
    decrypt(stored) {
      const [version, iv, tag, body] = stored.split(':');
      if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) {
        throw new SecretDecryptionError('stored secret is not in the v1 format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptionError('stored secret cannot be decrypted with this key (was RESCUED_SECRET_KEY changed?)');
      }
    },
  };
}
