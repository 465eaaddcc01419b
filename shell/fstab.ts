// /etc/fstab: parsed line by line (comments and blank lines kept, so that a corrected file differs from the
// original only where it was corrected), and the source of each entry resolved against the file systems found.

export type FstabSourceKind = 'uuid' | 'label' | 'partuuid' | 'partlabel' | 'device' | 'other';

export interface FstabSource {
  kind: FstabSourceKind;
  /** The UUID (lower case), label, or device path. */
  value: string;
}

export interface FstabEntry {
  /** The first field as written, e.g. `UUID=0a1b...`. */
  spec: string;
  source: FstabSource;
  mountPoint: string;
  type: string;
  options: string[];
  dump: number;
  pass: number;
}

export type FstabLine =
  | { kind: 'entry'; lineNumber: number; raw: string; entry: FstabEntry }
  | { kind: 'comment' | 'blank' | 'malformed'; lineNumber: number; raw: string };

/** fstab escapes blanks in fields as octal (`\040`). */
export function unescapeFstabField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function unquote(value: string): string {
  const match = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return match?.[1] ?? value;
}

export function parseFstabSource(spec: string): FstabSource {
  const tagged = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/.exec(spec);
  if (tagged?.[1] && tagged[2] !== undefined) {
    const value = unquote(unescapeFstabField(tagged[2]));
    const kind = tagged[1].toLowerCase() as FstabSourceKind;
    return { kind, value: kind === 'uuid' || kind === 'partuuid' ? value.toLowerCase() : value };
  }
  const byPath = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\/(.+)$/.exec(spec);
  if (byPath?.[1] && byPath[2]) {
    const kind = byPath[1] as FstabSourceKind;
    const value = unescapeFstabField(byPath[2]).replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return { kind, value: kind === 'uuid' || kind === 'partuuid' ? value.toLowerCase() : value };
  }
  if (spec.startsWith('/dev/')) return { kind: 'device', value: unescapeFstabField(spec) };
  return { kind: 'other', value: unescapeFstabField(spec) };
}

export function parseFstab(text: string): FstabLine[] {
  const rawLines = text.split('\n');
  if (rawLines.length > 0 && rawLines[rawLines.length - 1] === '') rawLines.pop();
  return rawLines.map((raw, index): FstabLine => {
    const lineNumber = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return { kind: 'blank', lineNumber, raw };
    if (trimmed.startsWith('#')) return { kind: 'comment', lineNumber, raw };
    const fields = trimmed.split(/\s+/);
    const [spec, mountPoint, type, options, dump, pass] = fields;
    if (!spec || !mountPoint || !type) return { kind: 'malformed', lineNumber, raw };
    return {
      kind: 'entry',
      lineNumber,
      raw,
      entry: {
        spec,
        source: parseFstabSource(spec),
        mountPoint: unescapeFstabField(mountPoint),
        type,
        options: (options ?? 'defaults').split(','),
        dump: Number(dump ?? 0) || 0,
        pass: Number(pass ?? 0) || 0,
      },
    };
  });
}

export function fstabEntries(lines: readonly FstabLine[]): Array<FstabEntry & { lineNumber: number; raw: string }> {
  return lines.flatMap((line) => (line.kind === 'entry' ? [{ ...line.entry, lineNumber: line.lineNumber, raw: line.raw }] : []));
}

/** Types that name no block device (nothing to check against the disks): virtual, network and bind mounts. */
export const NON_BLOCK_TYPES: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'tmpfs', 'devpts', 'devtmpfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'configfs',
  'fusectl', 'mqueue', 'hugetlbfs', 'pstore', 'efivarfs', 'bpf', 'binfmt_misc', 'autofs', 'rpc_pipefs', 'nfsd',
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'sshfs', 'fuse.sshfs', '9p', 'virtiofs', 'overlay', 'none', 'bind', 'ramfs',
  'glusterfs', 'ceph', 'lustre',
]);

/** Whether an entry names a local block device file system that a boot needs to find. */
export function namesLocalDevice(entry: FstabEntry): boolean {
  if (NON_BLOCK_TYPES.has(entry.type)) return false;
  if (entry.options.includes('bind') || entry.options.includes('rbind')) return false;
  return entry.source.kind !== 'other';
}

/** A boot does not stop for this entry when its device is missing. */
export function entryIsOptional(entry: FstabEntry): boolean {
  return entry.options.includes('nofail') || entry.options.includes('noauto');
}

/** A file system as the diagnosis saw it, for matching fstab entries. */
export interface KnownFileSystem {
  device: string;
  type: string | null;
  uuid: string | null;
  label: string | null;
  partUuid?: string | null;
  partLabel?: string | null;
}

export type FstabResolution =
  | { status: 'found'; fileSystem: KnownFileSystem }
  | { status: 'missing' }
  /** We cannot tell from the rescue environment (e.g. PARTUUID without blkid, a device name that may differ). */
  | { status: 'unverifiable'; reason: string };

export function resolveFstabSource(source: FstabSource, known: readonly KnownFileSystem[]): FstabResolution {
  switch (source.kind) {
    case 'uuid': {
      const found = known.find((fs) => fs.uuid !== null && fs.uuid.toLowerCase() === source.value);
      return found ? { status: 'found', fileSystem: found } : { status: 'missing' };
    }
    case 'label': {
      const found = known.find((fs) => fs.label !== null && fs.label === source.value);
      return found ? { status: 'found', fileSystem: found } : { status: 'missing' };
    }
    case 'partuuid':
    case 'partlabel': {
      const field = source.kind === 'partuuid' ? 'partUuid' : 'partLabel';
      if (!known.some((fs) => fs[field])) return { status: 'unverifiable', reason: `${source.kind.toUpperCase()} cannot be read without blkid` };
      const found = known.find((fs) => (fs[field] ?? '').toLowerCase() === source.value.toLowerCase());
      return found ? { status: 'found', fileSystem: found } : { status: 'missing' };
    }
    case 'device': {
      const found = known.find((fs) => fs.device === source.value);
      if (found) return { status: 'found', fileSystem: found };
      return { status: 'unverifiable', reason: `device names in the rescue environment may differ from the installed system's (${source.value})` };
    }
    default:
      return { status: 'unverifiable', reason: `not a device: ${source.value}` };
  }
}

/** `UUID=...`, `LABEL=...` as fstab writes it (blanks escaped). */
export function formatFstabSpec(kind: 'uuid' | 'label', value: string): string {
  const escaped = value.replace(/[\s\\]/g, (character) => `\\${character.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${kind === 'uuid' ? 'UUID' : 'LABEL'}=${escaped}`;
}

/** The line with its first field replaced, blanks around the fields kept as they were. */
export function replaceFstabSpec(raw: string, newSpec: string): string {
  return raw.replace(/^(\s*)\S+/, (_, indent: string) => `${indent}${newSpec}`);
}
