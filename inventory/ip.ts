// IP addresses arrive in several spellings of one address: 2001:DB8::10, 2001:0db8:0:0::10, ::ffff:192.0.2.7
// for 192.0.2.7. The inventory stores one form, and alerts are matched in it (triggers/alert-labels.ts).
import { isIP } from 'node:net';

/**
 * An IP address in one spelling, so that two spellings of one address compare equal: IPv4 as it is (node's
 * isIP takes only dotted decimal without leading zeros), IPv6 in RFC 5952's form (lower case, leading zeros
 * dropped, the longest run of zero groups as "::"), an IPv4-mapped IPv6 address (::ffff:192.0.2.7) as its IPv4
 * address. Undefined when the value is not an IP address.
 */
export function canonicalIp(value: string): string | undefined {
  const family = isIP(value);
  if (family === 4) return value;
  if (family !== 6) return undefined;
  const zoneAt = value.indexOf('%');
  const address = zoneAt === -1 ? value : value.slice(0, zoneAt);
  let canonical: string;
  try {
    // The WHATWG URL parser serialises an IPv6 host in RFC 5952's form.
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return value.toLowerCase();
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped && zoneAt === -1) {
    const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  // A zone (fe80::1%eth0) names an interface of the host that wrote it: kept as written.
  return zoneAt === -1 ? canonical : `${canonical}${value.slice(zoneAt)}`;
}
