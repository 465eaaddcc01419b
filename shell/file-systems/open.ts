// Choosing how to reach a file system. `auto` reads with debugfs (no mount, nothing the kernel must parse on a
// damaged file system, nothing to clean up) and writes through a mount (the kernel's journaling, the way an
// operator would), each falling back to the other way when its tool is missing.
import { isShellError } from '../errors.js';
import type { RescueHost } from '../rescue-host.js';
import type { ToolInventory } from '../tools.js';
import type { FileSystemAccess, FileSystemAccessMethod, OpenFileSystemOptions } from './access.js';
import { DebugfsFileSystem } from './debugfs.js';
import { MountedFileSystem } from './mounted.js';

export type FileSystemAccessPreference = 'auto' | FileSystemAccessMethod;

export function chooseAccessMethod(preference: FileSystemAccessPreference, tools: ToolInventory, writable: boolean, type: string | null | undefined): FileSystemAccessMethod {
  const isExt = type == null || /^ext[234]$/.test(type);
  if (preference !== 'auto') return preference;
  if (!isExt || !tools.has('debugfs')) return 'mount';
  if (writable && tools.has('mount')) return 'mount';
  return 'debugfs';
}

export async function openFileSystem(
  host: RescueHost,
  tools: ToolInventory,
  device: string,
  options: OpenFileSystemOptions & { preference?: FileSystemAccessPreference; method?: FileSystemAccessMethod },
): Promise<FileSystemAccess> {
  const preference = options.preference ?? 'auto';
  const method = options.method ?? chooseAccessMethod(preference, tools, options.writable, options.type);
  if (method === 'debugfs') return new DebugfsFileSystem(host, tools, device, options.writable);
  try {
    return await MountedFileSystem.open(host, device, options);
  } catch (error) {
    // Where mounting is not possible (no loop devices in a container, no ext4 driver), debugfs still works.
    const canFallBack = !options.method && preference === 'auto' && tools.has('debugfs') && (options.type == null || /^ext[234]$/.test(options.type));
    if (canFallBack && isShellError(error) && error.kind === 'command-failed') return new DebugfsFileSystem(host, tools, device, options.writable);
    throw error;
  }
}

/** Opens, runs `use`, and always closes (unmounts), even when `use` throws. */
export async function withFileSystem<T>(
  host: RescueHost,
  tools: ToolInventory,
  device: string,
  options: OpenFileSystemOptions & { preference?: FileSystemAccessPreference; method?: FileSystemAccessMethod },
  use: (fileSystem: FileSystemAccess) => Promise<T>,
): Promise<T> {
  const fileSystem = await openFileSystem(host, tools, device, options);
  let failed = false;
  try {
    return await use(fileSystem);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    try {
      await fileSystem.close();
    } catch (closeError) {
      // An unmount failure must not hide the error that got us here; when there was none, it is the error.
      if (!failed) throw closeError;
    }
  }
}
