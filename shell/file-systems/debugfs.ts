// Reading and changing an ext2/3/4 file system without mounting it, through e2fsprogs' debugfs: no loop device,
// no kernel involvement with a damaged file system, no journal replay, nothing to unmount. Reads open the
// device in catastrophic (read-only) mode; writes open it with -w and must only be done on an unmounted device.
import { ShellError } from '../errors.js';
import { evidenceOf, type Evidence } from '../evidence.js';
import { usageFromSuperblock } from '../df.js';
import { parseExtSuperblock } from '../ext-superblock.js';
import { shellScript } from '../quote.js';
import type { ExecResult, RescueHost } from '../rescue-host.js';
import type { ToolInventory } from '../tools.js';
import {
  checkedFileSystemPath, type DirectoryEntry, type DirectoryListing, type FileRead, type FileSystemAccess, type UsageReading,
} from './access.js';

/** debugfs takes a path as one double-quoted word; these characters could not be given to it safely. */
function debugfsPath(path: string): string {
  const checked = checkedFileSystemPath(path);
  if (/["\\]/.test(checked)) throw new Error(`debugfs cannot be given a path with quotes or backslashes: ${checked}`);
  return `"${checked}"`;
}

const NOT_FOUND = /File not found by ext2_lookup/;
const BENIGN_STDERR = /^(debugfs \d[^\n]*|catastrophic mode - not reading inode or group bitmaps)$/;

function debugfsErrors(stderr: string): string[] {
  return stderr.split('\n').map((line) => line.trim()).filter((line) => line.length > 0 && !BENIGN_STDERR.test(line));
}

export class DebugfsFileSystem implements FileSystemAccess {
  readonly method = 'debugfs' as const;

  constructor(
    private readonly host: RescueHost,
    private readonly tools: ToolInventory,
    readonly device: string,
    readonly writable: boolean,
  ) {}

  private async read(request: string): Promise<ExecResult> {
    const result = await this.host.exec(['debugfs', '-c', '-R', request, this.device]);
    const errors = debugfsErrors(result.stderr).filter((line) => !NOT_FOUND.test(line) && !/is not a directory/.test(line));
    if (result.exitCode !== 0 || errors.some((line) => /while (trying to open|opening)|Filesystem not open|Bad magic|Corrupt/i.test(line))) {
      throw new ShellError('command-failed', `debugfs could not read ${this.device}: ${errors.join(' | ') || `exit ${result.exitCode}`}`,
        { command: result.commandLine, exitCode: result.exitCode });
    }
    return result;
  }

  async readFile(path: string, options: { tailBytes?: number; maxBytes?: number } = {}): Promise<FileRead> {
    const request = `cat ${debugfsPath(path)}`;
    let result: ExecResult;
    if (options.tailBytes !== undefined || options.maxBytes !== undefined) {
      const filter = options.tailBytes !== undefined ? 'tail' : 'head';
      const bytes = String(options.tailBytes ?? options.maxBytes);
      result = await this.host.exec(shellScript(`debugfs -c -R "$2" "$1" | ${filter} -c "$3"`, this.device, request, bytes));
    } else {
      result = await this.read(request);
    }
    const missing = NOT_FOUND.test(result.stderr) || /is not a regular file|Ext2 inode is not/.test(result.stderr);
    return { content: missing ? null : result.stdout, evidence: evidenceOf(result, { stdoutOnly: !missing }) };
  }

  async list(directory: string): Promise<DirectoryListing> {
    const result = await this.read(`ls -p ${debugfsPath(directory)}`);
    if (NOT_FOUND.test(result.stderr) || /is not a directory/.test(result.stderr)) {
      return { entries: null, evidence: evidenceOf(result) };
    }
    const entries: DirectoryEntry[] = [];
    for (const line of result.stdout.split('\n')) {
      // /inode/mode(octal)/uid/gid/name/size/
      const match = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
      if (!match?.[2] || match[5] === undefined || match[5] === '.' || match[5] === '..') continue;
      const format = parseInt(match[2], 8) & 0o170000;
      const type = format === 0o100000 ? 'file' : format === 0o040000 ? 'directory' : format === 0o120000 ? 'symlink' : 'other';
      entries.push({ name: match[5], type, sizeBytes: Number(match[6] || 0) });
    }
    return { entries, evidence: evidenceOf(result, { limit: 1500 }) };
  }

  async exists(path: string): Promise<boolean> {
    const result = await this.read(`stat ${debugfsPath(path)}`);
    return !NOT_FOUND.test(result.stderr) && /Inode:\s*\d+/.test(result.stdout);
  }

  async usage(): Promise<UsageReading> {
    // dumpe2fs -h shows the journal size (part of the overhead df leaves out); debugfs `stats` does not.
    const result = this.tools.has('dumpe2fs')
      ? await this.host.exec(['dumpe2fs', '-h', this.device], { maxOutputBytes: 64 * 1024 })
      : await this.read('stats');
    const superblock = parseExtSuperblock(result.stdout);
    return { usage: superblock ? usageFromSuperblock(superblock) : null, evidence: evidenceOf(result, { stdoutOnly: true, limit: 1200 }) };
  }

  private async readInodeOwnership(path: string): Promise<{ mode: string; uid: string; gid: string } | null> {
    const result = await this.read(`stat ${debugfsPath(path)}`);
    if (NOT_FOUND.test(result.stderr)) return null;
    const mode = /Mode:\s+0?([0-7]{3,4})/.exec(result.stdout)?.[1];
    const uid = /User:\s+(\d+)/.exec(result.stdout)?.[1];
    const gid = /Group:\s+(\d+)/.exec(result.stdout)?.[1];
    return mode && uid && gid ? { mode, uid, gid } : null;
  }

  private async writeRequests(requests: string[]): Promise<ExecResult> {
    if (!this.writable) throw new Error(`${this.device} was opened read-only`);
    return this.host.exec(['debugfs', '-w', '-f', '-', this.device], { stdin: `${requests.join('\n')}\n` });
  }

  async writeFile(path: string, content: string): Promise<Evidence> {
    if (!this.writable) throw new Error(`${this.device} was opened read-only`);
    const target = debugfsPath(path);
    const old = await this.readInodeOwnership(path);
    const temporary = (await this.host.exec(['mktemp', '/tmp/rescued-debugfs.XXXXXX'])).stdout.trim();
    if (!/^\/tmp\/rescued-debugfs\.[A-Za-z0-9]+$/.test(temporary)) throw new ShellError('command-failed', `mktemp gave ${temporary}`);
    try {
      await this.host.writeFile(temporary, content);
      const requests = [
        ...(old ? [`rm ${target}`] : []),
        `write "${temporary}" ${target}`,
        `sif ${target} mode 0100${(old?.mode ?? '644').padStart(4, '0').slice(-3)}`,
        `sif ${target} uid ${old?.uid ?? '0'}`,
        `sif ${target} gid ${old?.gid ?? '0'}`,
      ];
      const result = await this.writeRequests(requests);
      const errors = debugfsErrors(result.stderr);
      if (result.exitCode !== 0 || errors.length > 0) {
        throw new ShellError('command-failed', `debugfs could not write ${path} on ${this.device}: ${errors.join(' | ') || `exit ${result.exitCode}`}`,
          { command: result.commandLine, exitCode: result.exitCode });
      }
      return { ...evidenceOf(result), command: `${result.commandLine} <<< ${requests.join('; ')}` };
    } finally {
      await this.host.exec(['rm', '-f', temporary], { signal: undefined });
    }
  }

  async removeFiles(paths: readonly string[]): Promise<{ removed: number; evidence: Evidence }> {
    if (paths.length === 0) return { removed: 0, evidence: { command: '', exitCode: 0, output: 'nothing to remove' } };
    const requests = paths.map((path) => `rm ${debugfsPath(path)}`);
    const result = await this.writeRequests(requests);
    const errors = debugfsErrors(result.stderr);
    const notFound = errors.filter((line) => NOT_FOUND.test(line)).length;
    const failures = errors.filter((line) => !NOT_FOUND.test(line));
    if (result.exitCode !== 0 || failures.length > 0) {
      throw new ShellError('command-failed', `debugfs could not remove files on ${this.device}: ${failures.join(' | ') || `exit ${result.exitCode}`}`,
        { command: result.commandLine, exitCode: result.exitCode });
    }
    return { removed: paths.length - notFound, evidence: { ...evidenceOf(result, { limit: 1500 }), command: `${result.commandLine} <<< ${requests.length} rm requests` } };
  }

  async close(): Promise<void> {
    // Nothing is mounted.
  }
}
