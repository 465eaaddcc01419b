// Which machine an alert is about: label rules tried in order (RESCUED_ALERT_LABELS, by default system,
// hostname, nodename, instance, mac, ip). Each label's value is matched against system names, interface
// host names, IPs and MACs. `instance` (Prometheus' scrape target) names host:port: the port is dropped.
import { isIP } from 'node:net';
import { isMac, normalizeMac } from '../inventory/mac.js';

export const DEFAULT_ALERT_LABELS = ['system', 'hostname', 'nodename', 'instance', 'mac', 'ip'] as const;

/** "web01:9100" -> "web01", "[2001:db8::1]:9100" -> "2001:db8::1", "10.0.0.5" -> "10.0.0.5". */
export function hostOfInstance(value: string): string {
  const trimmed = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  if (bracketed) return bracketed[1]!;
  if (isIP(trimmed) === 6) return trimmed;
  const withPort = /^(.*):(\d+)$/.exec(trimmed);
  return withPort ? withPort[1]! : trimmed;
}

export interface MachineIdentifier {
  label: string;
  value: string;
}

/** The values to look up, in the order of the rules; a label absent from the alert is skipped. */
export function machineIdentifiers(labels: Record<string, string>, rules: readonly string[]): MachineIdentifier[] {
  const found: MachineIdentifier[] = [];
  for (const label of rules) {
    const raw = labels[label]?.trim();
    if (!raw) continue;
    const value = label === 'instance' ? hostOfInstance(raw) : raw;
    if (value !== '') found.push({ label, value });
  }
  return found;
}

/** What one interface (or a system without interfaces) offers to match against. */
export interface MachineKeys {
  system: string;
  hostname: string | null;
  ip: string | null;
  mac: string | null;
}

/** The forms of a value worth looking up: itself, a MAC's normal form, an FQDN's first label. */
export function lookupForms(value: string): string[] {
  const forms = new Set([value, value.toLowerCase()]);
  if (isMac(value)) forms.add(normalizeMac(value));
  if (isIP(value) === 0 && value.includes('.')) forms.add(value.split('.')[0]!);
  return [...forms];
}

/** The first rule that names a known machine wins: which machine, and by which label. */
export function matchMachine(identifiers: MachineIdentifier[], known: MachineKeys[]): { system: string; by: MachineIdentifier } | undefined {
  for (const identifier of identifiers) {
    const value = identifier.value;
    const lower = value.toLowerCase();
    const mac = isMac(value) ? normalizeMac(value) : undefined;
    const exact = known.find((k) => k.system === value || k.hostname?.toLowerCase() === lower || (k.ip !== null && k.ip === value) || (mac !== undefined && k.mac === mac));
    if (exact) return { system: exact.system, by: identifier };
    if (isIP(value) === 0 && value.includes('.')) {
      const short = value.split('.')[0]!;
      const byShortName = known.find((k) => k.system === short);
      if (byShortName) return { system: byShortName.system, by: identifier };
    }
  }
  return undefined;
}

export function parseAlertLabelRules(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_ALERT_LABELS];
  return text.split(/[\s,]+/).filter(Boolean);
}
