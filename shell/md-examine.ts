// `mdadm --examine DEVICE` (mdadm 4.2, v1.x superblocks) and `lvm ... --reportformat json`, parsed: what a member
// says about its array, and which LVM physical volumes are missing.

export interface MdMember {
  device: string;
  arrayUuid: string;
  name: string | null;
  level: string | null;
  raidDevices: number | null;
  /** "Active device 0" → 0; null for a spare or when not shown. */
  role: number | null;
  /** "AA", "A.": one character per role, '.' for a missing member. */
  arrayState: string | null;
}

export function parseMdExamine(device: string, text: string): MdMember | null {
  const field = (name: string) => new RegExp(`^\\s*${name} : (.*)$`, 'm').exec(text)?.[1]?.trim() ?? null;
  const arrayUuid = field('Array UUID');
  if (!arrayUuid) return null;
  const role = /Active device (\d+)/.exec(field('Device Role') ?? '')?.[1];
  const raidDevices = field('Raid Devices');
  return {
    device,
    arrayUuid,
    name: field('Name')?.replace(/\s+\(.*\)$/, '') ?? null,
    level: field('Raid Level'),
    raidDevices: raidDevices ? Number(raidDevices) : null,
    role: role !== undefined ? Number(role) : null,
    arrayState: (field('Array State') ?? '').split(/\s+/)[0] || null,
  };
}

/** The roles of an array that none of the members present fills. */
export function missingRoles(members: readonly MdMember[]): number[] {
  const count = members.find((member) => member.raidDevices !== null)?.raidDevices ?? 0;
  const present = new Set(members.map((member) => member.role).filter((role): role is number => role !== null));
  return Array.from({ length: count }, (_, index) => index).filter((role) => !present.has(role));
}

export interface LvmPhysicalVolume {
  name: string;
  uuid: string;
  vg: string;
  size: string;
  missing: boolean;
}

export interface LvmLogicalVolume {
  name: string;
  vg: string;
  active: boolean;
  devices: string;
}

function reportRows(json: string, key: 'pv' | 'lv'): Array<Record<string, string>> {
  try {
    const parsed = JSON.parse(json) as { report?: Array<Record<string, unknown>> };
    const rows = parsed.report?.[0]?.[key];
    return Array.isArray(rows) ? rows as Array<Record<string, string>> : [];
  } catch {
    return [];
  }
}

/** `lvm pvs --reportformat json -o pv_name,pv_uuid,vg_name,pv_size,pv_missing` */
export function parsePhysicalVolumes(json: string): LvmPhysicalVolume[] {
  return reportRows(json, 'pv').map((row) => ({
    name: row.pv_name ?? '', uuid: row.pv_uuid ?? '', vg: row.vg_name ?? '', size: row.pv_size ?? '', missing: (row.pv_missing ?? '') !== '',
  }));
}

/** `lvm lvs --reportformat json -o lv_name,vg_name,lv_active,devices` */
export function parseLogicalVolumes(json: string): LvmLogicalVolume[] {
  return reportRows(json, 'lv').map((row) => ({
    name: row.lv_name ?? '', vg: row.vg_name ?? '', active: (row.lv_active ?? '') === 'active', devices: row.devices ?? '',
  }));
}
