// Reading and changing a file system mounted at a temp mount point on the rescue host (an image file through a
// loop device). Read-only mounts use `noload` on ext3/4 so that not even the journal is replayed. Writes and
// removals refuse any path whose directory resolves outside the mount point (a symlink in the broken system).
import { ShellError } from '../errors.js';
import { evidenceOf, type Evidence } from '../evidence.js';
import { parseDfOutput } from '../df.js';
import { shellScript } from '../quote.js';
import { execChecked, type RescueHost } from '../rescue-host.js';
import {
  checkedFileSystemPath, type DirectoryEntry, type DirectoryListing, type FileRead, type FileSystemAccess,
  type OpenFileSystemOptions, type UsageReading,
} from './access.js';

const MOUNT_SCRIPT = [
  'dev="$1"; opts="$2"; type="$3"',
  'loop=no; if [ -f "$dev" ]; then opts="$opts,loop"; loop=yes; fi',
  'mp=$(mktemp -d /tmp/rescued-mnt.XXXXXX) || exit 1',
  'if [ -n "$type" ]; then set -- -t "$type"; else set --; fi',
  'if ! mount "$@" -o "$opts" "$dev" "$mp"; then rmdir "$mp"; exit 1; fi',
  'echo "$loop"',
  'cd "$mp" && pwd -P',
].join('\n');

const UNMOUNT_SCRIPT = [
  'mp="$1"; loop="$2"',
  'sync',
  'if [ "$loop" = yes ]; then umount -d "$mp" 2>/dev/null || umount "$mp" || exit 1',
  'else umount "$mp" || exit 1; fi',
  'rmdir "$mp"',
].join('\n');

/** Exits 4 when the file's directory is not inside the mount point (after resolving symlinks). */
const INSIDE_CHECK = 'inside() { d=$(cd "${1%/*}/" 2>/dev/null && pwd -P) || return 1; case "$d/" in "$mp"/*) return 0;; esac; return 1; }';

// Reads never follow the broken system's symlinks out of its root: an absolute link (etc -> /etc) would
// otherwise resolve against the rescue host's own files.
const READ_SCRIPT = [
  'mp="$1"; f="$1$2"',
  INSIDE_CHECK,
  '[ -f "$f" ] && [ ! -L "$f" ] || exit 3',
  'inside "$f" || exit 3',
  'if [ "$3" -gt 0 ]; then exec tail -c "$3" "$f"; fi',
  'if [ "$4" -gt 0 ]; then exec head -c "$4" "$f"; fi',
  'exec cat "$f"',
].join('\n');

const LIST_SCRIPT = [
  'mp="$1"; d="$1$2"',
  INSIDE_CHECK,
  '[ -d "$d" ] && [ ! -L "$d" ] || exit 3',
  'inside "$d/." || exit 3',
  'cd "$d" || exit 3',
  'set --',
  'for f in * .[!.]* ..?*; do if [ -e "$f" ] || [ -L "$f" ]; then set -- "$@" "$f"; fi; done',
  '[ "$#" -gt 0 ] || exit 0',
  'exec stat -c "%f %s %n" -- "$@"',
].join('\n');

const CHECK_WRITE_SCRIPT = [
  'mp="$1"; f="$1$2"',
  INSIDE_CHECK,
  'inside "$f" || exit 4',
  '[ ! -L "$f" ] || exit 4',
].join('\n');

const REMOVE_SCRIPT = [
  'mp="$1"; shift; n=0',
  INSIDE_CHECK,
  'for rel in "$@"; do f="$mp$rel"; [ -f "$f" ] && [ ! -L "$f" ] || continue; inside "$f" || continue; rm -f -- "$f" && n=$((n+1)); done',
  'echo "$n"',
].join('\n');

export class MountedFileSystem implements FileSystemAccess {
  readonly method = 'mount' as const;
  private mounted = true;

  private constructor(
    private readonly host: RescueHost,
    readonly device: string,
    readonly writable: boolean,
    /** Where the file system is mounted on the rescue host (for tools that need a directory, e.g. grub-install). */
    readonly mountPoint: string,
    private readonly loop: boolean,
    readonly mountEvidence: Evidence,
  ) {}

  static async open(host: RescueHost, device: string, options: OpenFileSystemOptions): Promise<MountedFileSystem> {
    const isExt = options.type != null && /^ext[234]$/.test(options.type);
    // Read-only must mean it: no journal replay (ext3/4 noload, XFS norecovery).
    const mountOptions = options.writable ? 'rw' : isExt ? 'ro,noload' : options.type === 'xfs' ? 'ro,norecovery' : 'ro';
    const result = await host.exec(shellScript(MOUNT_SCRIPT, device, mountOptions, isExt ? 'ext4' : options.type === 'xfs' ? 'xfs' : ''), { timeoutMs: 60_000 });
    const [loopFlag, mountPoint = ''] = result.stdout.trim().split('\n').slice(-2);
    if (result.exitCode !== 0 || !mountPoint.startsWith('/')) {
      throw new ShellError('command-failed', `could not mount ${device} (${mountOptions}): ${result.stderr.trim() || `exit ${result.exitCode}`}`,
        { command: result.commandLine, exitCode: result.exitCode });
    }
    return new MountedFileSystem(host, device, options.writable, mountPoint, loopFlag === 'yes', evidenceOf(result));
  }

