// The path jail: which requested names are acceptable at all, and opening a file so that no byte from
// outside the root is ever read.
//
// Requested names are always relative to the served root, like tftpd-hpa's --secure (which chroots):
// "/pxelinux.0" and "pxelinux.0" name the same file, since firmware and boot loaders send both. Only that
// one leading "/" is forgiven; "//etc/passwd", "..", backslashes, NUL bytes, empty components and names
// over 255 bytes are refused before any file system call. Symbolic links inside the root are followed,
// but the file actually opened must lie inside the root's real path (checked on the open descriptor).
import { constants } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { TftpProblem } from './errors.js';

export const maxTftpPathBytes = 255;

export type TftpPathRejection =
  | 'empty'
  | 'too-long'
  | 'nul-byte'
  | 'backslash'
  | 'absolute'
  | 'parent-directory'
  | 'empty-component';

export type TftpPathResult =
  | { ok: true; path: string }
  | { ok: false; rejection: TftpPathRejection; problem: TftpProblem };

const rejectionMessages: Record<TftpPathRejection, string> = {
  'empty': 'empty file name',
  'too-long': `file name longer than ${maxTftpPathBytes} bytes`,
  'nul-byte': 'file name contains a NUL byte',
  'backslash': 'file name contains a backslash',
  'absolute': 'absolute file names are not served',
  'parent-directory': 'file name contains ".."',
  'empty-component': 'file name contains an empty component',
};

function reject(rejection: TftpPathRejection): TftpPathResult {
  return { ok: false, rejection, problem: { kind: 'access-violation', message: rejectionMessages[rejection] } };
}

/** Turns a requested file name into a root-relative path ("a/b/c"), or says why it is refused. */
export function normalizeTftpPath(requested: string): TftpPathResult {
  if (requested.length === 0) return reject('empty');
  if (Buffer.byteLength(requested, 'utf8') > maxTftpPathBytes) return reject('too-long');
  if (requested.includes('\0')) return reject('nul-byte');
  if (requested.includes('\\')) return reject('backslash');
  const relative = requested.startsWith('/') ? requested.slice(1) : requested;
  if (relative.startsWith('/')) return reject('absolute');
  const components: string[] = [];
  for (const component of relative.split('/')) {
    if (component === '..') return reject('parent-directory');
    if (component === '') return reject(relative === '' ? 'empty' : 'empty-component');
    if (component !== '.') components.push(component);
  }
  if (components.length === 0) return reject('empty');
  return { ok: true, path: components.join('/') };
}

export function isInsideDirectory(candidate: string, directory: string): boolean {
  const prefix = directory.endsWith(sep) ? directory : directory + sep;
  return candidate.startsWith(prefix);
}

export type JailedOpenResult =
  | { ok: true; handle: FileHandle; realPath: string; size: number }
  | { ok: false; problem: TftpProblem };

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** The path the kernel actually opened: /proc/self/fd on Linux, else realpath of the name (racy, but close). */
async function openedPath(handle: FileHandle, fallback: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return realpath(fallback);
  }
}

/**
 * Opens root/relativePath for reading, refusing anything that resolves outside `realRoot` (which must
 * already be a real path) and anything that is not a regular file. Not found is `undefined`, so that the
 * next provider may answer.
 */
export async function openInsideRoot(realRoot: string, relativePath: string): Promise<JailedOpenResult | undefined> {
  const candidate = join(realRoot, relativePath);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (and block a libuv thread).
    handle = await open(candidate, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP') {
      return { ok: false, problem: { kind: 'access-violation', message: 'permission denied' } };
    }
    throw error;
  }
  try {
    const actual = await openedPath(handle, candidate);
    if (!isInsideDirectory(actual, realRoot)) {
      await handle.close();
      return { ok: false, problem: { kind: 'access-violation', message: 'file resolves outside the served root' } };
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      return { ok: false, problem: { kind: 'access-violation', message: 'not a regular file' } };
    }
    return { ok: true, handle, realPath: actual, size: stats.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}
