// A cpio archive in the "newc" format (the one the Linux kernel unpacks as an initramfs), written in plain Node.
// Entries are kept in order with every parent directory before its contents, as the kernel's unpacker needs.
import { gzipSync } from 'node:zlib';
import { posix } from 'node:path';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

interface CpioEntry {
  path: string;
  mode: number;
  data: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

function normalizeArchivePath(path: string): string {
  const normalized = posix.normalize(path).replace(/^\/+/, '').replace(/\/+$/, '');
  if (normalized === '' || normalized === '.' || normalized.startsWith('..')) {
    throw new Error(`cpio: not a path inside the archive: ${JSON.stringify(path)}`);
  }
  return normalized;
}

export class CpioArchive {
  private readonly entries = new Map<string, CpioEntry>();

  constructor(rootPermissions = 0o755) {
    // "." sets the mode of the root directory (the kernel's rootfs is otherwise world-writable).
    this.entries.set('.', { path: '.', mode: S_IFDIR | rootPermissions, data: Buffer.alloc(0), rdevMajor: 0, rdevMinor: 0 });
  }

  has(path: string): boolean {
    return this.entries.has(normalizeArchivePath(path));
  }

  /** Adds a directory (and its parents); mode is the permission bits. */
  directory(path: string, permissions = 0o755): this {
    const normalized = normalizeArchivePath(path);
    const existing = this.entries.get(normalized);
    if (existing) {
      if ((existing.mode & 0o170000) !== S_IFDIR) throw new Error(`cpio: ${normalized} exists and is not a directory`);
      existing.mode = S_IFDIR | permissions;
      return this;
    }
    this.parents(normalized);
    this.entries.set(normalized, { path: normalized, mode: S_IFDIR | permissions, data: Buffer.alloc(0), rdevMajor: 0, rdevMinor: 0 });
    return this;
  }

  /** Adds (or replaces) a regular file. */
  file(path: string, content: Buffer | string, permissions = 0o644): this {
    return this.put(path, S_IFREG | permissions, typeof content === 'string' ? Buffer.from(content) : content);
  }

  /** Adds (or replaces) a symbolic link pointing at target. */
  symlink(path: string, target: string): this {
    return this.put(path, S_IFLNK | 0o777, Buffer.from(target));
  }

  /** Adds a character device node (e.g. dev/console 5:1), so that it exists before devtmpfs is mounted. */
  characterDevice(path: string, major: number, minor: number, permissions = 0o600): this {
    this.put(path, S_IFCHR | permissions, Buffer.alloc(0));
    const entry = this.entries.get(normalizeArchivePath(path));
    if (entry) {
      entry.rdevMajor = major;
      entry.rdevMinor = minor;
    }
    return this;
  }

  /** The archive, uncompressed. */
  toBuffer(): Buffer {
    const chunks: Buffer[] = [];
    let inode = 1;
    for (const entry of this.entries.values()) chunks.push(...encodeEntry(entry, inode++));
    chunks.push(...encodeEntry({ path: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0), rdevMajor: 0, rdevMinor: 0 }, 0));
    return Buffer.concat(chunks);
  }

  /** The archive gzip'd, as an initrd. */
  toGzip(): Buffer {
    return gzipSync(this.toBuffer(), { level: 9 });
  }

  private put(path: string, mode: number, data: Buffer): this {
    const normalized = normalizeArchivePath(path);
    const existing = this.entries.get(normalized);
    if (existing && (existing.mode & 0o170000) === S_IFDIR) throw new Error(`cpio: ${normalized} is a directory`);
    this.parents(normalized);
    // Re-inserting keeps the first position, which is still after the parents.
    this.entries.set(normalized, { path: normalized, mode, data, rdevMajor: 0, rdevMinor: 0 });
    return this;
  }

  private parents(path: string): void {
    const parent = posix.dirname(path);
    if (parent !== '.' && !this.entries.has(parent)) this.directory(parent);
  }
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function encodeEntry(entry: CpioEntry, inode: number): Buffer[] {
  const name = Buffer.from(`${entry.path}\0`);
  const fields = [
    inode, // c_ino
    entry.mode, // c_mode
    0, // c_uid
    0, // c_gid
    (entry.mode & 0o170000) === S_IFDIR ? 2 : 1, // c_nlink
    0, // c_mtime
    entry.data.length, // c_filesize
    0, // c_devmajor
    0, // c_devminor
    entry.rdevMajor, // c_rdevmajor
    entry.rdevMinor, // c_rdevminor
    name.length, // c_namesize
    0, // c_check
  ];
  const header = Buffer.from(`070701${fields.map((value) => value.toString(16).padStart(8, '0')).join('')}`, 'ascii');
  return [header, name, padding(header.length + name.length), entry.data, padding(entry.data.length)];
}
