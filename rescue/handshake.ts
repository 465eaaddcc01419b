// The safe boot handshake of one rescue: a random token and an ephemeral ed25519 key pair. The rescue
// environment receives the callback URL, the token and the public key as kernel arguments (the contract
// in lab/images/RESCUE-CONTRACT.md), phones home with the token, its IP and its SSH host key, and from
// then on every SSH session pins that host key. The token and private key never enter workflow history.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { randomToken } from '../secrets/tokens.js';

export { tokenHash } from '../secrets/tokens.js';

export interface HandshakeSecrets {
  token: string;
  /** OpenSSH "ssh-ed25519 AAAA... comment" line. */
  publicKey: string;
  /** OpenSSH private key format ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted. */
  privateKeyPem: string;
}

function sshString(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

/** The OpenSSH public key line of an ed25519 key, from its raw 32-byte public key. */
export function openSshEd25519PublicKey(raw: Buffer, comment: string): string {
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** The OpenSSH private key file of an ed25519 key (format "openssh-key-v1", cipher none), as ssh and ssh2 read it. */
export function openSshEd25519PrivateKey(seed: Buffer, raw: Buffer, comment: string): string {
  const uint32 = (value: number) => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    return buffer;
  };
  const keyType = Buffer.from('ssh-ed25519');
  const publicBlob = Buffer.concat([sshString(keyType), sshString(raw)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, sshString(keyType), sshString(raw), sshString(Buffer.concat([seed, raw])), sshString(Buffer.from(comment))]);
  const padding: number[] = [];
  for (let i = 1; (secret.length + padding.length) % 8 !== 0; i++) padding.push(i);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString(Buffer.from('none')),
    sshString(Buffer.from('none')),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

export function createHandshakeSecrets(comment: string): HandshakeSecrets {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const raw = Buffer.from(jwk.x, 'base64url');
  return {
    token: randomToken(24),
    publicKey: openSshEd25519PublicKey(raw, comment),
    privateKeyPem: openSshEd25519PrivateKey(Buffer.from(jwk.d, 'base64url'), raw, comment),
  };
}

/** The kernel arguments that carry the handshake to the rescue environment. */
export function rescueKernelArguments(options: { callbackUrl: string; token: string; publicKey: string; console?: string }): string {
  return [
    `rescued.callback=${options.callbackUrl}`,
    `rescued.token=${options.token}`,
    `rescued.sshkey=${Buffer.from(options.publicKey).toString('base64url')}`,
    `console=${options.console ?? 'ttyS0,115200'}`,
  ].join(' ');
}

/** SHA256 fingerprint as `ssh-keygen -lf` prints it, for logs and history (never the key itself). */
export function hostKeyFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}