  private inside(path: string): string {
    return checkedFileSystemPath(path);
  }

  async readFile(path: string, options: { tailBytes?: number; maxBytes?: number } = {}): Promise<FileRead> {
    const result = await this.host.exec(shellScript(READ_SCRIPT, this.mountPoint, this.inside(path),
      String(options.tailBytes ?? 0), String(options.maxBytes ?? 0)));
    if (result.exitCode === 3) return { content: null, evidence: evidenceOf(result) };
    if (result.exitCode !== 0) {
      throw new ShellError('command-failed', `could not read ${path} on ${this.device}: ${result.stderr.trim()}`, { command: result.commandLine, exitCode: result.exitCode });
    }
    return { content: result.stdout, evidence: evidenceOf(result, { stdoutOnly: true }) };
  }

  async list(directory: string): Promise<DirectoryListing> {
    const result = await this.host.exec(shellScript(LIST_SCRIPT, this.mountPoint, this.inside(directory)));
    if (result.exitCode === 3) return { entries: null, evidence: evidenceOf(result) };
    const entries: DirectoryEntry[] = [];
    for (const line of result.stdout.split('\n')) {
      const match = /^([0-9a-fA-F]+) (\d+) (.+)$/.exec(line);
      if (!match?.[1] || !match[3]) continue;
      const format = parseInt(match[1], 16) & 0o170000;
      const type = format === 0o100000 ? 'file' : format === 0o040000 ? 'directory' : format === 0o120000 ? 'symlink' : 'other';
      entries.push({ name: match[3], type, sizeBytes: Number(match[2]) });
    }
    return { entries, evidence: evidenceOf(result, { limit: 1500 }) };
  }

  async exists(path: string): Promise<boolean> {
    const target = `${this.mountPoint}${this.inside(path)}`;
    const result = await this.host.exec(shellScript(`mp="$2"; ${INSIDE_CHECK}; inside "$1" && { [ -e "$1" ] || [ -L "$1" ]; }`, target, this.mountPoint));
    return result.exitCode === 0;
  }

  async usage(): Promise<UsageReading> {
    const result = await this.host.exec(['df', '-P', '-k', this.mountPoint]);
    const line = parseDfOutput(result.stdout).at(-1);
    return { usage: line ? { sizeBytes: line.sizeBytes, usedBytes: line.usedBytes, availableBytes: line.availableBytes, usedPercent: line.usedPercent, source: 'df' } : null, evidence: evidenceOf(result) };
  }

  async writeFile(path: string, content: string): Promise<Evidence> {
    if (!this.writable) throw new Error(`${this.device} is mounted read-only`);
    const relative = this.inside(path);
    const check = await this.host.exec(shellScript(CHECK_WRITE_SCRIPT, this.mountPoint, relative));
    if (check.exitCode !== 0) {
      throw new ShellError('command-failed', `refusing to write ${path} on ${this.device}: it resolves outside the file system or is a symlink`, { command: check.commandLine, exitCode: check.exitCode });
    }
    await this.host.writeFile(`${this.mountPoint}${relative}`, content);
    return { command: `write ${this.mountPoint}${relative} (${Buffer.byteLength(content)} bytes through cat on stdin)`, exitCode: 0, output: '' };
  }

  async removeFiles(paths: readonly string[]): Promise<{ removed: number; evidence: Evidence }> {
    if (!this.writable) throw new Error(`${this.device} is mounted read-only`);
    if (paths.length === 0) return { removed: 0, evidence: { command: '', exitCode: 0, output: 'nothing to remove' } };
    const result = await execChecked(this.host, shellScript(REMOVE_SCRIPT, this.mountPoint, ...paths.map((path) => this.inside(path))));
    return { removed: Number(result.stdout.trim()) || 0, evidence: evidenceOf(result, { limit: 1500 }) };
  }

  async close(): Promise<void> {
    if (!this.mounted) return;
    // Not tied to the caller's abort signal: a cancelled diagnosis still unmounts.
    const result = await this.host.exec(shellScript(UNMOUNT_SCRIPT, this.mountPoint, this.loop ? 'yes' : 'no'), { timeoutMs: 60_000, signal: undefined });
    if (result.exitCode !== 0) {
      throw new ShellError('command-failed', `could not unmount ${this.device} from ${this.mountPoint}: ${result.stderr.trim()}`, { command: result.commandLine, exitCode: result.exitCode });
    }
    this.mounted = false;
  }
}
