// The devices a diagnosis examines, and what file system each one holds. Given explicitly (device paths, or
// image files in tests) or discovered from the rescue host's /proc/partitions and /sys/block. Identities come
// from blkid when the rescue environment has it, else from the ext superblock (tune2fs -l or dumpe2fs -h): busybox
// has no blkid.
import { blockDeviceTable, discoverDevices, parseProcPartitions, type BlockDeviceTable, type DeviceKind, type DiscoveredDevice } from './devices.js';
import { extTypeFromFeatures, parseBlkidExport, parseExtSuperblock } from './ext-superblock.js';
import type { KnownFileSystem } from './fstab.js';
import { shellScript } from './quote.js';
import { execChecked, type RescueHost } from './rescue-host.js';
import { assembleStorage, stackedVolumes, storageMembers } from './storage.js';
import type { ToolInventory } from './tools.js';

export interface FileSystemIdentity {
  /** ext4, xfs, swap, vfat, ...; null when the superblock cannot be read. */
  type: string | null;
  uuid: string | null;
  label: string | null;
  partUuid: string | null;
  partLabel: string | null;
  source: 'blkid' | 'tune2fs' | 'dumpe2fs';
}

export interface ExaminedDevice {
  path: string;
  kind: DeviceKind | 'missing';
  sizeBytes: number | null;
  parent: string | null;
  partitions: string[];
  /** null: nothing recognised (no file system, or a damaged superblock). */
  fileSystem: FileSystemIdentity | null;
}

const LISTING_SCRIPT = [
  'echo "#partitions"; cat /proc/partitions 2>/dev/null',
  'echo "#sysblock"; ls /sys/block 2>/dev/null',
  'echo "#paths"',
  'for d in "$@"; do',
  '  if [ -b "$d" ]; then k=block; elif [ -f "$d" ]; then k=file; else k=missing; fi',
  '  s=$(stat -L -c %s "$d" 2>/dev/null) || s=-',
  '  r=$(readlink -f "$d" 2>/dev/null) || r="$d"',
  '  printf "%s\\t%s\\t%s\\t%s\\n" "$k" "$s" "$r" "$d"',
  'done',
].join('\n');

function sections(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let current = '';
  for (const line of text.split('\n')) {
    if (/^#(partitions|sysblock|paths)$/.test(line)) {
      current = line.slice(1);
      map.set(current, []);
    } else if (current) {
      map.get(current)?.push(line);
    }
  }
  return map;
}

/** Lists the devices to examine: the explicit ones (with a disk's partitions), or every disk found. */
export async function listDevices(host: RescueHost, explicit?: readonly string[]): Promise<ExaminedDevice[]> {
  return (await readDeviceListing(host, explicit)).devices;
}

/** The devices to examine, and the whole block-device table of the rescue host (one round trip). */
async function readDeviceListing(host: RescueHost, explicit?: readonly string[]): Promise<{ devices: ExaminedDevice[]; blockDevices: BlockDeviceTable }> {
  for (const path of explicit ?? []) {
    if (!path.startsWith('/') || /[\0\n\t]/.test(path)) throw new Error(`not a device path: ${JSON.stringify(path)}`);
  }
  const result = await execChecked(host, shellScript(LISTING_SCRIPT, ...(explicit ?? [])), { timeoutMs: 15_000 });
  const parts = sections(result.stdout);
  const partitions = parseProcPartitions((parts.get('partitions') ?? []).join('\n'));
  const sysBlock = (parts.get('sysblock') ?? []).map((line) => line.trim()).filter((name) => /^[\w.+:!-]+$/.test(name));
  const discovered = discoverDevices(partitions, sysBlock);
  const blockDevices = blockDeviceTable(partitions, sysBlock);
  if (!explicit) return { devices: discovered.map((device) => ({ ...device, fileSystem: null })), blockDevices };

  const devices: ExaminedDevice[] = [];
  for (const line of parts.get('paths') ?? []) {
    const [kind, size, resolved, path] = line.split('\t');
    // Only the paths asked for: a line that is not one of them is noise, never a device to run tools on.
    if (!kind || !path || !explicit.includes(path) || devices.some((device) => device.path === path)) continue;
    if (kind === 'missing') {
      devices.push({ path, kind: 'missing', sizeBytes: null, parent: null, partitions: [], fileSystem: null });
    } else if (kind === 'file') {
      devices.push({ path, kind: 'file', sizeBytes: size && size !== '-' ? Number(size) : null, parent: null, partitions: [], fileSystem: null });
    } else {
      const known = discovered.find((device) => device.path === resolved || device.path === path);
      const entry: DiscoveredDevice = known ?? { path, kind: 'partition', sizeBytes: null, parent: null, partitions: [] };
      devices.push({ ...entry, path, fileSystem: null });
      for (const partition of entry.partitions) {
        const child = discovered.find((device) => device.path === partition);
        if (child && !devices.some((device) => device.path === child.path)) devices.push({ ...child, parent: path, fileSystem: null });
      }
    }
  }
  return { devices, blockDevices };
}

