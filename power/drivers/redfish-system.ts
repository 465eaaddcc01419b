// Which ComputerSystem of a Redfish service is this machine's. A service may hold several (blades, multi-node
// chassis, DMTF mockup "public-bladed-chassis"): system_id names one; otherwise the machine's UUID, serial number
// or NIC MAC addresses (options system_uuid / system_serial / system_mac, and the MACs of the inventory) pick it.
// An ambiguous service is an invalid-config error that lists its members, never a silent Members[0].
import { isMac, normalizeMac } from '../../inventory/mac.js';
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import type { MachineIdentity, OperationContext } from '../types.js';
import type { RedfishConnection } from './redfish-connection.js';
import { isRecord, odataId } from './redfish-mapping.js';

export interface SystemSelection {
  /** options.system_id */
  systemId: string | undefined;
  identity: MachineIdentity;
}

export interface DiscoveredSystem {
  path: string;
  /** Every system the service lists (paths), the chosen one included. */
  members: string[];
  /** How it was chosen, for the probe: "only system", "system_id", "UUID ...", ... */
  chosenBy: string;
}

/** A MAC as the BMC wrote it, in the inventory's form; what is not a MAC is kept as it is (it matches nothing). */
function macOrText(value: string): string {
  return isMac(value) ? normalizeMac(value) : value.trim().toLowerCase();
}

function normaliseUuid(uuid: string): string {
  return uuid.trim().toLowerCase().replace(/[{}]/g, '');
}

function hasIdentity(identity: MachineIdentity): boolean {
  return identity.macs.length > 0 || identity.uuid !== undefined || identity.serial !== undefined;
}

interface MemberFacts {
  path: string;
  uuid: string | null;
  serial: string | null;
  macs: string[] | null;
}

export async function discoverSystem(redfish: RedfishConnection, selection: SystemSelection, context: OperationContext, origin: BmcErrorOrigin): Promise<DiscoveredSystem> {
  const root = redfish.serviceRoot;
  const collectionPath = (isRecord(root) ? odataId(root['Systems']) : null) ?? '/redfish/v1/Systems';
  if (selection.systemId !== undefined) {
    // Named: no need to list the collection (a wrong Id is a 404 on the first read, invalid-config).
    return { path: `${collectionPath.replace(/\/$/, '')}/${encodeURIComponent(selection.systemId)}`, members: [], chosenBy: `system_id=${selection.systemId}` };
  }
  const members = await listSystems(redfish, collectionPath, context);
  const bmc = redfish.describeBmc();
  if (members.length === 0) throw new BmcError('invalid-config', origin, `${bmc}: ${collectionPath} lists no system`);
  if (members.length === 1) return { path: members[0] as string, members, chosenBy: 'the only system' };

  const facts: MemberFacts[] = [];
  for (const path of members) facts.push(await memberFacts(redfish, path, selection.identity, context));
  const list = facts.map((member) => `${member.path} (UUID ${member.uuid ?? '?'}, serial ${member.serial ?? '?'})`).join('; ');
  if (!hasIdentity(selection.identity)) {
    throw new BmcError('invalid-config', origin, `${bmc} serves ${members.length} systems and nothing says which is this machine: set the power option system_id, or give the machine's MAC (an interface, or system_mac), system_uuid or system_serial. Members: ${list}`);
  }
  const identity = selection.identity;
  const wantedMacs = new Set(identity.macs.map(macOrText));
  const matches = facts.filter((member) => {
    if (identity.uuid !== undefined && member.uuid !== null && normaliseUuid(member.uuid) === normaliseUuid(identity.uuid)) return true;
    if (identity.serial !== undefined && member.serial !== null && member.serial.trim().toLowerCase() === identity.serial.trim().toLowerCase()) return true;
    return member.macs !== null && member.macs.some((mac) => wantedMacs.has(mac));
  });
  const asked = [
    identity.uuid !== undefined ? `UUID ${identity.uuid}` : null,
    identity.serial !== undefined ? `serial ${identity.serial}` : null,
    identity.macs.length > 0 ? `MAC ${identity.macs.join(', ')}` : null,
  ].filter((part) => part !== null).join(', ');
  if (matches.length === 1) return { path: (matches[0] as MemberFacts).path, members, chosenBy: asked };
  const why = matches.length === 0 ? `no system matches ${asked}` : `${matches.length} systems match ${asked} (${matches.map((member) => member.path).join(', ')})`;
  throw new BmcError('invalid-config', origin, `${bmc} serves ${members.length} systems and ${why}: set the power option system_id. Members: ${list}`);
}

export async function listSystems(redfish: RedfishConnection, collectionPath: string, context: OperationContext): Promise<string[]> {
  const collection = await redfish.request('GET', collectionPath, context, { notFoundKind: 'invalid-config' });
  const listed = isRecord(collection.body) && Array.isArray(collection.body['Members']) ? collection.body['Members'] : [];
  return listed.map(odataId).filter((path): path is string => path !== null);
}

async function memberFacts(redfish: RedfishConnection, path: string, identity: MachineIdentity, context: OperationContext): Promise<MemberFacts> {
  const system = (await redfish.request('GET', path, context)).body;
  const record = isRecord(system) ? system : {};
  const text = (key: string): string | null => (typeof record[key] === 'string' && record[key] !== '' ? (record[key] as string) : null);
  let macs: string[] | null = null;
  const interfacesPath = odataId(record['EthernetInterfaces']);
  // The MACs are only fetched when the UUID and serial did not already decide.
  const decidedWithoutMacs = (identity.uuid !== undefined && text('UUID') !== null) || (identity.serial !== undefined && text('SerialNumber') !== null);
  if (identity.macs.length > 0 && interfacesPath && !decidedWithoutMacs) {
    macs = [];
    const collection = (await redfish.request('GET', interfacesPath, context)).body;
    const nics = isRecord(collection) && Array.isArray(collection['Members']) ? collection['Members'] : [];
    for (const nic of nics) {
      const nicPath = odataId(nic);
      let body: unknown = nic;
      if (nicPath && isRecord(nic) && !('MACAddress' in nic)) body = (await redfish.request('GET', nicPath, context)).body;
      if (!isRecord(body)) continue;
      for (const key of ['MACAddress', 'PermanentMACAddress']) {
        if (typeof body[key] === 'string' && body[key] !== '') macs.push(macOrText(body[key] as string));
      }
    }
  }
  return { path, uuid: text('UUID'), serial: text('SerialNumber'), macs };
}
