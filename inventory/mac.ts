// MAC addresses arrive as 52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456 (Cisco) or bare
// 525400123456, in any case. We store one form: lower-case, colon-separated.

export class InvalidMacAddressError extends Error {
  override readonly name = 'InvalidMacAddressError';
  constructor(readonly value: string) {
    super(`"${value}" is not a MAC address (expected six hex octets, e.g. 52:54:00:12:34:56, 52-54-00-12-34-56 or 5254.0012.3456)`);
  }
}

const FORMS = [
  /^([0-9a-f]{2})[:]([0-9a-f]{2})[:]([0-9a-f]{2})[:]([0-9a-f]{2})[:]([0-9a-f]{2})[:]([0-9a-f]{2})$/,
  /^([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/,
];

/** The stored form of a MAC, or undefined when the value is not one. */
function macForm(value: string): string | undefined {
  const candidate = value.trim().toLowerCase();
  for (const form of FORMS) {
    const match = form.exec(candidate);
    if (match) return match.slice(1).join(':');
  }
  return undefined;
}

export function normalizeMac(value: string): string {
  const mac = macForm(value);
  if (mac === undefined) throw new InvalidMacAddressError(value);
  return mac;
}

/** Without an error thrown and caught: alert labels ask this of every value, hundreds of times a second. */
export function isMac(value: string): boolean {
  return macForm(value) !== undefined;
}

/** The pxelinux/GRUB per-MAC file name part: ARP type 01 then the MAC with hyphens. */
export function macToBootFileSuffix(mac: string): string {
  return `01-${normalizeMac(mac).replaceAll(':', '-')}`;
}
