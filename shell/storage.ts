// The storage stacks a root file system may sit on: md RAID arrays and LVM logical volumes. Before the devices
// are examined, what can start whole is started, as a rescue system's own boot would: `mdadm --assemble --scan`
// (complete arrays only: a degraded one is left inactive, for the storage probe to report and the
// raid-assemble-degraded playbook to start) and `vgchange -ay` (activation writes nothing on the physical
// volumes). The volumes built on the examined devices then join them as devices of kind `volume`.
import { shellScript } from './quote.js';
import type { ExaminedDevice } from './inventory.js';
import type { RescueHost } from './rescue-host.js';
import type { ToolInventory } from './tools.js';

export async function assembleStorage(host: RescueHost, tools: ToolInventory): Promise<void> {
  // --no-degraded: an array with a member missing stays inactive, as it does at the installed system's boot.
  if (tools.has('mdadm')) await host.exec(['mdadm', '--assemble', '--scan', '--no-degraded'], { timeoutMs: 60_000 });
  if (tools.has('lvm')) await host.exec(['lvm', 'vgchange', '-ay'], { timeoutMs: 60_000 });
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
