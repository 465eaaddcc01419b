// The rescue activities' SSH side over shell/: a session to the rescue environment with the pinned host
// key and the rescue's ephemeral key, then diagnose or repair, and the session closed whatever happens.
import { asDiagnosisReport, diagnose, openSession, repair, type DiagnosisReport, type FileSystemAccessPreference, type Finding, type ShellSession } from '../shell/index.js';
import type { DiagnosisOutcome, RescueShell, RescueSshEndpoint } from '../activities/rescue-shell.js';
import type { FindingSummary } from '../workflows/rescue-types.js';
import { KeyedSemaphore } from '../concurrency/keyed-semaphore.js';

export interface SshRescueShellOptions {
  /**
   * The devices to examine on a system's rescue environment; undefined (the default) discovers every disk
   * there. Labs and tests name disk images.
   */
  devicesFor?: (system: string) => readonly string[] | undefined;
  fileSystemAccess?: FileSystemAccessPreference;
  connectTimeoutMs?: number;
  /** Sessions held at once (default: no limit); the others wait, heartbeating, in the order they came. */
  maxSessions?: number;
}

function summarize(finding: Finding): FindingSummary {
  return { id: finding.id, probe: finding.probe, severity: finding.severity, subject: finding.subject, summary: finding.summary, repair: finding.repair ?? null };
}

function outcomeOf(report: DiagnosisReport): DiagnosisOutcome {
  return { findings: report.findings.map(summarize), report: report as unknown as Record<string, unknown> };
}

export function createSshRescueShell(options: SshRescueShellOptions = {}): RescueShell {
  // The same fair, abortable semaphore that bounds calls to one BMC, with a single key: this worker's sessions.
  const slots = new KeyedSemaphore();
  const limit = options.maxSessions ?? Number.MAX_SAFE_INTEGER;
  async function withSession<T>(endpoint: RescueSshEndpoint, heartbeat: () => void, signal: AbortSignal, run: (session: ShellSession) => Promise<T>): Promise<T> {
    const timer = setInterval(heartbeat, 5000);
    let session: ShellSession | undefined;
    let release: (() => void) | undefined;
    try {
      release = await slots.acquire('ssh', limit, signal);
      session = await openSession({ host: endpoint.host, port: endpoint.port, privateKey: endpoint.privateKeyPem, hostKey: endpoint.hostKey, connectTimeoutMs: options.connectTimeoutMs ?? 20_000 });
      return await run(session);
    } finally {
      clearInterval(timer);
      await session?.close();
      release?.();
    }
  }
  const devices = (system: string) => options.devicesFor?.(system);

  return {
    diagnose(endpoint, heartbeat, signal) {
      return withSession(endpoint, heartbeat, signal, async (session) => {
        const found = devices(endpoint.system) ?? endpoint.devices;
        return outcomeOf(await diagnose(session, { signal, onProgress: heartbeat, ...(found ? { devices: found } : {}), ...(options.fileSystemAccess ? { fileSystemAccess: options.fileSystemAccess } : {}) }));
      });
    },
    repair(endpoint, previous, policy, heartbeat, signal) {
      return withSession(endpoint, heartbeat, signal, async (session) => {
        const report = await repair(session, asDiagnosisReport(previous), { dryRun: false, signal, onProgress: heartbeat, policy });
        return { results: report.results.map((result) => ({ ...result })), after: outcomeOf(report.after) };
      });
    },
  };
}
