// `rescuectl rescue start|status|watch|report|approve|reject|abort|close|list`.
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { listRows, withPageOptions, type PageOptions } from '../list-pages.js';
import { formatReport, formatTable, formatTree, printJson, printTable, type Row } from '../output.js';
import type { FindingComparison, RescueReport } from '../../rescue/report.js';

const STEP_ORDER = ['identifying', 'selecting', 'pushing', 'power-cycling', 'awaiting-phone-home', 'diagnosing', 'repairing', 'awaiting-approval', 'reinstalling', 'restoring'];
const FINAL = new Set(['repaired', 'reinstalled', 'unverified', 'needs-attention', 'failed', 'aborted', 'resolved-before-action']);

interface StatusReply {
  workflowId: string;
  runId: string;
  running: boolean;
  status: {
    system: string;
    state: string;
    environment: string | null;
    powerCycles: number;
    steps: Array<{ step: string; startedAt: string; finishedAt: string | null; outcome: string; detail?: string }>;
    findings: Array<{ severity: string; subject: string; summary: string }>;
    /** Absent from servers older than the before/after report. */
    findingsBeforeRepair?: Array<{ severity: string; subject: string; summary: string }> | null;
    repairs?: Array<{ playbook: string; subject: string; changed: boolean; status?: string }>;
    outcome: string | null;
    error: string | null;
    awaitingApprovalSince: string | null;
  };
}

function seconds(from: string, to: string | null): string {
  return `${Math.max(0, Math.round(((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000))}s`;
}

/** The progress display `watch` redraws: one line per step of the table, the current one marked. */
export function renderRescueProgress(reply: StatusReply): string {
  const { status } = reply;
  const lines = [`rescue of ${status.system}  (${reply.workflowId})  state: ${status.state}${status.environment ? `  environment: ${status.environment}` : ''}`];
  for (const step of STEP_ORDER) {
    const runs = status.steps.filter((s) => s.step === step);
    const last = runs.at(-1);
    const mark = last === undefined ? '  ' : last.finishedAt === null ? '▶ ' : last.outcome === 'interrupted' ? '✗ ' : '✓ ';
    const timing = last === undefined ? '' : `  ${seconds(runs[0]!.startedAt, last.finishedAt)}${runs.length > 1 ? ` (${runs.length}×)` : ''}${last.detail ? `  ${last.detail}` : ''}`;
    lines.push(`  ${mark}${step.padEnd(20)}${timing}`);
  }
  const listFindings = (title: string, findings: StatusReply['status']['findings']) => {
    lines.push(`  ${title}:`);
    for (const finding of findings) lines.push(`    ${finding.severity.padEnd(8)} ${finding.subject}: ${finding.summary}`);
  };
  if (status.findingsBeforeRepair) {
    listFindings('findings before repair', status.findingsBeforeRepair.filter((finding) => finding.severity !== 'info'));
    if (status.repairs && status.repairs.length > 0) {
      lines.push('  repairs:');
      for (const repair of status.repairs) lines.push(`    ${repair.playbook} on ${repair.subject}: ${repair.status ?? (repair.changed ? 'changed' : 'unchanged')}`);
    }
    listFindings('findings after repair', status.findings);
  } else if (status.findings.length > 0) {
    listFindings('findings', status.findings);
  }
  if (status.awaitingApprovalSince) lines.push(`  waiting for approval since ${status.awaitingApprovalSince}: rescuectl rescue approve ${status.system}`);
  if (status.outcome) lines.push(`  outcome: ${status.outcome}${status.error ? ` (${status.error})` : ''}`);
  return lines.join('\n');
}

const OUTCOME_MARK: Record<FindingComparison['outcome'], string> = { resolved: '✓ resolved', remaining: '✗ remaining', appeared: '! appeared', unchanged: '  unchanged', 'not-repaired': '' };

interface StoredEvidence {
  command?: unknown;
  exitCode?: unknown;
  output?: unknown;
}

function evidenceLines(evidence: unknown, indent: string): string[] {
  if (!Array.isArray(evidence)) return [];
  return (evidence as StoredEvidence[]).flatMap((item) => [
    `${indent}$ ${String(item.command ?? '?')}  (exit ${item.exitCode === null ? 'signal' : String(item.exitCode ?? '?')})`,
    ...String(item.output ?? '').split('\n').filter((line) => line.length > 0).map((line) => `${indent}  ${line}`),
  ]);
}

function findingEvidence(diagnosis: unknown, id: string): unknown {
  const findings = (diagnosis as { findings?: Array<{ id?: unknown; evidence?: unknown }> } | null)?.findings;
  return Array.isArray(findings) ? findings.find((item) => item.id === id)?.evidence : undefined;
}

