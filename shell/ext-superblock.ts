// The superblock fields we use, parsed from `tune2fs -l`, `dumpe2fs -h` or debugfs `stats` (same format:
// "Name:   value" lines), and identities from `blkid -o export`.

export interface Ext4Superblock {
  uuid: string | null;
  label: string | null;
  /** "clean", "not clean", "clean with errors", ... */
  state: string | null;
  features: string[];
  lastMountedOn: string | null;
  blockCount: number | null;
  freeBlocks: number | null;
  reservedBlocks: number | null;
  blockSize: number | null;
  blocksPerGroup: number | null;
  inodeCount: number | null;
  inodeSize: number | null;
  /** From "Journal size:" (e.g. "4096k", "64M"); null without a journal or when not shown. */
  journalBytes: number | null;
}

function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z][A-Za-z0-9 #/_()-]*?):\s+(.*)$/.exec(line.trimEnd());
    if (match?.[1] && match[2] !== undefined && !map.has(match[1])) map.set(match[1], match[2].trim());
  }
  return map;
}

function integer(value: string | undefined): number | null {
  if (value === undefined) return null;
  const match = /^(\d+)/.exec(value);
  return match?.[1] ? Number(match[1]) : null;
}

function byteSize(value: string | undefined): number | null {
  if (value === undefined) return null;
  const match = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)/.exec(value);
  if (!match?.[1]) return null;
  const multiplier = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * multiplier);
}

function text(value: string | undefined): string | null {
  if (value === undefined || value === '' || value === '<none>' || value === '<not available>') return null;
  return value;
}

/** Returns null when the text has no superblock in it (no UUID and no block count). */
export function parseExtSuperblock(output: string): Ext4Superblock | null {
  const map = fields(output);
  const superblock: Ext4Superblock = {
    uuid: text(map.get('Filesystem UUID'))?.toLowerCase() ?? null,
    label: text(map.get('Filesystem volume name')),
    state: text(map.get('Filesystem state')),
    features: (map.get('Filesystem features') ?? '').split(/\s+/).filter((feature) => feature && feature !== '(none)'),
    lastMountedOn: text(map.get('Last mounted on')),
    blockCount: integer(map.get('Block count')),
    freeBlocks: integer(map.get('Free blocks')),
    reservedBlocks: integer(map.get('Reserved block count')),
    blockSize: integer(map.get('Block size')),
    blocksPerGroup: integer(map.get('Blocks per group')),
    inodeCount: integer(map.get('Inode count')),
    inodeSize: integer(map.get('Inode size')),
    journalBytes: byteSize(map.get('Total journal size') ?? map.get('Journal size')),
  };
  if (superblock.uuid === null && superblock.blockCount === null) return null;
  return superblock;
}

/** ext2, ext3 or ext4 from the feature list (as blkid decides it). */
export function extTypeFromFeatures(features: readonly string[]): 'ext2' | 'ext3' | 'ext4' {
  const ext4Only = ['extent', 'extents', 'flex_bg', 'huge_file', 'dir_nlink', 'extra_isize', '64bit', 'metadata_csum'];
  if (features.some((feature) => ext4Only.includes(feature))) return 'ext4';
  if (features.includes('has_journal')) return 'ext3';
  return 'ext2';
}

/** `blkid -o export DEV` as a map (TYPE, UUID, LABEL, PARTUUID, ...). */
export function parseBlkidExport(output: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) map.set(match[1], match[2].replace(/\\(.)/g, '$1'));
  }
  return map;
}
