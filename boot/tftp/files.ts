// What the server serves: files found by an ordered list of providers. The disk provider (disk-provider.ts)
// is one; a provider that renders per-MAC boot configs from the inventory is another.
import type { FileHandle } from 'node:fs/promises';
import type { TftpProblem } from './errors.js';
import type { TftpMode } from './packets.js';

export interface TftpClientAddress {
  address: string;
  port: number;
}

export interface TftpFileRequest {
  /** Root-relative, normalized by the jail: no leading "/", no "." or ".." components, e.g. "pxelinux.cfg/01-52-54-00-12-34-56". */
  path: string;
  /** The name exactly as the client sent it. */
  requestedPath: string;
  mode: TftpMode;
  client: TftpClientAddress;
}

/** File contents held in memory, e.g. a rendered boot config. */
export interface TftpBytesFile {
  kind: 'bytes';
  bytes: Uint8Array;
}

/**
 * A file on disk, read block by block while it is sent. If `handle` is given the server reads from it and
 * closes it when done (the disk provider passes the descriptor it checked against the jail); otherwise
 * the server opens `path`, which a provider must only name if it trusts it.
 */
export interface TftpDiskFile {
  kind: 'disk';
  path: string;
  size: number;
  handle?: FileHandle;
}

export type TftpFile = TftpBytesFile | TftpDiskFile;

/** A provider's refusal, sent to the client as an ERROR packet; no further provider is asked. */
export interface TftpFileRefusal {
  kind: 'refused';
  problem: TftpProblem;
}

/** `undefined` means "not mine": the next provider is asked, and after the last one the client gets "file not found". */
export type TftpFileLookup = TftpFile | TftpFileRefusal | undefined;

export type TftpFileProvider = (request: TftpFileRequest) => Promise<TftpFileLookup>;

export function tftpBytesFile(bytes: Uint8Array | string): TftpBytesFile {
  return { kind: 'bytes', bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes };
}

export function tftpFileRefusal(problem: TftpProblem): TftpFileRefusal {
  return { kind: 'refused', problem };
}
