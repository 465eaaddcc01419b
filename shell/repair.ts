// A repair: the playbooks for a diagnosis' findings, in order (file system first), then a fresh diagnosis so
// the caller sees which findings are gone. A dry run changes nothing and says what each playbook would do.
import { toShellFailure } from './errors.js';
import type { FileSystemAccessPreference } from './file-systems/open.js';
import { PLAYBOOK_IDS, type Finding, type PlaybookId } from './findings.js';
import { diagnose, DEFAULT_FSCK_TIMEOUT_MS, type DiagnosisReport } from './diagnose.js';
import { PLAYBOOK_ORDER, PLAYBOOKS, PlaybookContext, type PlaybookResult, type RepairPolicy } from './playbooks/index.js';
import { withAbortSignal, type RescueHost } from './rescue-host.js';
import { safeJson } from './safe-text.js';
import { findTools, type ToolInventory } from './tools.js';

export interface RepairOptions {
  dryRun: boolean;
  /** Playbooks that may run; findings whose playbook is not listed are reported as `not-allowed`. Default: all. */
  allowed?: readonly PlaybookId[];
  /** As for diagnose(); default: what the diagnosis used. */
  fileSystemAccess?: FileSystemAccessPreference;
  fsckTimeoutMs?: number;
  /** What playbooks may do beyond the safe default (e.g. zero an XFS log). */
  policy?: RepairPolicy;
  tools?: ToolInventory;
  now?: () => Date;
  signal?: AbortSignal;
  onProgress?: (step: string) => void;
}

export interface RepairReport {
  startedAt: string;
  finishedAt: string;
  host: string;
  dryRun: boolean;
  results: PlaybookResult[];
  /** The diagnosis the repair worked from. */
  before: DiagnosisReport;
  /** A fresh diagnosis after the playbooks. */
  after: DiagnosisReport;
  /** Warnings and critical findings of `before` that `after` no longer has. */
  resolved: string[];
  /** Warnings and critical findings in `after`. */
  remaining: string[];
}

/** Playbooks after whose failure the other playbooks leave that device alone. */
const FILE_SYSTEM_PLAYBOOKS: readonly PlaybookId[] = ['raid-assemble-degraded', 'filesystem-repair', 'xfs-repair'];

interface PlannedRun {
  playbook: PlaybookId;
  device: string;
  findings: Finding[];
}

/** One run per playbook and device, in playbook order. */
export function planRepair(findings: readonly Finding[]): PlannedRun[] {
  const runs = new Map<string, PlannedRun>();
  for (const item of findings) {
    if (!item.repair || item.severity === 'info' || !item.device) continue;
    const key = `${item.repair}\u0000${item.device}`;
    const run = runs.get(key) ?? { playbook: item.repair, device: item.device, findings: [] };
    run.findings.push(item);
    runs.set(key, run);
  }
  return [...runs.values()].sort((a, b) => PLAYBOOK_ORDER.indexOf(a.playbook) - PLAYBOOK_ORDER.indexOf(b.playbook) || a.device.localeCompare(b.device));
}

/** How long the flush after the playbooks may take: a slow disk with a large write cache behind it. */
const SYNC_TIMEOUT_MS = 10 * 60_000;

export async function repair(rescueHost: RescueHost, diagnosis: DiagnosisReport, options: RepairOptions): Promise<RepairReport> {
  const host = withAbortSignal(rescueHost, options.signal);
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const tools = options.tools ?? await findTools(host);
  const allowed = new Set(options.allowed ?? PLAYBOOK_IDS);
  const fileSystemAccess = options.fileSystemAccess ?? diagnosis.fileSystemAccess;
  const fsckTimeoutMs = options.fsckTimeoutMs ?? DEFAULT_FSCK_TIMEOUT_MS;
  const context = new PlaybookContext(host, tools, diagnosis.devices, diagnosis.requestedDevices ?? undefined, options.dryRun, fileSystemAccess, startedAt, fsckTimeoutMs, diagnosis.blockDevices ?? null, options.policy ?? {});

  const results: PlaybookResult[] = [];
  const failedDevices = new Set<string>();
  for (const run of planRepair(diagnosis.findings)) {
    options.signal?.throwIfAborted();
    options.onProgress?.(`playbook ${run.playbook} on ${run.device}`);
    const base = { playbook: run.playbook, device: run.device, dryRun: options.dryRun, findings: run.findings.map((item) => item.id) };
    if (!allowed.has(run.playbook)) {
      results.push({ ...base, subject: run.device, status: 'not-allowed', changed: false, actions: [`${run.playbook} is not in the allowed playbooks`], evidence: [], durationMs: 0 });
      continue;
    }
    if (failedDevices.has(run.device)) {
      results.push({ ...base, subject: run.device, status: 'skipped', changed: false, actions: ['skipped: the file system repair of this device failed'], evidence: [], durationMs: 0 });
      continue;
    }
    const started = performance.now();
    try {
      const outcome = await PLAYBOOKS[run.playbook].run(context, { device: run.device, findings: run.findings });
      results.push({ ...base, ...outcome, durationMs: Math.round(performance.now() - started) });
      if (FILE_SYSTEM_PLAYBOOKS.includes(run.playbook) && outcome.status === 'failed') failedDevices.add(run.device);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      results.push({
        ...base, subject: run.device, status: 'failed', changed: false, actions: [], evidence: [],
        durationMs: Math.round(performance.now() - started), error: toShellFailure(error),
      });
      if (FILE_SYSTEM_PLAYBOOKS.includes(run.playbook)) failedDevices.add(run.device);
    }
  }

  // What the playbooks wrote reaches the disks before anything reads it back or the machine is power-cycled
  // (a disk's write cache, or the rescue kernel's, lost at the power cycle would undo the repair).
  if (!options.dryRun && results.some((result) => result.changed)) {
    options.onProgress?.('sync');
    await host.exec(['sync'], { timeoutMs: SYNC_TIMEOUT_MS });
  }

  options.onProgress?.('re-diagnosis');
  const after = await diagnose(host, {
    ...(diagnosis.requestedDevices ? { devices: diagnosis.requestedDevices } : {}),
    fileSystemAccess,
    fsckTimeoutMs,
    tools,
    now,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const problemIds = (report: DiagnosisReport) => report.findings.filter((item) => item.severity !== 'info').map((item) => item.id);
  const remaining = problemIds(after);
  // The one way out of a repair: playbook actions and evidence made safe to store and show here.
  return safeJson<RepairReport>({
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    host: host.name,
    dryRun: options.dryRun,
    results,
    before: diagnosis,
    after,
    resolved: problemIds(diagnosis).filter((id) => !remaining.includes(id)),
    remaining,
  });
}
