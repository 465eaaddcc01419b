// Bearer tokens: random, and stored only as their SHA-256 (API tokens, phone-home and install tokens).
import { createHash, randomBytes } from 'node:crypto';

/** A URL-safe random token of `bytes` random bytes. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** What is stored of a token: its SHA-256, hex. A token has enough entropy that no salt is needed. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
