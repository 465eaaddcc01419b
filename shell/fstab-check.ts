// Judging an installed system's /etc/fstab against what the rescue environment sees: each entry's source
// against the file systems found (UUID, LABEL, PARTUUID, PARTLABEL) and, for device paths, against the rescue
// host's disk table (no such disk, or a partition number its table does not hold); its type against the types
// Linux mounts and the file system's own; the "/" entry against the file system the fstab lives on. What
// cannot be judged from here is said to be unjudged, with why, never counted as a match. Pure: the probe
// reads, the correction plans, both from this one judgment.
import type { BlockDeviceTable } from './devices.js';
import {
  entryIsOptional, fstabEntries, namesLocalDevice, NON_BLOCK_TYPES, resolveFstabSource, type FstabEntry, type FstabLine, type FstabSourceKind, type KnownFileSystem,
} from './fstab.js';

export type FstabEntryLine = FstabEntry & { lineNumber: number; raw: string };

export type FstabSourceVerdict =
  /** A file system present answers to the source. */
  | { status: 'matched'; fileSystem: KnownFileSystem; by: FstabSourceKind }
  /** Nothing present answers to it: `reason` says what was looked for and what there is. */
  | { status: 'missing'; reason: string }
  /** Cannot be told from the rescue environment: `reason` says why. */
  | { status: 'unjudged'; reason: string };

export type FstabProblemCheck =
  /** The source names nothing present (a UUID or LABEL no file system has, a disk or partition that does not exist). */
  | 'unresolved'
  /** A type no Linux kernel mounts (a typo: `ext5`, `xsf`). */
  | 'unknown-type'
  /** The file system found is of another type than the entry says: mount -t fails. */
  | 'wrong-type'
  /** The `/` entry names another file system than the one this fstab lives on. */
  | 'not-root';

export interface FstabProblem {
  check: FstabProblemCheck;
  detail: string;
}

export interface JudgedFstabEntry {
  entry: FstabEntryLine;
  source: FstabSourceVerdict;
  problems: FstabProblem[];
  /** nofail or noauto: a missing device does not stop the boot. */
  optional: boolean;
}

export interface FstabJudgment {
  /** The entries that name local block devices (proc, tmpfs, network and bind mounts are not judged). */
  entries: JudgedFstabEntry[];
  /** Lines that are neither entries, comments nor blank (mount and systemd skip them with an error). */
  malformedLines: number[];
}

export interface FstabJudgmentInput {
  lines: readonly FstabLine[];
  known: readonly KnownFileSystem[];
  /** The device the fstab was read from: the one its `/` entry must mean. */
  rootDevice: string;
  /** The rescue host's disks and partitions; null when not known (an old stored diagnosis). */
  blockDevices: BlockDeviceTable | null;
}

/** File-system types Linux mounts from a block device (plus `auto` and `swap`); `fuse.*` types are accepted too. */
const BLOCK_TYPES = new Set([
  'auto', 'swap', 'ext2', 'ext3', 'ext4', 'ext4dev', 'xfs', 'btrfs', 'vfat', 'msdos', 'fat', 'umsdos', 'exfat', 'ntfs', 'ntfs3', 'ntfs-3g',
  'fuseblk', 'f2fs', 'jfs', 'reiserfs', 'reiser4', 'iso9660', 'udf', 'zfs', 'nilfs2', 'hfs', 'hfsplus', 'squashfs', 'erofs', 'cramfs',
  'romfs', 'bcachefs', 'ocfs2', 'gfs2', 'minix', 'ufs', 'sysv', 'affs', 'befs', 'qnx4', 'qnx6', 'omfs', 'bfs', 'efs', 'hpfs', 'jffs2', 'ubifs',
  'none',
]);

/** Whether a Linux system knows this type (a comma list, as mount accepts, is known when each part is). */
export function isKnownFileSystemType(type: string): boolean {
  return type.split(',').every((part) => BLOCK_TYPES.has(part) || NON_BLOCK_TYPES.has(part) || /^fuse(\.[A-Za-z0-9_-]+)?$/.test(part));
}

