// How an fstab is corrected, from the judgment in fstab-check.ts: an entry whose source names nothing present
// is pointed (by UUID) at the file system it must have meant when exactly one fits, else commented out (a boot
// that skips one mount beats a boot that stops in emergency mode); a `/` entry that names another file system
// is pointed at the one the fstab lives on; a wrong or unknown type becomes the type of the file system found,
// or the entry is commented out when none is. Each changed line is preceded by a `# rescued:` comment that
// says what it was and why. Pure: the playbook reads and writes the file.
import type { BlockDeviceTable } from './devices.js';
import { judgeFstab, typeFits, type FstabEntryLine, type JudgedFstabEntry } from './fstab-check.js';
import { formatFstabSpec, replaceFstabSpec, type FstabLine, type KnownFileSystem } from './fstab.js';

export interface FstabChange {
  lineNumber: number;
  mountPoint: string;
  /** replaced: the source (first field); retyped: the type (third field); commented-out: the whole line. */
  action: 'replaced' | 'retyped' | 'commented-out';
  from: string;
  /** The new source or type; null when commented out. */
  to: string | null;
  reason: string;
}

export interface FstabCorrection {
  text: string;
  changes: FstabChange[];
}

export interface FstabCorrectionInput {
  lines: readonly FstabLine[];
  known: readonly KnownFileSystem[];
  /** The device the fstab was read from: the one its "/" entry must mean. */
  rootDevice: string;
  /** The rescue host's disks and partitions, to judge device paths; null when unknown. */
  blockDevices: BlockDeviceTable | null;
  /** Devices that hold an /etc/fstab of their own (other installed systems' roots): never matched to other mounts. */
  otherRoots?: readonly string[];
  /** For the comment lines, e.g. 2026-11-25. */
  date: string;
}

function nameOfMountPoint(mountPoint: string): string {
  return mountPoint === '/' ? 'root' : mountPoint.split('/').filter(Boolean).at(-1) ?? mountPoint;
}

/** The line with its third field (the type) replaced, blanks around the fields kept as they were. */
export function replaceFstabType(raw: string, newType: string): string {
  return raw.replace(/^(\s*\S+\s+\S+\s+)\S+/, (_, before: string) => `${before}${newType}`);
}

function renderLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export function planFstabCorrection(input: FstabCorrectionInput): FstabCorrection {
  const judgment = judgeFstab({ lines: input.lines, known: input.known, rootDevice: input.rootDevice, blockDevices: input.blockDevices });
  const troubled = judgment.entries.filter((item) => item.problems.length > 0);
  if (troubled.length === 0) return { text: renderLines(input.lines.map((line) => line.raw)), changes: [] };

  const claimed = new Set<string>();
  for (const item of judgment.entries) {
    if (item.source.status === 'matched' && !item.problems.some((problem) => problem.check === 'not-root')) claimed.add(item.source.fileSystem.device);
  }
  const otherRoots = new Set(input.otherRoots ?? []);
  const unresolved = troubled.filter((item) => item.problems.some((problem) => problem.check === 'unresolved'));
  const changes: FstabChange[] = [];
  const replacements = new Map<number, string[]>();

  for (const item of troubled) {
    const { entry } = item;
    const checks = new Set(item.problems.map((problem) => problem.check));
    const why = item.problems.map((problem) => problem.detail).join('; ');
    // The file system the entry is to name: the one it names now, or the one it must have meant.
    let target: { fileSystem: KnownFileSystem; reason: string } | null = null;
    let newSpec: string | null = null;
    if (checks.has('unresolved') || checks.has('not-root')) {
      target = identify(entry, input, claimed, otherRoots, unresolved);
      if (target?.fileSystem.uuid) {
        claimed.add(target.fileSystem.device);
        newSpec = formatFstabSpec('uuid', target.fileSystem.uuid);
      } else {
        target = null;
      }
    } else if (item.source.status === 'matched') {
      target = { fileSystem: item.source.fileSystem, reason: 'the file system the entry names' };
    }
    const typeProblem = checks.has('unknown-type') || checks.has('wrong-type') || (target !== null && target.fileSystem.type !== null && !typeFits(entry.type, target.fileSystem.type));
    const newType = typeProblem ? target?.fileSystem.type ?? null : null;

    if (target === null || (typeProblem && newType === null)) {
      changes.push({ lineNumber: entry.lineNumber, mountPoint: entry.mountPoint, action: 'commented-out', from: entry.spec, to: null, reason: `${why}; no file system can be identified unambiguously` });
      replacements.set(entry.lineNumber, [`# rescued: commented out, ${why} (${input.date})`, `#${entry.raw}`]);
      continue;
    }
    let line = entry.raw;
    const notes: string[] = [];
    if (newSpec !== null) {
      changes.push({ lineNumber: entry.lineNumber, mountPoint: entry.mountPoint, action: 'replaced', from: entry.spec, to: newSpec, reason: `${why}; ${target.reason}` });
      notes.push(`${entry.spec} replaced by ${newSpec} (${why}; ${target.reason})`);
      line = replaceFstabSpec(line, newSpec);
    }
    if (newType !== null) {
      changes.push({ lineNumber: entry.lineNumber, mountPoint: entry.mountPoint, action: 'retyped', from: entry.type, to: newType, reason: `${target.fileSystem.device} holds ${newType}` });
      notes.push(`type ${entry.type} replaced by ${newType} (${target.fileSystem.device} holds ${newType})`);
      line = replaceFstabType(line, newType);
    }
    replacements.set(entry.lineNumber, [`# rescued: ${notes.join(', ')} (${input.date})`, line]);
  }
  const out: string[] = [];
  for (const line of input.lines) out.push(...(replacements.get(line.lineNumber) ?? [line.raw]));
  return { text: renderLines(out), changes };
}

function typesCompatible(a: string, b: string): boolean {
  return a === 'auto' || b === 'auto' || typeFits(a, b) || typeFits(b, a);
}

function identify(
  entry: FstabEntryLine,
  input: FstabCorrectionInput,
  claimed: ReadonlySet<string>,
  otherRoots: ReadonlySet<string>,
  unresolved: readonly JudgedFstabEntry[],
): { fileSystem: KnownFileSystem; reason: string } | null {
  const usable = (fs: KnownFileSystem) => fs.uuid !== null && !claimed.has(fs.device);
  // "/" is the file system this fstab was read from.
  if (entry.mountPoint === '/') {
    const root = input.known.find((fs) => fs.device === input.rootDevice);
    return root?.uuid ? { fileSystem: root, reason: 'the file system this fstab was read from' } : null;
  }
  const candidates = input.known.filter((fs) => usable(fs) && fs.device !== input.rootDevice && !otherRoots.has(fs.device) && fs.type !== null && typeFits(entry.type, fs.type));
  // A label named like the mount point (LABEL=data for /data, LABEL=boot for /boot).
  const wanted = entry.source.kind === 'label' ? entry.source.value : nameOfMountPoint(entry.mountPoint);
  const byLabel = candidates.filter((fs) => fs.label !== null && fs.label.toLowerCase() === wanted.toLowerCase());
  if (byLabel.length === 1 && byLabel[0]) return { fileSystem: byLabel[0], reason: `the only file system labelled "${byLabel[0].label}"` };
  if (byLabel.length > 1) return null;
  // The only file system of the entry's type that no other entry uses, when no other broken entry competes.
  const competing = unresolved.filter((other) => other.entry !== entry && other.entry.mountPoint !== '/' && typesCompatible(other.entry.type, entry.type));
  if (candidates.length === 1 && candidates[0] && competing.length === 0 && entry.type !== 'auto') {
    return { fileSystem: candidates[0], reason: `the only ${entry.type} file system no other entry uses` };
  }
  return null;
}
