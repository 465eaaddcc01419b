// The rescue image contract (lab/images/RESCUE-CONTRACT.md) in code: the kernel args a boot config passes to a
// rescue environment, and the phone-home body it sends back.

export interface RescueKernelArgumentsInput {
  /** The full phone-home URL, e.g. http://10.0.2.2:8080/boot/rescue/<token>/ready. */
  callbackUrl: string;
  /** One-time token, [A-Za-z0-9._~-]+. */
  token: string;
  /** One OpenSSH public key line (`ssh-ed25519 AAAA... comment`), installed as root's authorized_keys. */
  sshPublicKey: string;
  /** Optional text the marker image prints; a single word (no spaces). */
  marker?: string;
  /** Default ttyS0. */
  console?: string;
  /** Appended as they are. */
  extra?: readonly string[];
}

export interface RescuePhoneHome {
  token: string;
  /** The boot interface's MAC, lower case with colons. */
  mac: string;
  /** Its IPv4 address. */
  ip: string;
  /** The rescue environment's SSH host public key, `ssh-ed25519 AAAA...` (type and key, no comment). */
  sshHostKey: string;
}

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]+$/;
const KERNEL_ARGUMENT_PATTERN = /^[^\s"]+$/;

export function encodeBase64Url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The kernel command line (without the kernel's own args such as initrd=) for a rescue boot. */
export function rescueKernelArguments(input: RescueKernelArgumentsInput): string {
  if (!TOKEN_PATTERN.test(input.token)) throw new Error(`rescue token must match ${TOKEN_PATTERN}: ${JSON.stringify(input.token)}`);
  if (!KERNEL_ARGUMENT_PATTERN.test(input.callbackUrl)) {
    throw new Error(`callback URL must not contain spaces or quotes: ${JSON.stringify(input.callbackUrl)}`);
  }
  const keyLine = input.sshPublicKey.trim();
  if (!/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(keyLine) || keyLine.includes('\n')) {
    throw new Error('sshPublicKey must be one OpenSSH public key line (type, base64 key, optional comment)');
  }
  const parts = [
    `console=${input.console ?? 'ttyS0'}`,
    `rescued.callback=${input.callbackUrl}`,
    `rescued.token=${input.token}`,
    `rescued.sshkey=${encodeBase64Url(keyLine)}`,
  ];
  if (input.marker !== undefined) {
    if (!KERNEL_ARGUMENT_PATTERN.test(input.marker)) throw new Error(`marker must be one word: ${JSON.stringify(input.marker)}`);
    parts.push(`rescued.marker=${input.marker}`);
  }
  for (const argument of input.extra ?? []) {
    if (!KERNEL_ARGUMENT_PATTERN.test(argument)) throw new Error(`kernel argument must be one word: ${JSON.stringify(argument)}`);
    parts.push(argument);
  }
  return parts.join(' ');
}

/** Validates a phone-home body (already JSON-parsed); throws with the reason when it breaks the contract. */
export function parseRescuePhoneHome(body: unknown): RescuePhoneHome {
  if (typeof body !== 'object' || body === null) throw new Error('phone-home body is not a JSON object');
  const record = body as Record<string, unknown>;
  const field = (name: keyof RescuePhoneHome, pattern: RegExp): string => {
    const value = record[name];
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new Error(`phone-home field ${name} is missing or malformed: ${JSON.stringify(value)}`);
    }
    return value;
  };
  return {
    token: field('token', TOKEN_PATTERN),
    mac: field('mac', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
    ip: field('ip', /^\d{1,3}(\.\d{1,3}){3}$/),
    sshHostKey: field('sshHostKey', /^ssh-ed25519 [A-Za-z0-9+/]+={0,2}$/),
  };
}
