// The shape every playbook shares. A playbook looks at the machine afresh when it runs (not at the finding that
// sent it), so running it twice changes nothing the second time; in a dry run it says what it would do.
import type { ShellFailure } from '../errors.js';
import type { Evidence } from '../evidence.js';
import type { FileSystemAccessMethod, FileSystemAccess } from '../file-systems/access.js';
import { withFileSystem, type FileSystemAccessPreference } from '../file-systems/open.js';
import type { Finding, PlaybookId } from '../findings.js';
import type { BlockDeviceTable } from '../devices.js';
import { examineMachine, type ExaminedDevice } from '../inventory.js';
import type { RescueHost } from '../rescue-host.js';
import type { ToolInventory } from '../tools.js';

export type PlaybookStatus =
  /** Changes were made. */
  | 'changed'
  /** Nothing needed doing (already repaired, or never broken). */
  | 'unchanged'
  /** Dry run: changes would be made (listed in actions). */
  | 'would-change'
  /** The rescue environment lacks what this playbook needs (e.g. grub-install). */
  | 'unavailable'
  | 'failed'
  /** Not run: a playbook before it failed on the same device. */
  | 'skipped'
  /** Not run: not in the allowed list. */
  | 'not-allowed';

export interface PlaybookResult {
  playbook: PlaybookId;
  subject: string;
  device: string | null;
  dryRun: boolean;
  status: PlaybookStatus;
  changed: boolean;
  actions: string[];
  evidence: Evidence[];
  /** The findings that sent this playbook. */
  findings: string[];
  durationMs: number;
  error?: ShellFailure;
}

export interface PlaybookTarget {
  device: string;
  findings: Finding[];
}

/** What the rescue's policy lets playbooks do beyond the safe default. */
export interface RepairPolicy {
  /**
   * xfs_repair -L: zero an XFS log that cannot be replayed, losing the metadata changes in it. Off by default;
   * when used, the repair record says so.
   */
  allowXfsLogZeroing?: boolean;
}

export class PlaybookContext {
  constructor(
    readonly host: RescueHost,
    readonly tools: ToolInventory,
    private devices: ExaminedDevice[],
    private readonly requestedDevices: readonly string[] | undefined,
    readonly dryRun: boolean,
    readonly fileSystemAccess: FileSystemAccessPreference,
    /** The moment of this repair: backup names and comment dates. */
    readonly now: Date,
    readonly fsckTimeoutMs: number,
    /** The rescue host's disks and partitions, as the diagnosis saw them until refreshDevices() reads them again. */
    private blockDeviceTable: BlockDeviceTable | null = null,
    readonly policy: RepairPolicy = {},
  ) {}

  blockDevices(): BlockDeviceTable | null {
    return this.blockDeviceTable;
  }

  currentDevices(): ExaminedDevice[] {
    return this.devices;
  }

  /** Reads the devices and their identities again (after e2fsck restored a superblock, say). */
  async refreshDevices(): Promise<ExaminedDevice[]> {
    const examined = await examineMachine(this.host, this.tools, this.requestedDevices);
    this.devices = examined.devices;
    this.blockDeviceTable = examined.blockDevices;
    return this.devices;
  }

  /** `20261125T231600Z`, for backup file names. */
  timestamp(): string {
    return this.now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  }

  date(): string {
    return this.now.toISOString().slice(0, 10);
  }

  typeOf(device: string): string | null {
    return this.devices.find((candidate) => candidate.path === device)?.fileSystem?.type ?? null;
  }

  /** Read-only access for looking; always closed (unmounted) afterwards. */
  reading<T>(device: string, use: (fs: FileSystemAccess) => Promise<T>): Promise<T> {
    return withFileSystem(this.host, this.tools, device, { writable: false, type: this.typeOf(device), preference: this.fileSystemAccess }, use);
  }

  /** Read-write access, only for making a change (never in a dry run); always closed (unmounted) afterwards. */
  writing<T>(device: string, use: (fs: FileSystemAccess) => Promise<T>, method?: FileSystemAccessMethod): Promise<T> {
    if (this.dryRun) throw new Error('a dry run opened a file system for writing');
    return withFileSystem(this.host, this.tools, device, { writable: true, type: this.typeOf(device), preference: this.fileSystemAccess, ...(method ? { method } : {}) }, use);
  }
}

export interface Playbook {
  id: PlaybookId;
  run(context: PlaybookContext, target: PlaybookTarget): Promise<Omit<PlaybookResult, 'durationMs' | 'findings' | 'playbook' | 'dryRun' | 'device'>>;
}