/**
 * `rescuectl rescue report`: the run, its steps, the diagnosis before and after repair side by side, what each
 * playbook did, and the rescue's evidence; with `evidence`, the commands and outputs behind each problem too.
 */
export function renderRescueReport(report: RescueReport, options: { evidence?: boolean } = {}): string {
  const { steps, diagnosis, diagnosisBeforeRepair, repairs, evidence, comparison, playbooks, repaired, ...summary } = report;
  const out: string[] = [formatReport(summary as unknown as Row)];
  out.push('', 'steps:', formatTable(steps as Row[], [
    { key: 'step', header: 'STEP' },
    { key: 'outcome', header: 'OUTCOME' },
    { key: 'startedAt', header: 'STARTED' },
    { key: 'took', header: 'TOOK', value: (r) => seconds(String(r.startedAt), (r.finishedAt as string | null) ?? null) },
    { key: 'detail', header: 'DETAIL' },
  ]));
  const problems = comparison.filter((item) => item.outcome !== 'unchanged' && (item.before?.severity !== 'info' || (item.after !== null && item.after.severity !== 'info')));
  if (repaired) {
    out.push('', 'diagnosis before and after repair:', formatTable(comparison as unknown as Row[], [
      { key: 'outcome', header: 'OUTCOME', value: (r) => OUTCOME_MARK[r.outcome as FindingComparison['outcome']] },
      { key: 'probe', header: 'PROBE' },
      { key: 'subject', header: 'SUBJECT' },
      { key: 'before', header: 'BEFORE', value: (r) => (r.before as FindingComparison['before'])?.severity ?? '-' },
      { key: 'after', header: 'AFTER', value: (r) => (r.after as FindingComparison['after'])?.severity ?? 'gone' },
      { key: 'playbooks', header: 'PLAYBOOK', value: (r) => (r.playbooks as FindingComparison['playbooks']).map((p) => `${p.playbook} (${p.status})`) },
    ]));
  } else {
    out.push('', repairs.length === 0 && diagnosis === null ? 'diagnosis: (none yet)' : 'diagnosis (no repair ran):', formatTable(comparison as unknown as Row[], [
      { key: 'severity', header: 'SEVERITY', value: (r) => (r.before as FindingComparison['before'])?.severity },
      { key: 'probe', header: 'PROBE' },
      { key: 'subject', header: 'SUBJECT' },
      { key: 'summary', header: 'FINDING', value: (r) => (r.before as FindingComparison['before'])?.summary },
    ]));
  }
  if (problems.length > 0) {
    out.push('', 'problems:');
    for (const item of problems) {
      out.push(`  ${item.probe} ${item.subject}${repaired ? `  [${item.outcome}]` : ''}`);
      if (item.before) out.push(`    ${repaired ? 'before' : item.before.severity}: ${repaired ? `${item.before.severity}, ` : ''}${item.before.summary}`);
      if (repaired) out.push(`    after:  ${item.after ? `${item.after.severity}, ${item.after.summary}` : 'gone'}`);
      if (options.evidence) {
        out.push(...evidenceLines(findingEvidence(repaired ? diagnosisBeforeRepair : diagnosis, item.id), '      '));
        if (repaired && item.after) out.push(...evidenceLines(findingEvidence(diagnosis, item.id), '      '));
      }
    }
  }
  if (playbooks.length > 0) {
    out.push('', 'what each playbook did:');
    playbooks.forEach((playbook, index) => {
      out.push(`  ${playbook.playbook} on ${playbook.subject}: ${playbook.status}${playbook.changed && playbook.status !== 'changed' ? ' (changed)' : ''}`);
      for (const action of playbook.actions) out.push(`    - ${action}`);
      if (playbook.error) out.push(`    error: ${playbook.error}`);
      if (options.evidence) out.push(...evidenceLines((repairs[index] as { evidence?: unknown } | undefined)?.evidence, '      '));
    });
  }
  out.push('', 'evidence:', ...formatTree(evidence, '  '));
  return out.join('\n');
}

