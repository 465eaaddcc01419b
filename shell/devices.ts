// Block devices of the rescue host: /proc/partitions and /sys/block, parsed. Which names are whole disks and
// which are partitions of which disk, and which are not worth examining (loop, ram, optical, ...).

export interface ProcPartition {
  major: number;
  minor: number;
  blocks: number;
  name: string;
}

export function parseProcPartitions(text: string): ProcPartition[] {
  const result: ProcPartition[] = [];
  for (const line of text.split('\n')) {
    // Kernel block device names: letters, digits and . _ - + : ! (cciss!c0d0); anything else is not a line of the table.
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\w.+:!-]+)\s*$/.exec(line);
    if (match?.[1] && match[2] && match[3] && match[4]) {
      result.push({ major: Number(match[1]), minor: Number(match[2]), blocks: Number(match[3]), name: match[4] });
    }
  }
  return result;
}

/** Disk names never examined when devices are discovered (they are never the broken system's disks). */
const IGNORED_DISK = /^(loop|ram|zram|sr|fd|nbd|dm-|md\d+p)\S*$/;

/** `volume`: an LVM logical volume or an md array, built on the examined disks. */
export type DeviceKind = 'disk' | 'partition' | 'file' | 'volume';

export interface DiscoveredDevice {
  path: string;
  kind: DeviceKind;
  sizeBytes: number | null;
  /** The disk of a partition. */
  parent: string | null;
  /** Partitions of a disk (paths). */
  partitions: string[];
}

/**
 * The disks and partitions worth examining: every disk in /sys/block but the ignored kinds, each with its
 * partitions (the names in /proc/partitions that start with the disk's name and are not disks themselves).
 */
export function discoverDevices(partitions: readonly ProcPartition[], sysBlockNames: readonly string[]): DiscoveredDevice[] {
  const disks = sysBlockNames.filter((name) => !IGNORED_DISK.test(name)).sort();
  const diskSet = new Set(sysBlockNames);
  const sizeOf = (name: string) => {
    const entry = partitions.find((partition) => partition.name === name);
    return entry ? entry.blocks * 1024 : null;
  };
  const result: DiscoveredDevice[] = [];
  for (const disk of disks) {
    const children = partitions
      .filter((partition) => !diskSet.has(partition.name) && partition.name.startsWith(disk) && partition.name !== disk)
      .filter((partition) => longestDiskPrefix(partition.name, sysBlockNames) === disk)
      // Extended partitions (1 KiB placeholders) hold no file system.
      .filter((partition) => partition.blocks > 1)
      .map((partition) => partition.name);
    const diskPath = `/dev/${disk}`;
    result.push({ path: diskPath, kind: 'disk', sizeBytes: sizeOf(disk), parent: null, partitions: children.map((name) => `/dev/${name}`) });
    for (const child of children) {
      result.push({ path: `/dev/${child}`, kind: 'partition', sizeBytes: sizeOf(child), parent: diskPath, partitions: [] });
    }
  }
  return result;
}

function longestDiskPrefix(name: string, disks: readonly string[]): string | null {
  let best: string | null = null;
  for (const disk of disks) {
    if (name.startsWith(disk) && name !== disk && (best === null || disk.length > best.length)) best = disk;
  }
  return best;
}

/** The devices that may carry a file system: partitions, and disks or image files without partitions. */
export function fileSystemCandidates(devices: readonly DiscoveredDevice[]): DiscoveredDevice[] {
  return devices.filter((device) => device.kind !== 'disk' || device.partitions.length === 0);
}

/** Every disk the rescue host's kernel lists (/sys/block), each with the partitions its table holds (names, no /dev/). */
export interface BlockDeviceTable {
  disks: Array<{ name: string; partitions: string[] }>;
}

/** The whole table, ignored kinds included: an fstab is judged against every disk of the machine. */
export function blockDeviceTable(partitions: readonly ProcPartition[], sysBlockNames: readonly string[]): BlockDeviceTable {
  const diskSet = new Set(sysBlockNames);
  return {
    disks: [...sysBlockNames].sort().map((disk) => ({
      name: disk,
      partitions: partitions
        .filter((partition) => !diskSet.has(partition.name) && longestDiskPrefix(partition.name, sysBlockNames) === disk)
        .map((partition) => partition.name),
    })),
  };
}
