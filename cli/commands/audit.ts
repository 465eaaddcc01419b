// `rescuectl audit run|schedule|report|list`: fleet audits.
import type { Command } from 'commander';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printReport, printTable, type Row } from '../output.js';

interface AuditRun {
  id: number;
  workflowId: string;
  trigger: string;
  requestedBy: string;
  state: string;
  startedAt: string;
  finishedAt: string | null;
  systemsTotal: number;
  probed: number;
  healthy: number;
  suspect: number;
  broken: number;
  note: string | null;
}
interface AuditResult {
  system: string;
  classification: string;
  reason: string;
  admission: string | null;
  admissionReason: string | null;
  rescueWorkflowId: string | null;
}
interface AuditSchedule {
  scheduleId: string;
  every: string;
  paused: boolean;
  note: string | null;
  overlap: string;
  catchupWindow: string;
  nextRuns: string[];
  running: string[];
}

const FINAL = new Set(['finished', 'failed', 'skipped', 'abandoned']);

function summaryLine(audit: AuditRun): string {
  const progress = audit.state === 'running' ? `${audit.probed}/${audit.systemsTotal || '?'} probed` : `${audit.probed} probed`;
  return `audit ${audit.id} (${audit.trigger}, ${audit.state}): ${progress}, ${audit.healthy} healthy, ${audit.suspect} suspect, ${audit.broken} broken${audit.note ? ` (${audit.note})` : ''}`;
}

/** `--interval` of `audit run --wait`: seconds, from 0.2 to 3600; anything else is refused, never replaced. */
export function parseWaitInterval(value: string): number {
  const seconds = /^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) {
    throw new CliError(`--interval: "${value}" is not a number of seconds from 0.2 to 3600`, 2);
  }
  return seconds * 1000;
}

function printSchedule(schedule: AuditSchedule): void {
  printReport({
    schedule: schedule.scheduleId,
    every: schedule.every,
    state: schedule.paused ? 'paused' : 'active',
    note: schedule.note,
    overlap: schedule.overlap,
    catchupWindow: schedule.catchupWindow,
    nextRun: schedule.paused ? null : (schedule.nextRuns[0] ?? null),
    running: schedule.running,
  });
}

