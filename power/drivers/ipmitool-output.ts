// Reading ipmitool's words: its stderr decides success (it exits 0 on some BMC rejections), its stdout carries
// the power state, the boot flags and the event log. Pure functions, unit-tested against real output.
import type { BmcErrorKind } from '../errors.js';
import type { BootDeviceReading, PowerState, SystemEventLogEntry } from '../types.js';

/** Lines `ipmitool -v` prints on every call that say nothing about the outcome. */
const VERBOSE_NOISE: readonly RegExp[] = [
  /^Loading IANA PEN Registry/i,
  /^Running Get VSO Capabilities/i,
  /^Discovered IPMB address/i,
  /^Using (best available|IPMI v2|Lanplus)/i,
  /DeprecationWarning/,
];

/**
 * stderr without the verbose chatter. The probe for DCMI/VSO capabilities that -v triggers is answered by most
 * BMCs with "Invalid command", which is about the probe, not about our command: that line goes too.
 */
export function meaningfulStderr(stderr: string, alsoIgnore: readonly RegExp[] = []): string[] {
  const kept: string[] = [];
  let afterVsoProbe = false;
  for (const rawLine of stderr.split('\n')) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (/^Running Get VSO Capabilities/i.test(line)) {
      afterVsoProbe = true;
      continue;
    }
    if (afterVsoProbe && /^Invalid completion code received/i.test(line)) {
      afterVsoProbe = false;
      continue;
    }
    afterVsoProbe = false;
    if (VERBOSE_NOISE.some((pattern) => pattern.test(line)) || alsoIgnore.some((pattern) => pattern.test(line))) continue;
    kept.push(line);
  }
  return kept;
}

interface StderrRule {
  pattern: RegExp;
  kind: BmcErrorKind;
  summary: string;
}

// First match wins: the specific reasons (-v prints them) before the generic "Unable to establish" line.
const STDERR_RULES: readonly StderrRule[] = [
  { pattern: /RAKP \d HMAC is invalid/i, kind: 'auth', summary: 'the BMC refused the password' },
  { pattern: /unauthorized name|Invalid user name|user name.*not found/i, kind: 'auth', summary: 'the BMC does not know this user name' },
  { pattern: /Insufficient privilege|privilege level.*(not available|exceeds)|Requested privilege level/i, kind: 'auth', summary: 'the user lacks the privilege level for this command' },
  { pattern: /RAKP \d message indicates an error/i, kind: 'auth', summary: 'the BMC refused the session credentials' },
  { pattern: /Activate Session.*(error|failed)|Authentication type .* not supported|password.*(invalid|incorrect)/i, kind: 'auth', summary: 'the BMC refused the session' },
  { pattern: /invalid (authentication|integrity|confidentiality) algorithm|no matching cipher suite/i, kind: 'invalid-config', summary: 'the BMC does not offer this cipher suite (option cipher)' },
  { pattern: /insufficient resources for session|Node busy|out of space/i, kind: 'unreachable', summary: 'the BMC is busy' },
  { pattern: /Address lookup for .* failed|Name or service not known/i, kind: 'unreachable', summary: 'the BMC address does not resolve' },
  { pattern: /Get Auth Capabilities error|Get Channel Authentication Capabilities|No response from remote controller|Unable to establish (IPMI v2 \/ RMCP\+|LAN) session|Connection refused|No route to host|Network is unreachable/i, kind: 'unreachable', summary: 'no IPMI answer from the BMC' },
  { pattern: /not supported in present state|Command illegal/i, kind: 'rejected', summary: 'the BMC cannot do this in its present state' },
  { pattern: /Invalid command|Command not supported|Parameter not supported|not supported/i, kind: 'unsupported', summary: 'the BMC does not support this command' },
  { pattern: /Invalid data field|Unspecified error|Invalid completion code|failed:|Error:/i, kind: 'rejected', summary: 'the BMC rejected the command' },
];

export interface IpmitoolFailureClass {
  kind: BmcErrorKind;
  summary: string;
  /** What the BMC/ipmitool said (stderr without noise, one line). */
  said: string;
}

/**
 * Success or the kind of failure of one ipmitool run. ipmitool exits 0 on some BMC rejections, so stderr is
 * read even then; a non-zero exit with nothing recognisable is still a failure (`rejected`).
 */
export function classifyIpmitoolResult(
  exitCode: number | null,
  stderr: string,
  alsoIgnore: readonly RegExp[] = [],
): IpmitoolFailureClass | null {
  const lines = meaningfulStderr(stderr, alsoIgnore);
  const said = lines.join(' / ');
  for (const rule of STDERR_RULES) {
    if (lines.some((line) => rule.pattern.test(line))) return { kind: rule.kind, summary: rule.summary, said };
  }
  if (exitCode !== 0) {
    if (lines.some((line) => /usage|unknown option|invalid option/i.test(line))) {
      return { kind: 'internal', summary: 'ipmitool did not understand its arguments', said };
    }
    return { kind: 'rejected', summary: `ipmitool exited with status ${exitCode ?? 'unknown'}`, said };
  }
  return null;
}

export function parseChassisPowerStatus(stdout: string): PowerState | null {
  const match = /Chassis Power is (on|off)/i.exec(stdout);
  return match?.[1] ? (match[1].toLowerCase() as PowerState) : null;
}

// IPMI v2.0 table 28-14, boot option parameter 5, data byte 2 bits 5:2.
const BOOT_DEVICE_SELECTORS: Record<number, BootDeviceReading['device']> = {
  0x0: 'none',
  0x1: 'pxe',
  0x2: 'disk',
  0x3: 'disk', // hard drive, safe mode
  0x5: 'cdrom',
  0x6: 'bios',
};

