// A diagnosis: the devices, then each probe in turn against the rescue host. A probe that fails is recorded
// (probesRun) and the others still run; the report says whether it is complete. Changes nothing on the disks.
import { toShellFailure, type ShellFailure } from './errors.js';
import type { FileSystemAccessPreference } from './file-systems/open.js';
import { PLAYBOOK_IDS, SEVERITIES, type Finding, type PlaybookId, type ProbeName, type Severity } from './findings.js';
import type { BlockDeviceTable } from './devices.js';
import { examineMachine, type ExaminedDevice } from './inventory.js';
import { DiagnosisContext, PROBES } from './probes/index.js';
import { withAbortSignal, type RescueHost } from './rescue-host.js';
import { safeJson } from './safe-text.js';
import { findTools, type ToolInventory } from './tools.js';

export interface DiagnoseOptions {
  /** Device paths (or image files) to examine; by default every disk in the rescue host's /proc/partitions. */
  devices?: readonly string[];
  /** How file systems are read: `auto` (debugfs when present, else a read-only mount), `debugfs` or `mount`. */
  fileSystemAccess?: FileSystemAccessPreference;
  /** Run only these probes (block-devices always runs: the others build on it). */
  probes?: readonly ProbeName[];
  /** Deadline for one `e2fsck -fn`. Default 30 min. */
  fsckTimeoutMs?: number;
  /** Tools already found in this session (skips one round trip). */
  tools?: ToolInventory;
  now?: () => Date;
  /** Checked between probes: an aborted diagnosis throws the signal's reason (after unmounting). */
  signal?: AbortSignal;
  /** Called before each probe (an activity heartbeats here). */
  onProgress?: (step: string) => void;
}

export interface ProbeRun {
  probe: ProbeName;
  ok: boolean;
  durationMs: number;
  error?: ShellFailure;
}

export interface DiagnosisReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  host: string;
  /** The device paths asked for, or null when they were discovered; a re-diagnosis asks for the same. */
  requestedDevices: string[] | null;
  devices: ExaminedDevice[];
  /** Every disk and its partitions as the rescue host's kernel lists them (absent from reports stored before it was kept). */
  blockDevices?: BlockDeviceTable;
  /** Tool name → path in the rescue environment. */
  tools: Record<string, string>;
  fileSystemAccess: FileSystemAccessPreference;
  findings: Finding[];
  probesRun: ProbeRun[];
  /** Every probe ran to the end (and every mount was undone): no finding is missing for want of a look. */
  complete: boolean;
  /** Unmount failures and the like, after the probes. */
  cleanupErrors: string[];
}

export const DEFAULT_FSCK_TIMEOUT_MS = 30 * 60_000;

export async function diagnose(rescueHost: RescueHost, options: DiagnoseOptions = {}): Promise<DiagnosisReport> {
  const host = withAbortSignal(rescueHost, options.signal);
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const started = performance.now();
  options.signal?.throwIfAborted();
  const tools = options.tools ?? await findTools(host);
  const { devices, blockDevices } = await examineMachine(host, tools, options.devices);
  const fileSystemAccess = options.fileSystemAccess ?? 'auto';
  const context = new DiagnosisContext(host, tools, devices, {
    fileSystemAccess,
    fsckTimeoutMs: options.fsckTimeoutMs ?? DEFAULT_FSCK_TIMEOUT_MS,
  }, blockDevices);

  const findings: Finding[] = [];
  const probesRun: ProbeRun[] = [];
  const selected = PROBES.filter((probe) => !options.probes || probe.name === 'block-devices' || options.probes.includes(probe.name));
  let cleanupErrors: string[] = [];
  try {
    for (const probe of selected) {
      options.signal?.throwIfAborted();
      options.onProgress?.(`probe ${probe.name}`);
      const probeStarted = performance.now();
      try {
        findings.push(...await probe.run(context));
        probesRun.push({ probe: probe.name, ok: true, durationMs: Math.round(performance.now() - probeStarted) });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        probesRun.push({ probe: probe.name, ok: false, durationMs: Math.round(performance.now() - probeStarted), error: toShellFailure(error) });
      }
    }
  } finally {
    cleanupErrors = await context.closeAll();
  }
  // The one way out of a diagnosis: whatever the tools printed is made safe to store and show here.
  return safeJson<DiagnosisReport>({
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    durationMs: Math.round(performance.now() - started),
    host: host.name,
    requestedDevices: options.devices ? [...options.devices] : null,
    devices,
    blockDevices,
    tools: { ...tools.paths },
    fileSystemAccess,
    findings,
    probesRun,
    complete: probesRun.every((run) => run.ok) && cleanupErrors.length === 0,
    cleanupErrors,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A stored diagnosis (JSON from the database or a workflow) checked for what repair() relies on, so callers
 * need no cast. Throws a TypeError naming the first field that is wrong.
 */
export function asDiagnosisReport(value: unknown): DiagnosisReport {
  const fail = (field: string): never => {
    throw new TypeError(`not a diagnosis report: ${field}`);
  };
  if (!isRecord(value)) return fail('not an object');
  if (typeof value.host !== 'string') fail('host');
  if (!['auto', 'debugfs', 'mount'].includes(String(value.fileSystemAccess))) fail('fileSystemAccess');
  if (value.requestedDevices !== null && !(Array.isArray(value.requestedDevices) && value.requestedDevices.every((item) => typeof item === 'string'))) fail('requestedDevices');
  if (!Array.isArray(value.devices) || !value.devices.every((item) => isRecord(item) && typeof item.path === 'string')) fail('devices');
  if (value.blockDevices !== undefined && !(isRecord(value.blockDevices) && Array.isArray(value.blockDevices.disks)
    && value.blockDevices.disks.every((disk) => isRecord(disk) && typeof disk.name === 'string' && Array.isArray(disk.partitions)))) fail('blockDevices');
  if (!Array.isArray(value.findings)) fail('findings');
  (value.findings as unknown[]).forEach((item, index) => {
    if (!isRecord(item) || typeof item.id !== 'string') fail(`findings[${index}].id`);
    const entry = item as Record<string, unknown>;
    if (!SEVERITIES.includes(entry.severity as Severity)) fail(`findings[${index}].severity`);
    if (entry.device !== null && typeof entry.device !== 'string') fail(`findings[${index}].device`);
    if (entry.repair !== undefined && entry.repair !== null && !PLAYBOOK_IDS.includes(entry.repair as PlaybookId)) fail(`findings[${index}].repair`);
    if (entry.reinstall !== undefined && typeof entry.reinstall !== 'string') fail(`findings[${index}].reinstall`);
  });
  return value as unknown as DiagnosisReport;
}
