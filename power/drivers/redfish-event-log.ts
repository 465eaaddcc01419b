// The hardware event log of a Redfish system. Where it is differs by vendor: under the system's LogServices
// (DMTF, OpenBMC "EventLog", HPE's IML), or under the manager's (Dell iDRAC Managers/iDRAC.Embedded.1/
// LogServices/Sel, HPE's IEL, Supermicro's Log1). Entries come in pages (Members@odata.nextLink); the newest
// MAX_ENTRIES are kept, whatever order the BMC lists them in.
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import type { OperationContext, SystemEventLogEntry } from '../types.js';
import type { RedfishConnection } from './redfish-connection.js';
import { isRecord, odataId } from './redfish-mapping.js';

export const MAX_ENTRIES = 500;
/** Pages followed at most; a BMC whose nextLink never ends stops here. */
const MAX_PAGES = 200;

/** Log service Ids, most wanted first: the SEL, then the vendors' hardware event logs, then their event logs. */
const PREFERENCE: readonly RegExp[] = [/^sel$/i, /^(iml|eventlog|log1)$/i, /^(iel|activelog|platformlog)$/i];
/** Logs that are never the hardware event log (audit, debug, journal, Dell's lifecycle and fault lists). */
const NOT_HARDWARE = /^(auditlog|journal|lclog|faultlist|crashdump|hostlogger|postcodes|dump|bmcdump|systemdump)$/i;

export interface LogLocation {
  path: string;
  /** Where it was found: 'system' or the manager's path. */
  holder: string;
}

function lastSegment(path: string): string {
  return decodeURIComponent(path.replace(/\/$/, '').split('/').pop() ?? '');
}

async function membersOf(redfish: RedfishConnection, path: string, context: OperationContext): Promise<string[]> {
  const collection = await redfish.request('GET', path, context);
  const members = isRecord(collection.body) && Array.isArray(collection.body['Members']) ? collection.body['Members'] : [];
  return members.map(odataId).filter((member): member is string => member !== null);
}

function rank(path: string): number {
  const id = lastSegment(path);
  const index = PREFERENCE.findIndex((pattern) => pattern.test(id));
  if (index >= 0) return index;
  return NOT_HARDWARE.test(id) ? Number.POSITIVE_INFINITY : PREFERENCE.length;
}

/** The system's log service when it has a SEL-like one, else the best of the system's and its managers'. */
export async function findEventLog(redfish: RedfishConnection, system: Record<string, unknown>, systemPath: string, context: OperationContext): Promise<LogLocation | null> {
  const candidates: LogLocation[] = [];
  const systemServices = odataId(system['LogServices']);
  if (systemServices) {
    for (const path of await membersOf(redfish, systemServices, context)) candidates.push({ path, holder: 'system' });
    const best = candidates.filter((candidate) => rank(candidate.path) === 0)[0];
    if (best) return best;
  }
  const links = isRecord(system['Links']) && Array.isArray(system['Links']['ManagedBy']) ? system['Links']['ManagedBy'] : [];
  let managers = links.map(odataId).filter((path): path is string => path !== null);
  if (managers.length === 0) {
    const root = redfish.serviceRoot;
    const managersPath = isRecord(root) ? odataId(root['Managers']) : null;
    if (managersPath) managers = await membersOf(redfish, managersPath, context).catch(() => []);
  }
  for (const manager of managers) {
    const body = (await redfish.request('GET', manager, context).catch(() => null))?.body;
    const services = isRecord(body) ? odataId(body['LogServices']) : null;
    if (!services) continue;
    for (const path of await membersOf(redfish, services, context)) candidates.push({ path, holder: manager });
  }
  const usable = candidates.filter((candidate) => Number.isFinite(rank(candidate.path)));
  usable.sort((a, b) => rank(a.path) - rank(b.path));
  return usable[0] ?? null;
}

export async function readEventLog(redfish: RedfishConnection, system: Record<string, unknown>, systemPath: string, context: OperationContext, origin: BmcErrorOrigin): Promise<SystemEventLogEntry[]> {
  const location = await findEventLog(redfish, system, systemPath, context);
  if (!location) throw new BmcError('unsupported', origin, `${redfish.describeBmc()}: ${systemPath} has no LogServices with a hardware event log, nor has its manager`);
  const service = await redfish.request('GET', location.path, context);
  const entriesPath = isRecord(service.body) ? odataId(service.body['Entries']) : null;
  if (!entriesPath) throw new BmcError('unsupported', origin, `${redfish.describeBmc()}: ${location.path} has no Entries`);

  const listed: Record<string, unknown>[] = [];
  let next: string | null = entriesPath;
  for (let page = 0; next !== null && page < MAX_PAGES; page += 1) {
    const answer = await redfish.request('GET', next, context);
    const body = isRecord(answer.body) ? answer.body : {};
    const members = Array.isArray(body['Members']) ? body['Members'] : [];
    for (const member of members) if (isRecord(member)) listed.push(member);
    next = nextPage(body['Members@odata.nextLink'], next);
  }
  const newest = oldestFirst(listed).slice(-MAX_ENTRIES);
  const result: SystemEventLogEntry[] = [];
  for (const member of newest) {
    let entry: unknown = member;
    const path = odataId(member);
    if (path && !('Message' in member)) entry = (await redfish.request('GET', path, context)).body;
    if (isRecord(entry)) result.push(logEntryFromRedfish(entry));
  }
  return result;
}

/** The next page's path: nextLink may be absolute (some BMCs write their own URL); a link to itself ends. */
function nextPage(link: unknown, current: string): string | null {
  if (typeof link !== 'string' || link === '') return null;
  let path = link;
  if (/^https?:\/\//i.test(link)) {
    try {
      const url = new URL(link);
      path = `${url.pathname}${url.search}`;
    } catch {
      return null;
    }
  }
  return path === current ? null : path;
}

/**
 * Oldest first: by numeric Id when every entry has one (iDRAC, iLO and bmcweb number them in order), else by
 * Created when every entry has a time, else as listed.
 */
function oldestFirst(entries: Record<string, unknown>[]): Record<string, unknown>[] {
  // An entry listed by link only is named by the last segment of its @odata.id.
  const idOf = (entry: Record<string, unknown>): string => (typeof entry['Id'] === 'string' ? entry['Id'] : lastSegment(odataId(entry) ?? ''));
  const ids = entries.map((entry) => (/^\d+$/.test(idOf(entry)) ? Number(idOf(entry)) : NaN));
  if (entries.length > 0 && ids.every((id) => Number.isFinite(id))) {
    return entries.map((entry, index) => ({ entry, key: ids[index] as number })).sort((a, b) => a.key - b.key).map((item) => item.entry);
  }
  const times = entries.map((entry) => (typeof entry['Created'] === 'string' ? Date.parse(entry['Created']) : NaN));
  if (entries.length > 0 && times.every((time) => Number.isFinite(time))) {
    return entries.map((entry, index) => ({ entry, key: times[index] as number })).sort((a, b) => a.key - b.key).map((item) => item.entry);
  }
  return entries;
}

export function logEntryFromRedfish(entry: Record<string, unknown>): SystemEventLogEntry {
  const text = (key: string): string => (typeof entry[key] === 'string' ? (entry[key] as string) : '');
  return {
    id: text('Id'),
    timestamp: text('Created') || null,
    sensor: text('SensorType') || text('EntryType'),
    event: text('Message'),
    state: text('Severity') || null,
  };
}
