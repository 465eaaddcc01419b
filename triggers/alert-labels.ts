// Which machine an alert is about: label rules tried in order (RESCUED_ALERT_LABELS, by default system,
// hostname, nodename, instance, mac, ip). Each label's value is matched against system names, interface
// host names, IPs and MACs. `instance` (Prometheus' scrape target) names host:port, or a URL
// (blackbox_exporter's targets): only the host is kept.
import { isIP } from 'node:net';
import { canonicalIp } from '../inventory/ip.js';
import { isMac, normalizeMac } from '../inventory/mac.js';

export const DEFAULT_ALERT_LABELS = ['system', 'hostname', 'nodename', 'instance', 'mac', 'ip'] as const;

/** "scheme://[user@]authority[/path...]": the authority (host, port). */
const URL_STYLE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#]*)/;

/**
 * "web01:9100" -> "web01", "[2001:db8::1]:9100" -> "2001:db8::1", "127.0.0.5" -> "127.0.0.5",
 * "https://db02:9100/metrics" -> "db02", "http://[2001:db8::10]/" -> "2001:db8::10", "tcp://db02:22" -> "db02".
 */
export function hostOfInstance(value: string): string {
  const trimmed = value.trim();
  const authority = URL_STYLE.exec(trimmed)?.[1] ?? trimmed;
  const bracketed = /^\[([^\]]+)\](?::\d*)?$/.exec(authority);
  if (bracketed) return bracketed[1]!;
  if (isIP(authority) === 6) return authority;
  const withPort = /^(.*):(\d+)$/.exec(authority);
  return withPort ? withPort[1]! : authority;
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

/** "db02.example.com" -> "db02": the first label of a name that is not an IP address. */
function shortNameOf(value: string): string | undefined {
  return isIP(value) === 0 && value.includes('.') ? value.split('.')[0]! : undefined;
}

/**
 * The forms of a value worth looking up (system names and host names are looked up in lower case, so they are
 * found in any case, and with them a name that differs from another only in case, see matchMachine; IPs and
 * MACs are compared exactly, in the forms the inventory stores): itself and in lower case, a MAC's normal form,
 * an IP's canonical form, an FQDN's first label.
 */
export function lookupForms(value: string): string[] {
  const lower = value.toLowerCase();
  const forms = new Set([value, lower]);
  if (isMac(value)) forms.add(normalizeMac(value));
  const ip = canonicalIp(value);
  if (ip !== undefined) forms.add(ip);
  for (const name of [value, lower]) {
    const short = shortNameOf(name);
    if (short !== undefined) forms.add(short);
  }
  return [...forms];
}

/** The machines of one lookup's answer by each key an alert names them with (the first row wins a key). */
interface MachineIndex {
  systems: Set<string>;
  /** Lower-case system name -> the names that are it in some case. */
  systemsInAnyCase: Map<string, Set<string>>;
  /** Lower-case host name -> system. */
  byHostname: Map<string, string>;
  /** Canonical IP -> system. */
  byIp: Map<string, string>;
  byMac: Map<string, string>;
}

/** Built once per answer: a delivery of thousands of alerts matches each against the same rows. */
const indexes = new WeakMap<readonly MachineKeys[], MachineIndex>();

function indexOf(known: readonly MachineKeys[]): MachineIndex {
  const cached = indexes.get(known);
  if (cached !== undefined) return cached;
  const index: MachineIndex = { systems: new Set(), systemsInAnyCase: new Map(), byHostname: new Map(), byIp: new Map(), byMac: new Map() };
  const first = (map: Map<string, string>, key: string | null | undefined, system: string) => {
    if (key != null && !map.has(key)) map.set(key, system);
  };
  for (const k of known) {
    index.systems.add(k.system);
    const lower = k.system.toLowerCase();
    const names = index.systemsInAnyCase.get(lower) ?? new Set<string>();
    index.systemsInAnyCase.set(lower, names.add(k.system));
    first(index.byHostname, k.hostname?.toLowerCase(), k.system);
    first(index.byIp, k.ip === null ? undefined : canonicalIp(k.ip), k.system);
    first(index.byMac, k.mac, k.system);
  }
  indexes.set(known, index);
  return index;
}

/**
 * The system of this name: spelt exactly, or else in another case. The inventory lets two systems' names
 * differ only in case (names are unique as written): when the value names several in some case and none
 * exactly, none is chosen, for a rescue of the wrong machine is worse than none. The lookup finds names in
 * any case (systems_name_lower_idx), so every system that is the value in some case is seen here.
 */
function systemNamed(name: string, index: MachineIndex): string | undefined {
  if (index.systems.has(name)) return name;
  const inAnyCase = index.systemsInAnyCase.get(name.toLowerCase());
  return inAnyCase?.size === 1 ? [...inAnyCase][0] : undefined;
}

/**
 * The first rule that names a known machine wins: which machine, and by which label. A value is tried as a
 * system name, a host name (in any case), an IP (in any spelling), a MAC (in any notation), then as an FQDN
 * whose first label is a system name. `known` is read once, when first given: it must not change after.
 */
export function matchMachine(identifiers: MachineIdentifier[], known: readonly MachineKeys[]): { system: string; by: MachineIdentifier } | undefined {
  const index = indexOf(known);
  for (const identifier of identifiers) {
    const value = identifier.value;
    const ip = canonicalIp(value);
    const short = shortNameOf(value);
    const system =
      systemNamed(value, index) ??
      index.byHostname.get(value.toLowerCase()) ??
      (ip === undefined ? undefined : index.byIp.get(ip)) ??
      (isMac(value) ? index.byMac.get(normalizeMac(value)) : undefined) ??
      (short === undefined ? undefined : systemNamed(short, index));
    if (system !== undefined) return { system, by: identifier };
  }
  return undefined;
}

export function parseAlertLabelRules(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_ALERT_LABELS];
  return text.split(/[\s,]+/).filter(Boolean);
}
