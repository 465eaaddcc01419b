// Where a transfer's bytes come from: memory, or a file read by position through a small read-ahead
// buffer, so that a large file is never held in memory per client and a window costs one read, not one
// per block.
import { read as readFromDescriptor } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { TftpProblem } from './errors.js';
import type { TftpFile } from './files.js';
import type { TftpMode } from './packets.js';
import { encodeNetascii } from './netascii.js';

export interface TftpBlockSource {
  readonly size: number;
  /**
   * The bytes [start, end) of the transfer; valid until the next call. Returned directly when they are at
   * hand (memory, or already read ahead), so that the lock-step path costs no promise per block.
   */
  read(start: number, end: number): Uint8Array | Promise<Uint8Array>;
  close(): Promise<void>;
  /** The same bytes described so that another thread can read them (transfer-threads.ts). */
  portable(): TftpPortableContent;
}

/** Transfer contents that can be posted to a worker thread: bytes are copied, a descriptor is shared. */
export type TftpPortableContent = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'descriptor'; fd: number; size: number };

export class TftpFileChangedError extends Error {
  readonly kind = 'file-changed';
}

class MemoryBlockSource implements TftpBlockSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(start: number, end: number): Uint8Array {
    return this.bytes.subarray(start, end);
  }
  async close(): Promise<void> {}
  portable(): TftpPortableContent {
    return { kind: 'bytes', bytes: this.bytes };
  }
}

interface PositionalFile {
  readonly fd: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

function fileHandleReader(handle: FileHandle): PositionalFile {
  return {
    fd: handle.fd,
    read: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead,
    close: () => handle.close(),
  };
}

/** Reads a descriptor that someone else owns (and closes): the server thread, for a transfer thread. */
function borrowedDescriptorReader(fd: number): PositionalFile {
  return {
    fd,
    read: (buffer, offset, length, position) =>
      new Promise((resolve, reject) =>
        readFromDescriptor(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
      ),
    close: async () => undefined,
  };
}

// Read-ahead starts small and doubles up to the maximum, so that a burst of requests (or spoofed ones)
// for small reads does not cost a large buffer each.
const firstReadAheadBytes = 16 * 1024;
const maxReadAheadBytes = 256 * 1024;

class FileBlockSource implements TftpBlockSource {
  private buffer: Buffer | undefined;
  private bufferStart = 0;
  private bufferEnd = 0;
  // Reads share one buffer, so they run one after another.
  private queue: Promise<unknown> = Promise.resolve();
  private readsQueued = 0;
  private readAheadBytes = firstReadAheadBytes;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly file: PositionalFile,
    readonly size: number,
  ) {}

  read(start: number, end: number): Uint8Array | Promise<Uint8Array> {
    if (this.readsQueued === 0 && this.buffer !== undefined && start >= this.bufferStart && end <= this.bufferEnd) {
      return this.buffer.subarray(start - this.bufferStart, end - this.bufferStart);
    }
    this.readsQueued += 1;
    const next = this.queue.then(() => this.readInOrder(start, end));
    this.queue = next.catch(() => undefined).finally(() => {
      this.readsQueued -= 1;
    });
    return next;
  }

  private async readInOrder(start: number, end: number): Promise<Uint8Array> {
    if (this.buffer !== undefined && start >= this.bufferStart && end <= this.bufferEnd) {
      return this.buffer.subarray(start - this.bufferStart, end - this.bufferStart);
    }
    const length = Math.min(Math.max(end - start, this.readAheadBytes), this.size - start);
    this.readAheadBytes = Math.min(this.readAheadBytes * 2, maxReadAheadBytes);
    if (this.buffer === undefined || this.buffer.length < length) this.buffer = Buffer.allocUnsafe(length);
    this.bufferStart = start;
    this.bufferEnd = start;
    let filled = 0;
    while (filled < length) {
      const bytesRead = await this.file.read(this.buffer, filled, length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.bufferEnd = start + filled;
    if (start + filled < end) throw new TftpFileChangedError('file shrank while being sent');
    return this.buffer.subarray(0, end - start);
  }

  /** Idempotent: the transfer closes its source, and the server closes it again after a threaded transfer. */
  async close(): Promise<void> {
    this.closing ??= this.queue.then(() => this.file.close());
    await this.closing;
  }

  portable(): TftpPortableContent {
    return { kind: 'descriptor', fd: this.file.fd, size: this.size };
  }
}

/** Bigger netascii files are refused: converting changes every offset, so they are converted in memory. */
export const maxNetasciiFileBytes = 64 * 1024 * 1024;

export type TftpBlockSourceResult = { ok: true; source: TftpBlockSource } | { ok: false; problem: TftpProblem };

/** Takes ownership of `file.handle`: it ends up in the source, or closed. */
export async function openTftpBlockSource(file: TftpFile, mode: TftpMode): Promise<TftpBlockSourceResult> {
  if (file.kind === 'bytes') {
    return { ok: true, source: new MemoryBlockSource(mode === 'netascii' ? encodeNetascii(file.bytes) : file.bytes) };
  }
  const handle = file.handle ?? (await open(file.path, 'r'));
  try {
    const size = file.handle === undefined ? (await handle.stat()).size : file.size;
    if (mode === 'octet') return { ok: true, source: new FileBlockSource(fileHandleReader(handle), size) };
    if (size > maxNetasciiFileBytes) {
      await handle.close();
      const message = `netascii transfers are limited to ${maxNetasciiFileBytes} bytes; use octet mode`;
      return { ok: false, problem: { kind: 'not-defined', message } };
    }
    const contents = await handle.readFile();
    await handle.close();
    return { ok: true, source: new MemoryBlockSource(encodeNetascii(contents)) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** The other side of portable(): a source in a transfer thread. A descriptor stays open: its owner closes it. */
export function openPortableBlockSource(content: TftpPortableContent): TftpBlockSource {
  return content.kind === 'bytes'
    ? new MemoryBlockSource(content.bytes)
    : new FileBlockSource(borrowedDescriptorReader(content.fd), content.size);
}
