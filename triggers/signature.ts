// Signed deliveries of the generic receiver: X-Rescued-Signature: sha256=<hex HMAC-SHA256 of the raw body>,
// with a secret set on a webhook token (as GitHub signs its webhooks). Compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-rescued-signature';
const FORM = /^sha256=([0-9a-f]{64})$/i;

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The name of the token whose secret signed this body, or undefined. Every secret is tried in full. */
export function verifySignature(header: string, body: Buffer, secrets: Array<{ name: string; secret: string }>): string | undefined {
  const match = FORM.exec(header.trim());
  if (match === null) return undefined;
  const given = Buffer.from(match[1]!.toLowerCase(), 'hex');
  let signer: string | undefined;
  for (const { name, secret } of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    if (timingSafeEqual(expected, given) && signer === undefined) signer = name;
  }
  return signer;
}
