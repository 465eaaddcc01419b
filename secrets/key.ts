// Where the encryption key comes from: RESCUED_SECRET_KEY, or a key generated on first start into a
// 0600 file in the data folder. A passphrase of any length is accepted and stretched to 32 bytes.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_KEY_FILE = 'secret.key';

export function keyFromConfiguredSecret(secret: string): Buffer {
  const trimmed = secret.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const asBase64 = Buffer.from(trimmed, 'base64');
  if (asBase64.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return asBase64;
  if (trimmed.length < 16) throw new Error('RESCUED_SECRET_KEY must be 32 bytes (hex or base64) or a passphrase of at least 16 characters');
  return createHash('sha256').update(`rescued-secret-key:${trimmed}`).digest();
}

export async function loadOrCreateSecretKey(options: { configuredSecret: string | undefined; dataDir: string }): Promise<Buffer> {
  if (options.configuredSecret !== undefined) return keyFromConfiguredSecret(options.configuredSecret);
  const path = join(options.dataDir, SECRET_KEY_FILE);
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    const mode = (await stat(path)).mode & 0o777;
    if (mode !== 0o600) await chmod(path, 0o600);
    return Buffer.from(existing, 'hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  // 'wx' so that two processes starting at once never overwrite each other's key.
  try {
    await writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
    throw error;
  }
}
