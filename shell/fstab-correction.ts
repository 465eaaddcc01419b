// How an fstab is corrected: an entry whose source names no file system present is pointed at the file system
// it must have meant when exactly one fits, else commented out (a boot that skips one mount beats a boot that
// stops in emergency mode). Pure: the playbook reads and writes the file.
import {
  fstabEntries, formatFstabSpec, namesLocalDevice, replaceFstabSpec, resolveFstabSource, type FstabLine, type KnownFileSystem,
} from './fstab.js';
import { isExtType } from './inventory.js';

export interface FstabChange {
  lineNumber: number;
  mountPoint: string;
  action: 'replaced' | 'commented-out';
  from: string;
  /** The new source (replaced) or null (commented out). */
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
  /** Devices that hold an /etc/fstab of their own (other installed systems' roots): never matched to other mounts. */
  otherRoots?: readonly string[];
  /** For the comment lines, e.g. 2026-11-25. */
  date: string;
}

function nameOfMountPoint(mountPoint: string): string {
  return mountPoint === '/' ? 'root' : mountPoint.split('/').filter(Boolean).at(-1) ?? mountPoint;
}

function sameType(entryType: string, fsType: string | null): boolean {
  if (entryType === 'auto') return fsType !== null && fsType !== 'swap';
  if (isExtType(entryType)) return isExtType(fsType);
  return entryType === fsType;
}

export function planFstabCorrection(input: FstabCorrectionInput): FstabCorrection {
  const entries = fstabEntries(input.lines).filter(namesLocalDevice);
  const unresolved = entries.filter((entry) => resolveFstabSource(entry.source, input.known).status === 'missing');
  if (unresolved.length === 0) return { text: renderLines(input.lines.map((line) => line.raw)), changes: [] };

  const claimed = new Set<string>();
  for (const entry of entries) {
    const resolution = resolveFstabSource(entry.source, input.known);
    if (resolution.status === 'found') claimed.add(resolution.fileSystem.device);
  }
  const otherRoots = new Set(input.otherRoots ?? []);
  const changes: FstabChange[] = [];
  const replacements = new Map<number, string[]>();

  for (const entry of unresolved) {
    const match = identify(entry, input, claimed, otherRoots, unresolved);
    if (match) {
      claimed.add(match.fileSystem.device);
      const spec = formatFstabSpec('uuid', match.fileSystem.uuid ?? '');
      changes.push({ lineNumber: entry.lineNumber, mountPoint: entry.mountPoint, action: 'replaced', from: entry.spec, to: spec, reason: match.reason });
      replacements.set(entry.lineNumber, [
        `# rescued: ${entry.spec} not found, replaced by ${spec} (${match.reason}) (${input.date})`,
        replaceFstabSpec(entry.raw, spec),
      ]);
    } else {
      changes.push({ lineNumber: entry.lineNumber, mountPoint: entry.mountPoint, action: 'commented-out', from: entry.spec, to: null, reason: 'no file system can be identified unambiguously' });
      replacements.set(entry.lineNumber, [`# rescued: commented out, ${entry.spec} not found (${input.date})`, `#${entry.raw}`]);
    }
  }
  const out: string[] = [];
  for (const line of input.lines) out.push(...(replacements.get(line.lineNumber) ?? [line.raw]));
  return { text: renderLines(out), changes };
}

function typesCompatible(a: string, b: string): boolean {
  return a === b || a === 'auto' || b === 'auto' || (isExtType(a) && isExtType(b));
}

function renderLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function identify(
  entry: ReturnType<typeof fstabEntries>[number],
  input: FstabCorrectionInput,
  claimed: ReadonlySet<string>,
  otherRoots: ReadonlySet<string>,
  unresolved: ReadonlyArray<ReturnType<typeof fstabEntries>[number]>,
): { fileSystem: KnownFileSystem; reason: string } | null {
  const usable = (fs: KnownFileSystem) => fs.uuid !== null && !claimed.has(fs.device);
  // "/" is the file system this fstab was read from.
  if (entry.mountPoint === '/') {
    const root = input.known.find((fs) => fs.device === input.rootDevice);
    return root?.uuid ? { fileSystem: root, reason: 'the file system this fstab was read from' } : null;
  }
  const candidates = input.known.filter((fs) => usable(fs) && fs.device !== input.rootDevice && !otherRoots.has(fs.device) && sameType(entry.type, fs.type));
  // A label named like the mount point (LABEL=data for /data, LABEL=boot for /boot).
  const wanted = entry.source.kind === 'label' ? entry.source.value : nameOfMountPoint(entry.mountPoint);
  const byLabel = candidates.filter((fs) => fs.label !== null && fs.label.toLowerCase() === wanted.toLowerCase());
  if (byLabel.length === 1 && byLabel[0]) return { fileSystem: byLabel[0], reason: `the only file system labelled "${byLabel[0].label}"` };
  if (byLabel.length > 1) return null;
  // The only file system of the entry's type that no other entry uses, when no other broken entry competes.
  const competing = unresolved.filter((other) => other !== entry && other.mountPoint !== '/' && typesCompatible(other.type, entry.type));
  if (candidates.length === 1 && candidates[0] && competing.length === 0 && entry.type !== 'auto') {
    return { fileSystem: candidates[0], reason: `the only ${entry.type} file system no other entry uses` };
  }
  return null;
}
