// The per-system token that install status callbacks (/boot/status/<system>/started|finished) carry. An
// HMAC of the system's name under a key derived from the server's secret: nothing to store, nothing a
// machine can forge for another machine.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface StatusTokens {
  tokenFor(system: string): string;
  verify(system: string, token: string): boolean;
}

export function createStatusTokens(secretKey: Buffer): StatusTokens {
  const key = createHmac('sha256', secretKey).update('rescued:install-status-tokens').digest();
  const tokenFor = (system: string) => createHmac('sha256', key).update(system).digest('base64url').slice(0, 32);
  return {
    tokenFor,
    verify(system, token) {
      const expected = Buffer.from(tokenFor(system));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
