// What every probe gets: the rescue host, its tools, the examined devices, and read-only access to their file
// systems (opened once per diagnosis, closed, that is unmounted, when the diagnosis ends).
import type { FileSystemAccess } from '../file-systems/access.js';
import { openFileSystem, type FileSystemAccessPreference } from '../file-systems/open.js';
import type { Finding, ProbeName } from '../findings.js';
import { parseFstab, type FstabLine } from '../fstab.js';
import type { Evidence } from '../evidence.js';
import { candidateDevices, isExtType, knownFileSystems, type ExaminedDevice } from '../inventory.js';
import type { KnownFileSystem } from '../fstab.js';
import type { BlockDeviceTable } from '../devices.js';
import type { RescueHost } from '../rescue-host.js';
import type { ToolInventory } from '../tools.js';

export interface RootFileSystem {
  /** The device that holds /etc/fstab. */
  device: string;
  fstab: FstabLine[];
  /** The file as read (decoded as UTF-8: bytes that were not become U+FFFD). */
  fstabText: string;
  fstabEvidence: Evidence;
}

export interface ProbeSettings {
  fileSystemAccess: FileSystemAccessPreference;
  fsckTimeoutMs: number;
}

export class DiagnosisContext {
  private readonly opened = new Map<string, Promise<FileSystemAccess>>();
  private rootsPromise: Promise<RootFileSystem[]> | null = null;
  /** Devices e2fsck could not open (no valid superblock): the other probes leave them alone. */
  readonly unreadable = new Set<string>();
  /** Root candidates that could not be opened for reading, with why. */
  readonly unopenable = new Map<string, string>();

  constructor(
    readonly host: RescueHost,
    readonly tools: ToolInventory,
    readonly devices: readonly ExaminedDevice[],
    readonly settings: ProbeSettings,
    /** Every disk and partition the rescue host's kernel lists, examined or not. */
    readonly blockDevices: BlockDeviceTable | null = null,
  ) {}

  /** Candidates that hold an ext2/3/4 file system whose superblock we could read. */
  extFileSystems(): ExaminedDevice[] {
    return candidateDevices(this.devices).filter((device) => isExtType(device.fileSystem?.type) && !this.unreadable.has(device.path));
  }

  knownFileSystems(): KnownFileSystem[] {
    return knownFileSystems(this.devices);
  }

  /** Read-only access, opened once per device for the whole diagnosis. */
  readOnly(device: string): Promise<FileSystemAccess> {
    let access = this.opened.get(device);
    if (!access) {
      const type = this.devices.find((candidate) => candidate.path === device)?.fileSystem?.type ?? null;
      access = openFileSystem(this.host, this.tools, device, { writable: false, type, preference: this.settings.fileSystemAccess });
      this.opened.set(device, access);
    }
    return access;
  }

  /** The file systems that hold an /etc/fstab: the installed systems' roots. */
  rootFileSystems(): Promise<RootFileSystem[]> {
    this.rootsPromise ??= (async () => {
      const roots: RootFileSystem[] = [];
      // ext2/3/4 and XFS roots (XFS is read through a read-only, norecovery mount).
      const readable = candidateDevices(this.devices).filter((device) => !this.unreadable.has(device.path)
        && (isExtType(device.fileSystem?.type) || device.fileSystem?.type === 'xfs'));
      for (const device of readable) {
        let access: FileSystemAccess;
        try {
          access = await this.readOnly(device.path);
        } catch (error) {
          // A file system the kernel refuses to mount even read-only (XFS with corrupt metadata): the filesystems
          // probe has its finding; the probes that read files leave it out instead of failing.
          this.unopenable.set(device.path, error instanceof Error ? error.message : String(error));
          this.opened.delete(device.path);
          continue;
        }
        const read = await access.readFile('/etc/fstab', { maxBytes: 256 * 1024 });
        if (read.content !== null) roots.push({ device: device.path, fstab: parseFstab(read.content), fstabText: read.content, fstabEvidence: read.evidence });
      }
      return roots;
    })();
    return this.rootsPromise;
  }

  /** Unmounts whatever the probes mounted; errors are collected, not thrown, so that every mount is tried. */
  async closeAll(): Promise<string[]> {
    const errors: string[] = [];
    for (const [device, access] of this.opened) {
      try {
        await (await access).close();
      } catch (error) {
        errors.push(`${device}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.opened.clear();
    return errors;
  }
}

export interface Probe {
  name: ProbeName;
  run(context: DiagnosisContext): Promise<Finding[]>;
}
