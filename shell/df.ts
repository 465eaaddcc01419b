// Space usage: parsed from `df -P -k` (POSIX format, one line per file system), or estimated from an ext
// superblock when the file system is read without mounting it.
import type { Ext4Superblock } from './ext-superblock.js';

export interface SpaceUsage {
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** As df shows it: used / (used + available), rounded up. */
  usedPercent: number;
  source: 'df' | 'superblock';
}

export interface DfLine extends SpaceUsage {
  fileSystem: string;
  mountedOn: string;
}

/** Parses `df -P -k` output (GNU coreutils and busybox). Lines that do not parse are skipped. */
export function parseDfOutput(text: string): DfLine[] {
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  const result: DfLine[] = [];
  for (const line of lines) {
    if (/^Filesystem\s/.test(line)) continue;
    const match = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.*)$/.exec(line.trimEnd());
    if (!match) continue;
    const [, fileSystem, size, used, available, , mountedOn] = match;
    const usedBytes = Number(used) * 1024;
    const availableBytes = Number(available) * 1024;
    result.push({
      fileSystem: fileSystem ?? '',
      mountedOn: mountedOn ?? '',
      sizeBytes: Number(size) * 1024,
      usedBytes,
      availableBytes,
      usedPercent: percentUsed(usedBytes, availableBytes),
      source: 'df',
    });
  }
  return result;
}

export function percentUsed(usedBytes: number, availableBytes: number): number {
  const total = usedBytes + availableBytes;
  return total === 0 ? 0 : Math.ceil((usedBytes * 100) / total);
}

/**
 * What df would show, estimated from the superblock: ext4's statfs leaves out the metadata overhead (inode
 * tables, bitmaps, journal), so we do too; within a percent or so of df.
 */
export function usageFromSuperblock(superblock: Ext4Superblock): SpaceUsage | null {
  const { blockCount, freeBlocks, reservedBlocks, blockSize } = superblock;
  if (blockCount === null || freeBlocks === null || blockSize === null) return null;
  const groups = superblock.blocksPerGroup ? Math.ceil(blockCount / superblock.blocksPerGroup) : 0;
  const inodeTableBlocks = superblock.inodeCount !== null && superblock.inodeSize !== null
    ? Math.ceil((superblock.inodeCount * superblock.inodeSize) / blockSize) : 0;
  const journalBlocks = superblock.journalBytes !== null ? Math.ceil(superblock.journalBytes / blockSize) : 0;
  const overhead = inodeTableBlocks + journalBlocks + 2 * groups;
  const sizeBlocks = Math.max(blockCount - overhead, 0);
  const usedBlocks = Math.max(sizeBlocks - freeBlocks, 0);
  const availableBlocks = Math.max(freeBlocks - (reservedBlocks ?? 0), 0);
  return {
    sizeBytes: sizeBlocks * blockSize,
    usedBytes: usedBlocks * blockSize,
    availableBytes: availableBlocks * blockSize,
    usedPercent: percentUsed(usedBlocks, availableBlocks),
    source: 'superblock',
  };
}
