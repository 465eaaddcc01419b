// Frees space by removing what the system can do without: downloaded package archives (apt, dnf, yum caches)
// and rotated logs (*.1, *.gz, *-YYYYMMDD). Live logs, the journal and user data are never touched. Once they
// are gone there is nothing left to remove, so a second run changes nothing.
import { joinFileSystemPath, type FileSystemAccess } from '../file-systems/access.js';
import type { Evidence } from '../evidence.js';
import type { Playbook } from './types.js';

export interface RemovableFile {
  path: string;
  sizeBytes: number;
  why: string;
}

const COMPRESSED = '(\\.(gz|xz|bz2|zst|lz4))';
export const ROTATED_LOG = new RegExp(`(\\.\\d+${COMPRESSED}?|${COMPRESSED}|-\\d{8}${COMPRESSED}?)$`);
const MAX_DEPTH = 6;

async function filesUnder(fs: FileSystemAccess, directory: string, depth: number, keep: (name: string) => boolean, why: string, out: RemovableFile[], evidence: Evidence[]): Promise<void> {
  const listing = await fs.list(directory);
  if (!listing.entries) return;
  if (depth === 0) evidence.push(listing.evidence);
  for (const entry of listing.entries) {
    const path = joinFileSystemPath(directory, entry.name);
    if (entry.type === 'file' && keep(entry.name)) out.push({ path, sizeBytes: entry.sizeBytes, why });
    else if (entry.type === 'directory' && depth < MAX_DEPTH) await filesUnder(fs, path, depth + 1, keep, why, out, evidence);
  }
}

/** What the playbook would remove from this file system, with sizes. */
export async function removableFiles(fs: FileSystemAccess): Promise<{ files: RemovableFile[]; evidence: Evidence[] }> {
  const files: RemovableFile[] = [];
  const evidence: Evidence[] = [];
  const apt = await fs.list('/var/cache/apt/archives');
  if (apt.entries) {
    evidence.push(apt.evidence);
    for (const entry of apt.entries) {
      if (entry.type === 'file' && entry.name.endsWith('.deb')) files.push({ path: `/var/cache/apt/archives/${entry.name}`, sizeBytes: entry.sizeBytes, why: 'apt package cache' });
    }
    await filesUnder(fs, '/var/cache/apt/archives/partial', 1, () => true, 'apt partial download', files, evidence);
  }
  const aptCache = await fs.list('/var/cache/apt');
  for (const entry of aptCache.entries ?? []) {
    if (entry.type === 'file' && /^(src)?pkgcache\.bin$/.test(entry.name)) files.push({ path: `/var/cache/apt/${entry.name}`, sizeBytes: entry.sizeBytes, why: 'apt binary cache (rebuilt by apt)' });
  }
  await filesUnder(fs, '/var/cache/dnf', 0, () => true, 'dnf cache', files, evidence);
  await filesUnder(fs, '/var/cache/yum', 0, () => true, 'yum cache', files, evidence);
  const logs = await fs.list('/var/log');
  if (logs.entries) {
    evidence.push(logs.evidence);
    for (const entry of logs.entries) {
      const path = `/var/log/${entry.name}`;
      if (entry.type === 'file' && ROTATED_LOG.test(entry.name)) files.push({ path, sizeBytes: entry.sizeBytes, why: 'rotated log' });
      else if (entry.type === 'directory' && entry.name !== 'journal') {
        const sub = await fs.list(path);
        for (const child of sub.entries ?? []) {
          if (child.type === 'file' && ROTATED_LOG.test(child.name)) files.push({ path: `${path}/${child.name}`, sizeBytes: child.sizeBytes, why: 'rotated log' });
        }
      }
    }
  }
  return { files, evidence };
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function summarise(files: readonly RemovableFile[]): string[] {
  const byWhy = new Map<string, { count: number; bytes: number }>();
  for (const file of files) {
    const group = byWhy.get(file.why) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += file.sizeBytes;
    byWhy.set(file.why, group);
  }
  return [...byWhy].map(([why, group]) => `${group.count} file(s) of ${why}, ${mebibytes(group.bytes)}`);
}

export const freeSpacePlaybook: Playbook = {
  id: 'free-space',
  async run(context, target) {
    const subject = target.device;
    const look = await context.reading(target.device, async (fs) => ({ ...(await removableFiles(fs)), usage: await fs.usage() }));
    const total = look.files.reduce((sum, file) => sum + file.sizeBytes, 0);
    const before = look.usage.usage ? `${look.usage.usage.usedPercent}% used` : 'usage unknown';
    if (look.files.length === 0) {
      return { subject, status: 'unchanged', changed: false, actions: [`nothing removable (package caches, rotated logs) on ${target.device}; ${before}`], evidence: [look.usage.evidence, ...look.evidence] };
    }
    if (context.dryRun) {
      return {
        subject, status: 'would-change', changed: false,
        actions: [`would remove ${look.files.length} file(s), ${mebibytes(total)} (${before}):`, ...summarise(look.files)],
        evidence: [look.usage.evidence, ...look.evidence],
      };
    }
    const outcome = await context.writing(target.device, async (fs) => {
      const removal = await fs.removeFiles(look.files.map((file) => file.path));
      return { removal, usage: await fs.usage() };
    });
    const after = outcome.usage.usage ? `${outcome.usage.usage.usedPercent}% used` : 'usage unknown';
    return {
      subject, status: outcome.removal.removed > 0 ? 'changed' : 'unchanged', changed: outcome.removal.removed > 0,
      actions: [`removed ${outcome.removal.removed} file(s), ${mebibytes(total)}: ${before} before, ${after} after`, ...summarise(look.files)],
      evidence: [look.usage.evidence, outcome.removal.evidence, outcome.usage.evidence],
    };
  },
};
