// Checks on the parts of a BmcTarget that end up as arguments or in URLs.
import { BmcError, type BmcErrorOrigin } from './errors.js';
import type { BmcTarget } from './types.js';

// Host names, IPv4, bracket-less IPv6 (with an optional zone). Never starts with "-", so a tool cannot read it
// as an option.
const HOST_PATTERN = /^(?!-)[A-Za-z0-9._:%-]{1,253}$/;

export function checkedHost(target: BmcTarget, origin: BmcErrorOrigin): string {
  const host = target.address.trim();
  if (!HOST_PATTERN.test(host)) {
    throw new BmcError('invalid-config', origin, `address ${JSON.stringify(target.address)} is not a host name or IP address`);
  }
  return host;
}

export function checkedPort(port: number | undefined, fallback: number, origin: BmcErrorOrigin): number {
  const value = port ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new BmcError('invalid-config', origin, `port ${String(port)} is not a port number`);
  }
  return value;
}

/** Text that goes into a process argument or a stdin line: no NUL, no line break. */
export function checkedField(value: string, field: string, origin: BmcErrorOrigin): string {
  if (/[\0\r\n]/.test(value)) {
    throw new BmcError('invalid-config', origin, `${field} contains a line break or NUL character`);
  }
  return value;
}

/** How the record names a BMC, e.g. "127.0.0.1:623". */
export function describeEndpoint(target: BmcTarget): string {
  return target.port === undefined ? target.address : `${target.address}:${target.port}`;
}