/**
 * `chassis bootparam get 5`. The raw "Boot parameter data" bytes are the truth (byte 1: bit 7 flags valid,
 * bit 6 persistent, bit 5 EFI; byte 2: device selector); ipmitool's own wording is kept as `reported`.
 */
export function parseBootFlags(stdout: string): BootDeviceReading | null {
  const dataMatch = /Boot parameter data:\s*([0-9a-f]+)/i.exec(stdout);
  const selectorMatch = /Boot Device Selector\s*:\s*(.+)/i.exec(stdout);
  const reported = selectorMatch?.[1]?.trim() ?? '';
  const hex = dataMatch?.[1];
  if (!hex || hex.length < 4) return null;
  const flags = Number.parseInt(hex.slice(0, 2), 16);
  const deviceByte = Number.parseInt(hex.slice(2, 4), 16);
  const selector = (deviceByte >> 2) & 0x0f;
  return {
    device: BOOT_DEVICE_SELECTORS[selector] ?? 'other',
    uefi: (flags & 0x20) !== 0,
    persistent: (flags & 0x40) !== 0,
    overrideActive: (flags & 0x80) !== 0,
    reported: reported || `selector 0x${selector.toString(16)}`,
  };
}

/** `sel elist` looks up every sensor's SDR to name it; a BMC without SDRs makes it complain, harmlessly. */
export const SEL_LOOKUP_NOISE: readonly RegExp[] = [/^Get SDR \S+ command failed/i, /^Unable to (open|read) SDR/i];

/**
 * `sel elist`, in either of ipmitool's shapes: one line per entry
 * (`   1 | 11/25/2026 | 22:51:48 | Memory #0x01 | Correctable ECC | Asserted`), or, under -v, one block of
 * `Key : Value` lines per entry (`SEL Record ID : 0001`, `Sensor Type : Memory`, `Description : ...`).
 */
export function parseSelElist(stdout: string): SystemEventLogEntry[] {
  return /^SEL Record ID\s*:/m.test(stdout) ? parseVerboseSel(stdout) : parseSelLines(stdout);
}

function parseSelLines(stdout: string): SystemEventLogEntry[] {
  const entries: SystemEventLogEntry[] = [];
  for (const line of stdout.split('\n')) {
    const fields = line.split('|').map((field) => field.trim());
    if (fields.length < 5 || !/^[0-9a-f]+$/i.test(fields[0] ?? '')) continue;
    const [id = '', date = '', time = '', sensor = '', event = '', state] = fields;
    entries.push({ id, timestamp: selTimestamp(date, time), sensor, event, state: state ? state.toLowerCase() : null });
  }
  return entries;
}

function parseVerboseSel(stdout: string): SystemEventLogEntry[] {
  const entries: SystemEventLogEntry[] = [];
  for (const block of stdout.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const match = /^\s*([A-Za-z][A-Za-z /]*?)\s*:\s*(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const id = fields.get('sel record id');
    if (!id) continue;
    const [date = '', time = ''] = (fields.get('timestamp') ?? '').split(/\s+/);
    const direction = fields.get('event direction') ?? '';
    const sensorType = fields.get('sensor type') ?? '';
    const sensorNumber = fields.get('sensor number');
    entries.push({
      id,
      timestamp: selTimestamp(date, time) ?? (fields.get('timestamp') || null),
      sensor: sensorNumber ? `${sensorType} #0x${sensorNumber}` : sensorType,
      event: fields.get('description') ?? '',
      state: /deassert/i.test(direction) ? 'deasserted' : /assert/i.test(direction) ? 'asserted' : null,
    });
  }
  return entries;
}

function selTimestamp(date: string, time: string): string | null {
  const dateMatch = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(date);
  const timeMatch = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
  if (dateMatch && timeMatch) {
    // The BMC's clock, zone unknown: no "Z".
    return `${dateMatch[3]}-${dateMatch[1]}-${dateMatch[2]}T${time}`;
  }
  const text = [date, time].filter((part) => part !== '').join(' ');
  return text === '' ? null : text;
}

export interface McInfo {
  manufacturerId: number | null;
  manufacturer: string | null;
  product: string | null;
  firmware: string | null;
  ipmiVersion: string | null;
}

// IANA enterprise numbers of the common BMC makers (ipmitool prints "Unknown (0x...)" for the ones it lacks).
const MANUFACTURERS: Record<number, string> = {
  2: 'IBM', 11: 'Hewlett-Packard', 343: 'Intel', 674: 'Dell Inc.', 4753: 'MontaVista (OpenIPMI ipmi_sim)', 7154: 'Quanta',
  10876: 'Supermicro', 15370: 'Giga-byte', 19046: 'Lenovo', 20974: 'American Megatrends', 47196: 'Hewlett Packard Enterprise', 49622: 'OpenBMC',
};

/** `mc info` (Get Device ID): who made the BMC, its firmware and IPMI version. */
export function parseMcInfo(stdout: string): McInfo {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
  }
  const idText = fields.get('manufacturer id');
  const manufacturerId = idText && /^\d+$/.test(idText) ? Number(idText) : null;
  const named = fields.get('manufacturer name');
  const manufacturer = named && !/^unknown/i.test(named) ? named : manufacturerId !== null ? MANUFACTURERS[manufacturerId] ?? `IANA ${manufacturerId}` : null;
  const product = fields.get('product name');
  return {
    manufacturerId,
    manufacturer,
    product: product && !/^unknown/i.test(product) ? product : fields.get('product id') ?? null,
    firmware: fields.get('firmware revision') ?? null,
    ipmiVersion: fields.get('ipmi version') ?? null,
  };
}
