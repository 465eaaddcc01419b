// `rescuectl rescue start|status|watch|report|approve|reject|abort|list`.
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { printJson, printReport, printTable, type Row } from '../output.js';

const STEP_ORDER = ['identifying', 'selecting', 'pushing', 'power-cycling', 'awaiting-phone-home', 'diagnosing', 'repairing', 'awaiting-approval', 'reinstalling', 'restoring'];
const FINAL = new Set(['repaired', 'reinstalled', 'needs-attention', 'failed', 'aborted', 'resolved-before-action']);

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
  if (status.findings.length > 0) {
    lines.push('  findings:');
    for (const finding of status.findings) lines.push(`    ${finding.severity.padEnd(8)} ${finding.subject}: ${finding.summary}`);
  }
  if (status.awaitingApprovalSince) lines.push(`  waiting for approval since ${status.awaitingApprovalSince}: rescuectl rescue approve ${status.system}`);
  if (status.outcome) lines.push(`  outcome: ${status.outcome}${status.error ? ` (${status.error})` : ''}`);
  return lines.join('\n');
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
    .description('the last rescue: steps, diagnosis report, repairs, evidence')
    .action(async (system: string) => {
      const run = await (await connect()).request<Row>('GET', `${path(system)}/report`);
      if (json()) return printJson(run);
      const { steps, diagnosis, repairs, evidence, ...summary } = run;
      printReport(summary);
      console.log('\nsteps:');
      printTable(steps as Row[], [
        { key: 'step', header: 'STEP' },
        { key: 'outcome', header: 'OUTCOME' },
        { key: 'startedAt', header: 'STARTED' },
        { key: 'took', header: 'TOOK', value: (r) => seconds(String(r.startedAt), (r.finishedAt as string | null) ?? null) },
        { key: 'detail', header: 'DETAIL' },
      ]);
      const findings = ((diagnosis as { findings?: Row[] } | null)?.findings ?? []) as Row[];
      console.log('\ndiagnosis:');
      printTable(findings, [
        { key: 'severity', header: 'SEVERITY' },
        { key: 'probe', header: 'PROBE' },
        { key: 'subject', header: 'SUBJECT' },
        { key: 'summary', header: 'FINDING' },
      ]);
      if ((repairs as Row[]).length > 0) {
        console.log('\nrepairs:');
        printTable(repairs as Row[], [
          { key: 'playbook', header: 'PLAYBOOK' },
          { key: 'subject', header: 'SUBJECT' },
          { key: 'changed', header: 'CHANGED' },
          { key: 'actions', header: 'ACTIONS' },
        ]);
      }
      console.log('\nevidence:');
      printReport(evidence as Row);
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
    .command('list')
    .option('--system <name>')
    .description('rescue runs, newest first')
    .action(async (options: { system?: string }) => {
      const rows = await (await connect()).request<Row[]>('GET', `/api/v1/rescues${options.system ? `?system=${encodeURIComponent(options.system)}` : ''}`);
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
