// The storage stacks a root file system may sit on: md RAID arrays and LVM logical volumes. When examined block
// devices are md members or LVM physical volumes, what can start whole is started, as the installed system's own
// boot would: `mdadm --incremental` per member (an array starts only once complete: a degraded one is left
// inactive, for the storage probe to report and the raid-assemble-degraded playbook to start) and `vgchange -ay`
// for the volume groups on those physical volumes (activation writes nothing on them). Only the devices examined
// are touched: image files and whatever the rescue host has of its own are left alone. The volumes built on the
// examined devices then join them as devices of kind `volume`.
import { shellScript } from './quote.js';
import type { ExaminedDevice } from './inventory.js';
import type { RescueHost } from './rescue-host.js';
import type { ToolInventory } from './tools.js';

export const MD_MEMBER_TYPE = 'linux_raid_member';
export const LVM_MEMBER_TYPE = 'LVM2_member';

/** Block devices (not image files) that are md members or LVM physical volumes and not already handled. */
export function storageMembers(devices: readonly ExaminedDevice[]): ExaminedDevice[] {
  return devices.filter((device) => device.kind !== 'file' && device.kind !== 'missing'
    && (device.fileSystem?.type === MD_MEMBER_TYPE || device.fileSystem?.type === LVM_MEMBER_TYPE));
}

const ACTIVATE_VGS = 'vgs=$(lvm pvs --noheadings -o vg_name "$@" 2>/dev/null | sort -u); for vg in $vgs; do lvm vgchange -ay "$vg"; done; exit 0';

export async function assembleStorage(host: RescueHost, tools: ToolInventory, members: readonly ExaminedDevice[]): Promise<void> {
  const raid = members.filter((device) => device.fileSystem?.type === MD_MEMBER_TYPE).map((device) => device.path);
  const physical = members.filter((device) => device.fileSystem?.type === LVM_MEMBER_TYPE).map((device) => device.path);
  if (tools.has('mdadm')) {
    // Without --run: an array with a member missing stays inactive, as at the installed system's boot.
    for (const member of raid) await host.exec(['mdadm', '--incremental', member], { timeoutMs: 60_000 });
  }
  if (tools.has('lvm') && physical.length > 0) await host.exec(shellScript(ACTIVATE_VGS, ...physical), { timeoutMs: 120_000 });
}

export interface StackedBlockDevice {
  /** md127, dm-0 */
  name: string;
  /** /dev/md127, /dev/mapper/vg-root */
  path: string;
  /** Names of the devices under it (vdb, vdb1, md127). */
  slaves: string[];
  sizeBytes: number | null;
}

const STACKED_SCRIPT = [
  'for b in /sys/block/md* /sys/block/dm-*; do',
  '  [ -d "$b" ] || continue',
  '  n=${b##*/}; dm=$(cat "$b/dm/name" 2>/dev/null); s=$(cat "$b/size" 2>/dev/null)',
  '  printf "%s\\t%s\\t%s\\t%s\\n" "$n" "$dm" "$s" "$(ls "$b/slaves" 2>/dev/null | tr "\\n" " ")"',
  'done; exit 0',
].join('\n');

/** Parses the listing above: one line per md or dm device, `name<TAB>dm-name<TAB>sectors<TAB>slaves`. */
export function parseStackedDevices(text: string): StackedBlockDevice[] {
  const devices: StackedBlockDevice[] = [];
  for (const line of text.split('\n')) {
    const [name, dmName, sectors, slaves] = line.split('\t');
    if (!name) continue;
    const size = Number(sectors);
    devices.push({
      name,
      path: dmName ? `/dev/mapper/${dmName}` : `/dev/${name}`,
      slaves: (slaves ?? '').split(/\s+/).filter(Boolean),
      sizeBytes: Number.isFinite(size) && sectors !== '' ? size * 512 : null,
    });
  }
  return devices;
}

/** The stacked devices built (directly or through another) on `under` names; all of them when `under` is null. */
export function stackedOn(devices: readonly StackedBlockDevice[], under: ReadonlySet<string> | null): StackedBlockDevice[] {
  if (under === null) return devices.filter((device) => device.sizeBytes !== 0);
  const reached = new Set(under);
  const result: StackedBlockDevice[] = [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const device of devices) {
      if (reached.has(device.name) || !device.slaves.some((slave) => reached.has(slave))) continue;
      reached.add(device.name);
      result.push(device);
      grew = true;
    }
  }
  // An inactive md array has size 0: nothing to examine on it (the storage probe reports it).
  return result.filter((device) => device.sizeBytes !== 0);
}

export async function stackedVolumes(host: RescueHost, listed: readonly ExaminedDevice[], explicit: boolean): Promise<ExaminedDevice[]> {
  const result = await host.exec(shellScript(STACKED_SCRIPT), { timeoutMs: 15_000 });
  const all = parseStackedDevices(result.stdout);
  const names = explicit ? new Set(listed.filter((device) => device.path.startsWith('/dev/')).map((device) => device.path.slice('/dev/'.length))) : null;
  return stackedOn(all, names)
    .filter((device) => !listed.some((known) => known.path === device.path))
    .map((device) => ({ path: device.path, kind: 'volume' as const, sizeBytes: device.sizeBytes, parent: null, partitions: [], fileSystem: null }));
}
