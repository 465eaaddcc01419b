// Option negotiation for a read request (RFC 2347): blksize (RFC 2348), tsize and timeout (RFC 2349),
// windowsize (RFC 7440), and tftpd-hpa's utimeout (microseconds). Unknown or invalid options are left out
// of the OACK, as RFC 2347 lets a server do; no acknowledged option means no OACK at all.
import { maxTftpBlockSize, type TftpOption } from './packets.js';

export interface TftpOptionLimits {
  /** Largest blksize the server accepts (a larger request is answered with this). 8..65464. */
  maxBlockSize: number;
  /** Largest windowsize the server accepts (a larger request is answered with this). */
  maxWindowSize: number;
  /** Retransmission timeout when the client negotiates none. */
  defaultTimeoutMs: number;
}

export interface TftpNegotiatedOptions {
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  /** The options to send in an OACK, in the client's order; empty means: send no OACK, start with DATA 1. */
  acknowledged: TftpOption[];
}

export const rfc1350BlockSize = 512;
const minBlockSize = 8;
// Half the block number space, so that a stale ACK can never be mistaken for a new one after wrapping.
export const maxTftpWindowSize = 32768;

function parseDecimal(value: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

export function negotiateTftpOptions(
  requested: TftpOption[],
  transferSize: number,
  limits: TftpOptionLimits,
): TftpNegotiatedOptions {
  const negotiated: TftpNegotiatedOptions = {
    blockSize: rfc1350BlockSize,
    windowSize: 1,
    timeoutMs: limits.defaultTimeoutMs,
    acknowledged: [],
  };
  const seen = new Set<string>();
  const maxBlockSize = Math.min(Math.max(limits.maxBlockSize, minBlockSize), maxTftpBlockSize);
  const maxWindowSize = Math.min(Math.max(limits.maxWindowSize, 1), maxTftpWindowSize);
  let timeoutNegotiated = false;

  for (const { name, value } of requested) {
    if (seen.has(name)) continue;
    seen.add(name);
    const number = parseDecimal(value);
    switch (name) {
      case 'blksize':
        if (number === undefined || number < minBlockSize) break;
        negotiated.blockSize = Math.min(number, maxBlockSize);
        negotiated.acknowledged.push({ name, value: String(negotiated.blockSize) });
        break;
      case 'tsize':
        // In a read request the client sends 0 and the server answers with the size. Not for an empty
        // file: curl (7.88) takes "tsize 0" in an OACK for an error and stalls, and leaving an option out
        // is always allowed (RFC 2347).
        if (number === undefined || transferSize === 0) break;
        negotiated.acknowledged.push({ name, value: String(transferSize) });
        break;
      case 'timeout':
        // RFC 2349: 1..255 seconds, echoed unchanged or not acknowledged at all.
        if (timeoutNegotiated || number === undefined || number < 1 || number > 255) break;
        timeoutNegotiated = true;
        negotiated.timeoutMs = number * 1000;
        negotiated.acknowledged.push({ name, value: String(number) });
        break;
      case 'utimeout':
        if (timeoutNegotiated || number === undefined || number < 10_000 || number > 255_000_000) break;
        timeoutNegotiated = true;
        negotiated.timeoutMs = number / 1000;
        negotiated.acknowledged.push({ name, value: String(number) });
        break;
      case 'windowsize':
        if (number === undefined || number < 1 || number > 65535) break;
        negotiated.windowSize = Math.min(number, maxWindowSize);
        negotiated.acknowledged.push({ name, value: String(negotiated.windowSize) });
        break;
      default:
        break;
    }
  }
  return negotiated;
}

/** Requested options as a plain record, for reports and logs. */
export function tftpOptionsRecord(options: TftpOption[]): Record<string, string> {
  // fromEntries defines own properties, so a hostile name such as "__proto__" stays plain data.
  const firstByName = new Map<string, string>();
  for (const { name, value } of options) if (!firstByName.has(name)) firstByName.set(name, value);
  return Object.fromEntries(firstByName);
}
