// What kind of damage an ext2/3/4 file system has, named the way an operator talks about it, from `e2fsck -fn`'s
// output and the superblock (`tune2fs -l`). The wording matched here is e2fsprogs 1.47's (e2fsck/problem.c):
//   superblock        "Superblock invalid", "Bad magic number in super-block", "bad superblock", "backup ... superblock"
//   journal-recovery  the needs_recovery feature, "skipping journal recovery" (-n leaves the journal alone)
//   orphan-inodes     "First orphan inode:" in the superblock, "orphaned inode", "Deleted inode N has zero dtime"
//   cleared-inodes    "has deleted/unused inode", "Inode N ... cleared", "i_links_count is 0"
//   bitmaps           "Block bitmap differences", "Inode bitmap differences", "Free blocks count wrong"
//   directories       "Entry '...' in ... has", "Unattached inode", "Missing '.'"
//   other             any other problem line

export type ExtDamageClass = 'superblock' | 'journal-recovery' | 'orphan-inodes' | 'cleared-inodes' | 'bitmaps' | 'directories' | 'other';

export const EXT_DAMAGE_DESCRIPTIONS: Readonly<Record<ExtDamageClass, string>> = {
  superblock: 'corrupted primary superblock (a backup superblock is usable)',
  'journal-recovery': 'journal needs recovery (transactions not yet replayed)',
  'orphan-inodes': 'orphan inodes (deleted while open, not yet released)',
  'cleared-inodes': 'cleared or deleted inodes still referenced',
  bitmaps: 'block/inode bitmaps and counters disagree with what is in use',
  directories: 'damaged directory entries',
  other: 'other inconsistencies',
};

export interface ExtDamage {
  classes: ExtDamageClass[];
  /** "First orphan inode" from the superblock, when set. */
  firstOrphanInode: number | null;
}

const PATTERNS: ReadonlyArray<[ExtDamageClass, RegExp]> = [
  ['superblock', /Superblock invalid|Bad magic number in super-block|bad superblock|superblock is corrupt|using backup|backup superblock|The superblock could not be read/i],
  ['journal-recovery', /skipping journal recovery|needs_recovery|recovering journal|journal needs recovery/i],
  ['orphan-inodes', /orphan|Deleted inode \d+ has zero dtime/i],
  ['cleared-inodes', /has deleted\/unused inode|i_links_count is 0|Inode \d+ .*(cleared|was part of)|deleted\/unused inode/i],
  ['bitmaps', /bitmap differences|count wrong|Padding at end of/i],
  ['directories', /^Entry '|Unattached inode|Missing '\.'|Directory inode \d+/im],
];

/** Names the damage. `superblockText` is `tune2fs -l` / `dumpe2fs -h` output, or '' when unreadable. */
export function classifyExtDamage(e2fsckOutput: string, superblockText: string): ExtDamage {
  const classes = new Set<ExtDamageClass>();
  for (const [name, pattern] of PATTERNS) if (pattern.test(e2fsckOutput)) classes.add(name);
  const features = /^Filesystem features:\s*(.*)$/m.exec(superblockText)?.[1] ?? '';
  if (/\bneeds_recovery\b/.test(features)) classes.add('journal-recovery');
  const orphan = /^First orphan inode:\s*(\d+)/m.exec(superblockText)?.[1];
  const firstOrphanInode = orphan ? Number(orphan) : null;
  if (firstOrphanInode) {
    classes.add('orphan-inodes');
    // e2fsck -n cannot release the orphan list, so it reports the orphans' blocks and inodes as bitmap errors.
    classes.delete('bitmaps');
    classes.delete('cleared-inodes');
  }
  return { classes: [...classes], firstOrphanInode };
}

export function describeExtDamage(damage: ExtDamage): string {
  return damage.classes.map((name) => name === 'orphan-inodes' && damage.firstOrphanInode
    ? `${EXT_DAMAGE_DESCRIPTIONS[name]}, first inode ${damage.firstOrphanInode}` : EXT_DAMAGE_DESCRIPTIONS[name]).join('; ');
}

/** e2fsck -y changed the file system even when it exits 0 (journal replay and orphan release are "normal"). */
export function e2fsckModified(output: string): boolean {
  return /FILE SYSTEM WAS MODIFIED|recovering journal|Clearing orphaned inode|Truncating orphaned inode/i.test(output);
}
