// /boot/files/<path>: the TFTP root over HTTP (kernels and initrds for iPXE and GRUB), behind the same
// jail as the TFTP server.
import { realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { normalizeTftpPath } from './tftp/index.js';
import { openInsideRoot } from './tftp/jail.js';

export type BootFileOpen =
  | { kind: 'file'; handle: FileHandle; size: number; path: string }
  | { kind: 'refused'; status: 400 | 403 | 404; message: string };

export async function openBootFile(root: string, requested: string): Promise<BootFileOpen> {
  const normalized = normalizeTftpPath(requested);
  if (!normalized.ok) return { kind: 'refused', status: 400, message: `"${requested}": ${normalized.problem.message}` };
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return { kind: 'refused', status: 404, message: `the boot file root ${root} does not exist (rescuectl boot sync creates it)` };
  }
  const opened = await openInsideRoot(realRoot, normalized.path);
  if (opened === undefined) return { kind: 'refused', status: 404, message: `no boot file "${normalized.path}"` };
  if (!opened.ok) return { kind: 'refused', status: 403, message: `"${normalized.path}": ${opened.problem.message}` };
  return { kind: 'file', handle: opened.handle, size: opened.size, path: normalized.path };
}