/** Devices that may hold a file system: partitions, and disks or image files that have no partitions. */
export function candidateDevices(devices: readonly ExaminedDevice[]): ExaminedDevice[] {
  return devices.filter((device) => device.kind !== 'missing' && (device.kind !== 'disk' || device.partitions.length === 0));
}

const SUPERBLOCK_SCRIPTS = {
  tune2fs: 'for d in "$@"; do echo "#device $d"; tune2fs -l "$d" 2>&1; echo "#exit $?"; done',
  dumpe2fs: 'for d in "$@"; do echo "#device $d"; dumpe2fs -h "$d" 2>&1; echo "#exit $?"; done',
} as const;

/** Fills in `fileSystem` for each candidate device: one blkid call, or one tune2fs/dumpe2fs pass. */
export async function identifyFileSystems(host: RescueHost, tools: ToolInventory, devices: readonly ExaminedDevice[]): Promise<ExaminedDevice[]> {
  const candidates = candidateDevices(devices).map((device) => device.path);
  const identities = new Map<string, FileSystemIdentity>();
  if (candidates.length > 0 && tools.has('blkid')) {
    const result = await host.exec(['blkid', '-c', '/dev/null', '-o', 'export', ...candidates], { timeoutMs: 30_000 });
    for (const block of result.stdout.split(/\n\s*\n/)) {
      const fields = parseBlkidExport(block);
      const device = fields.get('DEVNAME');
      if (!device) continue;
      identities.set(device, {
        type: fields.get('TYPE') ?? null,
        uuid: fields.get('UUID')?.toLowerCase() ?? null,
        label: fields.get('LABEL') ?? null,
        partUuid: fields.get('PARTUUID')?.toLowerCase() ?? null,
        partLabel: fields.get('PARTLABEL') ?? null,
        source: 'blkid',
      });
    }
  }
  const unidentified = candidates.filter((path) => !identities.has(path));
  const superblockTool = tools.has('tune2fs') ? 'tune2fs' : tools.has('dumpe2fs') ? 'dumpe2fs' : null;
  if (unidentified.length > 0 && superblockTool && !tools.has('blkid')) {
    const result = await host.exec(shellScript(SUPERBLOCK_SCRIPTS[superblockTool], ...unidentified), { timeoutMs: 30_000 });
    for (const chunk of result.stdout.split(/^#device /m).slice(1)) {
      const newline = chunk.indexOf('\n');
      const device = chunk.slice(0, newline);
      const superblock = parseExtSuperblock(chunk.slice(newline + 1));
      if (!superblock) continue;
      identities.set(device, {
        type: extTypeFromFeatures(superblock.features),
        uuid: superblock.uuid,
        label: superblock.label,
        partUuid: null,
        partLabel: null,
        source: superblockTool,
      });
    }
  }
  return devices.map((device) => ({ ...device, fileSystem: identities.get(device.path) ?? null }));
}

export function knownFileSystems(devices: readonly ExaminedDevice[]): KnownFileSystem[] {
  return devices.flatMap((device) => device.fileSystem ? [{
    device: device.path,
    type: device.fileSystem.type,
    uuid: device.fileSystem.uuid,
    label: device.fileSystem.label,
    partUuid: device.fileSystem.partUuid,
    partLabel: device.fileSystem.partLabel,
  }] : []);
}

export function isExtType(type: string | null | undefined): boolean {
  return type != null && /^ext[234]$/.test(type);
}

/** Lists and identifies in one go, with the LVM volumes and md arrays built on the listed devices. */
export async function examineDevices(host: RescueHost, tools: ToolInventory, explicit?: readonly string[]): Promise<ExaminedDevice[]> {
  return (await examineMachine(host, tools, explicit)).devices;
}

/**
 * The devices listed and identified, with the LVM volumes and md arrays built on them, and the block-device
 * table they were found in (for judging fstab).
 */
export async function examineMachine(host: RescueHost, tools: ToolInventory, explicit?: readonly string[]): Promise<{ devices: ExaminedDevice[]; blockDevices: BlockDeviceTable }> {
  const listing = await readDeviceListing(host, explicit);
  const devices = await identifyFileSystems(host, tools, listing.devices);
  // Two rounds: an md array may itself be an LVM physical volume.
  for (let round = 0; round < 2; round += 1) {
    const members = storageMembers(devices);
    if (members.length === 0) break;
    await assembleStorage(host, tools, members);
    const stacked = await stackedVolumes(host, devices, explicit !== undefined);
    if (stacked.length === 0) break;
    devices.push(...await identifyFileSystems(host, tools, stacked));
  }
  return { devices, blockDevices: listing.blockDevices };
}