const FAMILIES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['ext2', 'ext3', 'ext4', 'ext4dev']),
  new Set(['vfat', 'msdos', 'fat', 'umsdos']),
  new Set(['ntfs', 'ntfs3', 'ntfs-3g', 'fuseblk']),
];

/** An entry's type fits a file system's (ext2/3/4 count as one: the ext4 driver mounts them all). */
export function typeFits(entryType: string, fileSystemType: string): boolean {
  if (entryType === 'auto' || entryType === fileSystemType) return true;
  return entryType.split(',').some((part) => part === fileSystemType || FAMILIES.some((family) => family.has(part) && family.has(fileSystemType)));
}

/** /dev names of disks, and of partitions with the disk and number they stand for. */
function parseDeviceName(name: string): { disk: string; partition: number | null } | null {
  const lettered = /^((?:sd|vd|hd|xvd)[a-z]+)(\d+)?$/.exec(name);
  if (lettered?.[1]) return { disk: lettered[1], partition: lettered[2] ? Number(lettered[2]) : null };
  const numbered = /^((?:nvme\d+n\d+|mmcblk\d+|nbd\d+|loop\d+))(?:p(\d+))?$/.exec(name);
  if (numbered?.[1]) return { disk: numbered[1], partition: numbered[2] ? Number(numbered[2]) : null };
  return null;
}

function listNames(names: readonly string[], limit = 8): string {
  if (names.length === 0) return 'none';
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}

function judgeDevicePath(path: string, known: readonly KnownFileSystem[], table: BlockDeviceTable | null): FstabSourceVerdict {
  const found = known.find((fs) => fs.device === path);
  if (found) return { status: 'matched', fileSystem: found, by: 'device' };
  const name = path.slice('/dev/'.length);
  if (name.includes('/') || /^(md|dm-)\d/.test(name)) {
    return { status: 'unjudged', reason: `${path} is a device-mapper, LVM, RAID or by-id name, which this check does not follow` };
  }
  if (table === null) return { status: 'unjudged', reason: `the rescue environment's disk table was not read (${path})` };
  const diskNames = table.disks.map((disk) => disk.name);
  const existing = new Set(table.disks.flatMap((disk) => [disk.name, ...disk.partitions]));
  if (existing.has(name)) {
    return { status: 'unjudged', reason: `${path} exists in the rescue environment, but its file system was not identified (not examined, or unreadable)` };
  }
  // A partition of a disk that is there: its table does not hold that number.
  const disk = table.disks
    .filter((candidate) => name.startsWith(candidate.name) && /^p?\d+$/.test(name.slice(candidate.name.length)))
    .sort((a, b) => b.name.length - a.name.length)[0];
  if (disk) {
    const number = name.slice(disk.name.length).replace(/^p/, '');
    return { status: 'missing', reason: `disk /dev/${disk.name} has no partition ${number}: its partition table holds ${listNames(disk.partitions.map((partition) => `/dev/${partition}`))}` };
  }
  const parsed = parseDeviceName(name);
  if (parsed) {
    return { status: 'missing', reason: `this machine has no disk /dev/${parsed.disk} (its disks: ${listNames(diskNames.filter((disk) => !/^(loop|ram|zram)\d/.test(disk)).map((disk) => `/dev/${disk}`))})` };
  }
  return { status: 'unjudged', reason: `${path} is not a disk or partition name this check knows` };
}

function judgeSource(entry: FstabEntryLine, input: FstabJudgmentInput): FstabSourceVerdict {
  const { source } = entry;
  if (source.kind === 'device') return judgeDevicePath(source.value, input.known, input.blockDevices);
  // With the same UUID or LABEL on two file systems (a cloned disk), "/" means the one the fstab lives on.
  const root = input.known.find((fs) => fs.device === input.rootDevice);
  if (entry.mountPoint === '/' && root && resolveFstabSource(source, [root]).status === 'found') return { status: 'matched', fileSystem: root, by: source.kind };
  const resolution = resolveFstabSource(source, input.known);
  if (resolution.status === 'found') return { status: 'matched', fileSystem: resolution.fileSystem, by: source.kind };
  if (resolution.status === 'unverifiable') return { status: 'unjudged', reason: resolution.reason };
  const what = source.kind === 'uuid' ? 'no file system has UUID' : source.kind === 'label' ? 'no file system is labelled' : `no partition has ${source.kind.toUpperCase()}`;
  return { status: 'missing', reason: `${what} ${source.value}` };
}