export function registerRescueCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const rescue = program.command('rescue').description('rescue broken machines');
  const path = (system: string) => `/api/v1/rescues/${encodeURIComponent(system)}`;

  rescue
    .command('start')
    .argument('<system>')
    .option('--reason <text>', 'why (shown in the Temporal UI and the record)', 'requested by an operator')
    .option('--force', 'start even while automation is paused or the machine is in a maintenance window')
    .description('start a rescue (or join the one running for this machine)')
    .action(async (system: string, options: { reason: string; force?: boolean }) => {
      const started = await (await connect()).request<{ workflowId: string; runId: string; joined: boolean }>('POST', '/api/v1/rescues', { system, reason: options.reason, force: options.force === true });
      if (json()) return printJson(started);
      console.log(`${started.joined ? 'joined the running rescue' : 'started'}: workflow ${started.workflowId} run ${started.runId}`);
    });
  rescue
    .command('status')
    .argument('<system>')
    .description('where the rescue is now')
    .action(async (system: string) => {
      const reply = await (await connect()).request<StatusReply>('GET', path(system));
      if (json()) return printJson(reply);
      console.log(renderRescueProgress(reply));
    });
  rescue
    .command('watch')
    .argument('<system>')
    .option('--interval <seconds>', 'refresh interval', '2')
    .description('follow the rescue live until it ends')
    .action(async (system: string, options: { interval: string }) => {
      const api = await connect();
      const interval = Math.max(0.2, Number(options.interval) || 2) * 1000;
      const redraw = process.stdout.isTTY === true;
      let previousLines = 0;
      let previousState = '';
      for (;;) {
        const reply = await api.request<StatusReply>('GET', path(system));
        const text = renderRescueProgress(reply);
        if (redraw) {
          // A terminal: redraw the display in place.
          if (previousLines > 0) process.stdout.write(`\x1b[${previousLines}A\x1b[J`);
          process.stdout.write(`${text}\n`);
          previousLines = text.split('\n').length;
        } else if (reply.status.state !== previousState) {
          // A pipe or a file: one display per change of state, not a dump of every refresh.
          process.stdout.write(`${text}\n\n`);
        }
        previousState = reply.status.state;
        if (FINAL.has(reply.status.state) || !reply.running) {
          if (reply.status.outcome === 'failed' || reply.status.outcome === 'aborted') process.exitCode = 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
    });
  rescue
    .command('report')
    .argument('<system>')
    .option('--evidence', 'also print the commands and outputs behind each problem and each playbook')
    .description('the last rescue: steps, the diagnosis before and after repair side by side, what each playbook did, evidence')
    .action(async (system: string, options: { evidence?: boolean }) => {
      const report = await (await connect()).request<RescueReport>('GET', `${path(system)}/report`);
      if (json()) return printJson(report);
      console.log(renderRescueReport(report, { evidence: options.evidence === true }));
    });
  for (const verb of ['approve', 'reject'] as const) {
    rescue
      .command(verb)
      .argument('<system>')
      .option('--comment <text>')
      .description(`${verb} the reinstall the rescue waits for`)
      .action(async (system: string, options: { comment?: string }) => {
        const status = await (await connect()).request<StatusReply['status']>('POST', `${path(system)}/${verb}`, options.comment ? { comment: options.comment } : {});
        if (json()) return printJson(status);
        console.log(`${verb === 'approve' ? 'approved' : 'rejected'} the reinstall of ${system}`);
      });
  }
  rescue
    .command('abort')
    .argument('<system>')
    .option('--reason <text>', 'why', 'aborted by an operator')
    .description('abort the rescue; its boot config is removed all the same')
    .action(async (system: string, options: { reason: string }) => {
      await (await connect()).request('POST', `${path(system)}/abort`, { reason: options.reason });
      console.log(`aborting the rescue of ${system}`);
    });
  rescue
    .command('close')
    .argument('<system>')
    .requiredOption('--reason <text>', 'why the run is closed (recorded with it)')
    .description("close the machine's open rescue run (a workflow still running is terminated) and remove its boot config")
    .action(async (system: string, options: { reason: string }) => {
      const run = await (await connect()).request<Row>('POST', `${path(system)}/close`, { reason: options.reason });
      if (json()) return printJson(run);
      console.log(`closed the rescue run of ${system} (${String(run.workflowId)}) as ${String(run.outcome)}: ${String(run.error)}`);
    });
  withPageOptions(rescue.command('list').option('--system <name>').description('rescue runs, newest first'))
    .action(async (options: { system?: string } & PageOptions) => {
      const rows = await listRows(await connect(), `/api/v1/rescues${options.system ? `?system=${encodeURIComponent(options.system)}` : ''}`, options);
      if (json()) return printJson(rows);
      printTable(rows, [
        { key: 'system', header: 'SYSTEM' },
        { key: 'state', header: 'STATE' },
        { key: 'outcome', header: 'OUTCOME' },
        { key: 'environment', header: 'ENVIRONMENT' },
        { key: 'startedAt', header: 'STARTED' },
        { key: 'took', header: 'TOOK', value: (r) => seconds(String(r.startedAt), (r.finishedAt as string | null) ?? null) },
        { key: 'reason', header: 'REASON' },
      ]);
    });
}
