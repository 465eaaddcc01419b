// The pinned host key: the line the rescue environment phoned home with (`ssh-ed25519 AAAA...`), compared byte
// for byte with the key blob the server presents during the handshake.

export interface PinnedHostKey {
  /** The key type named in the line, e.g. `ssh-ed25519`. */
  type: string;
  /** The SSH wire-format public key blob (the base64 field, decoded). */
  blob: Buffer;
}

/** The host key algorithms to offer so that the server presents the key of the pinned type. */
export function hostKeyAlgorithmsFor(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type];
}

/** Parses `TYPE BASE64 [comment]`; throws on anything else (a pinned key that cannot be compared is useless). */
export function parsePinnedHostKey(line: string): PinnedHostKey {
  const fields = line.trim().split(/\s+/);
  const [type, encoded] = fields;
  if (!type || !encoded || !/^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+$/.test(type) || !/^[A-Za-z0-9+/]{16,}={0,2}$/.test(encoded)) {
    throw new Error('the pinned host key is not an OpenSSH public key line (`ssh-ed25519 AAAA...`)');
  }
  const blob = Buffer.from(encoded, 'base64');
  const typeInBlob = readBlobKeyType(blob);
  if (typeInBlob !== type) {
    throw new Error(`the pinned host key line says ${type} but its key is ${typeInBlob ?? 'unreadable'}`);
  }
  return { type, blob };
}

/** The key type string at the start of an SSH public key blob (uint32 length + name). */
export function readBlobKeyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return null;
  return blob.subarray(4, 4 + length).toString('latin1');
}

export function hostKeyMatches(pinned: PinnedHostKey, presented: Buffer): boolean {
  return presented.length === pinned.blob.length && presented.equals(pinned.blob);
}

/** The line form of a blob, for messages: `ssh-ed25519 AAAA...`. */
export function hostKeyLine(blob: Buffer): string {
  return `${readBlobKeyType(blob) ?? 'unknown'} ${blob.toString('base64')}`;
}