export function judgeFstab(input: FstabJudgmentInput): FstabJudgment {
  const entries: JudgedFstabEntry[] = [];
  for (const entry of fstabEntries(input.lines)) {
    const typeKnown = isKnownFileSystemType(entry.type);
    // An unknown type is judged even when the entry names no block device we can tell (a typo in `ext4`).
    if (!namesLocalDevice(entry) && typeKnown) continue;
    const source = entry.source.kind === 'other'
      ? { status: 'unjudged' as const, reason: `${entry.spec} is not a local device` }
      : judgeSource(entry, input);
    const problems: FstabProblem[] = [];
    if (source.status === 'missing') problems.push({ check: 'unresolved', detail: source.reason });
    if (!typeKnown) {
      problems.push({
        check: 'unknown-type',
        detail: `"${entry.type}" is not a file-system type Linux mounts${source.status === 'matched' && source.fileSystem.type ? ` (the file system there is ${source.fileSystem.type})` : ''}`,
      });
    } else if (source.status === 'matched' && source.fileSystem.type && !typeFits(entry.type, source.fileSystem.type)) {
      problems.push({ check: 'wrong-type', detail: `the entry says ${entry.type}, but ${source.fileSystem.device} holds ${source.fileSystem.type}` });
    }
    if (entry.mountPoint === '/' && source.status === 'matched' && source.fileSystem.device !== input.rootDevice) {
      problems.push({ check: 'not-root', detail: `it names ${source.fileSystem.device}, but this fstab lives on ${input.rootDevice}` });
    }
    entries.push({ entry, source, problems, optional: entryIsOptional(entry) });
  }
  return { entries, malformedLines: input.lines.filter((line) => line.kind === 'malformed').map((line) => line.lineNumber) };
}

const SOURCE_NAMES: Record<FstabSourceKind, string> = { uuid: 'UUID', label: 'LABEL', partuuid: 'PARTUUID', partlabel: 'PARTLABEL', device: 'device path', other: 'name' };

/**
 * What the judgment checked, in one sentence that claims no more than was checked: how many entries match a
 * file system present (and by what), how many have problems, how many could not be judged and why.
 */
export function describeFstabJudgment(judgment: FstabJudgment): string {
  const { entries } = judgment;
  if (entries.length === 0) return `no entry names a local device${judgment.malformedLines.length > 0 ? `; line(s) ${judgment.malformedLines.join(', ')} not understood` : ''}`;
  const matched = entries.filter((item) => item.source.status === 'matched' && item.problems.length === 0);
  const troubled = entries.filter((item) => item.problems.length > 0);
  const unjudged = entries.filter((item) => item.source.status === 'unjudged' && item.problems.length === 0);
  const parts: string[] = [];
  if (matched.length > 0) {
    const how = matched.map((item) => `${item.entry.mountPoint} by ${SOURCE_NAMES[(item.source as { by: FstabSourceKind }).by]}`);
    parts.push(`${matched.length} of ${entries.length} device entr${entries.length === 1 ? 'y matches' : 'ies match'} a file system present (${how.join(', ')})`);
  } else {
    parts.push(`none of ${entries.length} device entr${entries.length === 1 ? 'y' : 'ies'} could be matched to a file system present`);
  }
  if (troubled.length > 0) parts.push(`${troubled.length} with problems (${troubled.map((item) => item.entry.mountPoint).join(', ')})`);
  if (unjudged.length > 0) {
    parts.push(`${unjudged.length} not checked: ${unjudged.map((item) => `${item.entry.mountPoint} (${(item.source as { reason: string }).reason})`).join('; ')}`);
  }
  if (judgment.malformedLines.length > 0) parts.push(`line(s) ${judgment.malformedLines.join(', ')} not understood`);
  return parts.join('; ');
}

/** Whether the text is what was on disk: no NUL, no byte that was not UTF-8 (decoded as U+FFFD). */
export function isPlainText(text: string): boolean {
  return !/[\0\uFFFD]/.test(text);
}
