// The installed system as a chroot on the rescue host: its root mounted read-write (and its separate /boot, when
// it has one), /dev, /proc and /sys bind-mounted in, so that its own tools (update-initramfs, dracut,
// grub-mkconfig) run against its own files and kernel modules. Everything is unmounted afterwards, in reverse.
import { ShellError } from './errors.js';
import { evidenceOf, type Evidence } from './evidence.js';
import type { FileSystemAccess } from './file-systems/access.js';
import { MountedFileSystem } from './file-systems/mounted.js';
import { shellScript } from './quote.js';
import type { ExecResult } from './rescue-host.js';
import type { PlaybookContext } from './playbooks/types.js';

export interface InstalledSystem {
  readonly mountPoint: string;
  /** The path of a program inside the installed system (`/usr/sbin/update-initramfs`), or null when it has none. */
  which(program: string): Promise<string | null>;
  /** Runs a program of the installed system inside the chroot. */
  run(command: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  readonly evidence: Evidence[];
}

const PROGRAM_DIRECTORIES = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const BIND_SCRIPT = [
  'mp="$1"; shift',
  'for d in "$@"; do',
  '  [ -d "$mp$d" ] || mkdir -p "$mp$d" || exit 1',
  '  mount -o bind "$d" "$mp$d" || exit 1',
  '  echo "$d"',
  'done',
].join('\n');

const UNBIND_SCRIPT = 'mp="$1"; shift; rc=0; for d in "$@"; do umount "$mp$d" || umount -l "$mp$d" || rc=1; done; exit $rc';

/** Mounts the installed system at `rootDevice` (and `bootDevice` at /boot), runs `use` with it, and undoes it all. */
export async function withInstalledSystem<T>(
  context: PlaybookContext,
  rootDevice: string,
  bootDevice: string | null,
  use: (system: InstalledSystem) => Promise<T>,
): Promise<T> {
  const { host } = context;
  if (!context.tools.has('chroot')) throw new ShellError('command-failed', 'the rescue image lacks chroot (coreutils or busybox)');
  return context.writing(rootDevice, async (fs) => {
    if (!(fs instanceof MountedFileSystem)) throw new ShellError('protocol', 'a chroot needs the root file system mounted');
    const mountPoint = fs.mountPoint;
    const evidence: Evidence[] = [];
    const bound: string[] = [];
    let bootMounted = false;
    try {
      if (bootDevice && bootDevice !== rootDevice) {
        const boot = await host.exec(shellScript('mkdir -p "$2/boot" && mount "$1" "$2/boot"', bootDevice, mountPoint), { timeoutMs: 60_000 });
        evidence.push(evidenceOf(boot));
        if (boot.exitCode !== 0) throw new ShellError('command-failed', `could not mount ${bootDevice} on the installed system's /boot: ${boot.stderr.trim()}`);
        bootMounted = true;
      }
      const bind = await host.exec(shellScript(BIND_SCRIPT, mountPoint, '/dev', '/proc', '/sys'), { timeoutMs: 60_000 });
      bound.push(...bind.stdout.split('\n').map((line) => line.trim()).filter(Boolean));
      evidence.push(evidenceOf(bind));
      if (bind.exitCode !== 0) throw new ShellError('command-failed', `could not bind-mount /dev, /proc and /sys into the installed system: ${bind.stderr.trim()}`);
      const system: InstalledSystem = {
        mountPoint,
        evidence,
        async which(program) {
          const script = 'root="$1"; program="$2"; shift 2; for d in "$@"; do if [ -x "$root$d/$program" ]; then echo "$d/$program"; exit 0; fi; done; exit 1';
          const found = await host.exec(shellScript(script, mountPoint, program, ...PROGRAM_DIRECTORIES));
          return found.exitCode === 0 ? found.stdout.trim() : null;
        },
        run(command, options = {}) {
          return host.exec(['chroot', mountPoint, ...command], { timeoutMs: options.timeoutMs ?? 600_000 });
        },
      };
      return await use(system);
    } finally {
      const undo = [...bound].reverse();
      if (undo.length > 0) await host.exec(shellScript(UNBIND_SCRIPT, mountPoint, ...undo), { timeoutMs: 60_000, signal: undefined });
      if (bootMounted) await host.exec(['umount', `${mountPoint}/boot`], { timeoutMs: 60_000, signal: undefined });
    }
  }, 'mount');
}

/** Which of `programs` the installed system has (read through its file system, without running anything). */
export async function findInstalledPrograms(fs: FileSystemAccess, programs: readonly string[]): Promise<Record<string, string | null>> {
  const found: Record<string, string | null> = {};
  for (const program of programs) {
    found[program] = null;
    for (const directory of PROGRAM_DIRECTORIES) {
      if (await fs.exists(`${directory}/${program}`)) {
        found[program] = `${directory}/${program}`;
        break;
      }
    }
  }
  return found;
}

/** `update-initramfs`, `dracut` and `grub-mkconfig` as a report line: which the installed system has. */
export function describeTools(found: Record<string, string | null>): string {
  return Object.entries(found).map(([name, path]) => `${name}: ${path ?? 'absent'}`).join(', ');
}

