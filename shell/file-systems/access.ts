// How probes and playbooks read (and playbooks change) a file system on the rescue host, whatever the way:
// debugfs on the unmounted device, or a mount at a temp mount point. Paths are absolute inside the file system.
import type { SpaceUsage } from '../df.js';
import type { Evidence } from '../evidence.js';

export type FileSystemAccessMethod = 'debugfs' | 'mount';

export interface DirectoryEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  sizeBytes: number;
}

export interface FileRead {
  /** null: no such file (or not a regular file). */
  content: string | null;
  evidence: Evidence;
}

export interface DirectoryListing {
  /** null: no such directory. */
  entries: DirectoryEntry[] | null;
  evidence: Evidence;
}

export interface UsageReading {
  usage: SpaceUsage | null;
  evidence: Evidence;
}

export interface FileSystemAccess {
  readonly device: string;
  readonly method: FileSystemAccessMethod;
  readonly writable: boolean;
  /** Reads a regular file; `tailBytes` keeps only its end (logs), `maxBytes` only its start. */
  readFile(path: string, options?: { tailBytes?: number; maxBytes?: number }): Promise<FileRead>;
  list(directory: string): Promise<DirectoryListing>;
  exists(path: string): Promise<boolean>;
  usage(): Promise<UsageReading>;
  /** Replaces (or creates) a regular file, keeping the old one's mode and owner. Only when writable. */
  writeFile(path: string, content: string): Promise<Evidence>;
  /** Removes regular files; returns how many existed and were removed. Only when writable. */
  removeFiles(paths: readonly string[]): Promise<{ removed: number; evidence: Evidence }>;
  /** Unmounts (mount) or does nothing (debugfs). Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenFileSystemOptions {
  writable: boolean;
  /** ext2/3/4 for `mount -t`; null lets mount guess. */
  type?: string | null;
}

/** Rejects paths that are not absolute, climb with "..", or hold characters we never pass to a tool. */
export function checkedFileSystemPath(path: string): string {
  if (!path.startsWith('/')) throw new Error(`not an absolute path inside the file system: ${path}`);
  if (path.split('/').includes('..')) throw new Error(`path climbs out with "..": ${path}`);
  if (/[\0\n\r]/.test(path)) throw new Error(`path has control characters: ${JSON.stringify(path)}`);
  return path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

export function joinFileSystemPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}
