// The provider that serves files from a directory, jailed to it (see jail.ts).
import { realpath } from 'node:fs/promises';
import { openInsideRoot } from './jail.js';
import { tftpFileRefusal, type TftpFileProvider } from './files.js';

export function createDiskFileProvider(root: string): TftpFileProvider {
  // Resolved on first use, so that the root may be created after the server is configured.
  let realRoot: Promise<string> | undefined;
  return async (request) => {
    realRoot ??= realpath(root);
    let resolvedRoot: string;
    try {
      resolvedRoot = await realRoot;
    } catch (error) {
      realRoot = undefined;
      throw error;
    }
    const opened = await openInsideRoot(resolvedRoot, request.path);
    if (opened === undefined) return undefined;
    if (!opened.ok) return tftpFileRefusal(opened.problem);
    return { kind: 'disk', path: opened.realPath, size: opened.size, handle: opened.handle };
  };
}