export function registerAuditCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const audit = program.command('audit').description('fleet audits: probe every machine, classify it, hand broken ones to the guard');

  audit
    .command('run')
    .option('--wait', 'wait until the audit ends and print its summary')
    .option('--interval <seconds>', 'with --wait: refresh interval', '2')
    .description('run an audit now (joins the one running, scheduled or manual, if there is one)')
    .action(async (options: { wait?: boolean; interval: string }) => {
      // Checked before anything is started: a typo must not start an audit that is then not waited for.
      const interval = parseWaitInterval(options.interval);
      const api = await connect();
      const started = await api.request<{ joined: boolean; audit: AuditRun }>('POST', '/api/v1/audits');
      if (!options.wait) {
        if (json()) return printJson(started);
        console.log(`${started.joined ? 'an audit is already running, joined it' : 'started'}: audit ${started.audit.id} (workflow ${started.audit.workflowId})`);
        return;
      }
      let current = started.audit;
      while (!FINAL.has(current.state)) {
        await new Promise((resolve) => setTimeout(resolve, interval));
        current = (await api.request<{ audit: AuditRun }>('GET', `/api/v1/audits/${current.id}?limit=1`)).audit;
      }
      if (json()) return printJson({ joined: started.joined, audit: current });
      console.log(summaryLine(current));
      if (current.state === 'failed') process.exitCode = 1;
    });

  audit
    .command('schedule')
    .option('--every <duration>', 'run every DURATION (e.g. 30m, 1h, 6h); lasts until the next server start, which applies RESCUED_AUDIT_EVERY')
    .option('--pause', 'pause scheduled audits (kept across server restarts)')
    .option('--resume', 'resume scheduled audits')
    .description('show the audit schedule, or change it')
    .action(async (options: { every?: string; pause?: boolean; resume?: boolean }) => {
      if (options.pause && options.resume) throw new CliError('--pause and --resume: choose one', 2);
      const api = await connect();
      const change = { ...(options.every !== undefined ? { every: options.every } : {}), ...(options.pause ? { paused: true } : options.resume ? { paused: false } : {}) };
      if (Object.keys(change).length === 0) {
        const { schedule } = await api.request<{ schedule: AuditSchedule | null }>('GET', '/api/v1/audits/schedule');
        if (json()) return printJson({ schedule });
        if (schedule === null) console.log('no audit schedule (RESCUED_AUDIT_EVERY=off); rescuectl audit schedule --every 1h creates one');
        else printSchedule(schedule);
        return;
      }
      const schedule = await api.request<AuditSchedule>('PATCH', '/api/v1/audits/schedule', change);
      if (json()) return printJson(schedule);
      printSchedule(schedule);
    });

  audit
    .command('report')
    .option('--id <id>', 'an audit ID (default: the latest)')
    .option('--all', 'every machine, not only the suspect and broken ones')
    .description("an audit's verdicts: each machine's classification and reason, the guard's decision for broken ones")
    .action(async (options: { id?: string; all?: boolean }) => {
      if (options.id !== undefined && !/^\d+$/.test(options.id)) throw new CliError(`--id: "${options.id}" is not an audit ID (a number)`, 2);
      const api = await connect();
      const base = `/api/v1/audits/${options.id ?? 'latest'}?limit=5000${options.all ? '' : '&classification=suspect,broken'}`;
      let page = await api.request<{ audit: AuditRun; results: AuditResult[]; nextAfter: string | null }>('GET', base);
      const report = { audit: page.audit, results: [...page.results] };
      while (page.nextAfter !== null) {
        page = await api.request('GET', `${base}&after=${encodeURIComponent(page.nextAfter)}`);
        report.results.push(...page.results);
      }
      if (json()) return printJson(report);
      console.log(summaryLine(report.audit));
      console.log(`started ${report.audit.startedAt} by ${report.audit.requestedBy}${report.audit.finishedAt ? `, finished ${report.audit.finishedAt}` : ''}\n`);
      const shown = report.results;
      if (shown.length === 0 && !options.all) {
        console.log(report.audit.probed > 0 ? 'every machine probed is healthy (--all lists them)' : 'no machine probed yet');
        return;
      }
      const order = { broken: 0, suspect: 1, healthy: 2 } as Record<string, number>;
      printTable(
        [...shown].sort((a, b) => (order[a.classification] ?? 3) - (order[b.classification] ?? 3) || a.system.localeCompare(b.system)) as unknown as Row[],
        [
          { key: 'system', header: 'SYSTEM' },
          { key: 'classification', header: 'VERDICT' },
          { key: 'reason', header: 'REASON' },
          { key: 'admission', header: 'GUARD', value: (r) => (r.admission ? `${String(r.admission)}${r.rescueWorkflowId ? ` ${String(r.rescueWorkflowId)}` : ''}: ${String(r.admissionReason)}` : null) },
        ],
      );
    });

  audit
    .command('list')
    .option('--limit <n>', 'how many', '20')
    .description('audit runs, newest first')
    .action(async (options: { limit: string }) => {
      if (!/^\d+$/.test(options.limit) || Number(options.limit) < 1 || Number(options.limit) > 500) throw new CliError(`--limit: "${options.limit}" is not a number from 1 to 500`, 2);
      const runs = await (await connect()).request<AuditRun[]>('GET', `/api/v1/audits?limit=${options.limit}`);
      if (json()) return printJson(runs);
      printTable(runs as unknown as Row[], [
        { key: 'id', header: 'ID' },
        { key: 'trigger', header: 'TRIGGER' },
        { key: 'state', header: 'STATE' },
        { key: 'startedAt', header: 'STARTED' },
        { key: 'probed', header: 'PROBED' },
        { key: 'healthy', header: 'HEALTHY' },
        { key: 'suspect', header: 'SUSPECT' },
        { key: 'broken', header: 'BROKEN' },
        { key: 'note', header: 'NOTE' },
      ]);
    });
}
