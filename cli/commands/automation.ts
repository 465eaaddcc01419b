// `rescuectl alerts list`, `rescuectl automation status|pause|resume|set|decisions|incidents|close-incident`
// and `rescuectl maintenance add|list|remove`: what automation received, decided, and may do.
import type { Command } from 'commander';
import { z } from 'zod';
import { CliError, type ApiClient } from '../api-client.js';
import { parseBoolean } from '../option-values.js';
import { printJson, printReport, printTable, type Row } from '../output.js';
import { formatDuration, parseDuration } from '../../triggers/durations.js';

function duration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new CliError(`${flag}: "${value}" is not a duration (e.g. 90s, 15m, 24h, 2d, 0)`, 2);
  return ms;
}
/** A whole number, written in decimal digits only: not "", " ", "0x10" nor "1e2" (which Number() reads as 0, 16 and 100). */
function count(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new CliError(`${flag}: "${value}" is not a whole number (decimal digits, e.g. 3)`, 2);
  return n;
}
function share(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new CliError(`${flag}: "${value}" is not a share from 0 to 1 (e.g. 0.2)`, 2);
  return n;
}
function groupCaps(flag: string, value: string): Record<string, number> {
  const caps: Record<string, number> = {};
  for (const entry of value.split(/[\s,]+/).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.\/-]+)=(\d+)$/.exec(entry);
    if (match === null) throw new CliError(`${flag}: "${entry}" is not label=N (e.g. rack=1)`, 2);
    caps[match[1]!] = Number(match[2]);
  }
  return caps;
}
/** The times the API takes: ISO 8601 with the time zone, so that no date is guessed at (Date.parse reads "4" as 2001). */
const isoTimeWithZone = z.iso.datetime({ offset: true });

function when(flag: string, value: string): string {
  const relative = parseDuration(value);
  if (relative !== undefined) return new Date(Date.now() + relative).toISOString();
  if (!isoTimeWithZone.safeParse(value).success) {
    throw new CliError(`${flag}: "${value}" is neither a time in ISO 8601 with its time zone (2026-12-01T02:00:00Z, 2026-12-01T04:00:00+02:00) nor a duration from now (2h)`, 2);
  }
  return new Date(value).toISOString();
}

interface SettingsReply {
  maxInFlight: number;
  maxPerGroup: Record<string, number>;
  correlationMachines: number;
  correlationWindowMs: number;
  correlationHoldMs: number;
  brakeShare: number;
  brakeMinMachines: number;
  cooldownMs: number;
  maxFailures: number;
  maxCyclesPerHour: number;
  dryRun: boolean;
}

function describeSettings(s: SettingsReply): Row {
  return {
    maxInFlight: s.maxInFlight,
    maxPerGroup: s.maxPerGroup,
    correlation: `${s.correlationMachines} machines of a group within ${formatDuration(s.correlationWindowMs)}; hold ${formatDuration(s.correlationHoldMs)}`,
    brake: `more than ${Math.round(s.brakeShare * 100)}% of the fleet (at least ${s.brakeMinMachines} machines) broken at once`,
    cooldown: formatDuration(s.cooldownMs),
    maxFailures: s.maxFailures,
    maxCyclesPerHour: s.maxCyclesPerHour,
    dryRun: s.dryRun,
  };
}

export function registerAutomationCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const alerts = program.command('alerts').description('alerts received from monitoring, and what was decided');
  alerts
    .command('list')
    .option('--system <name>', "only this machine's alerts")
    .option('--limit <n>', 'how many, newest first', '50')
    .description('alerts received, newest first, each with its decision and reason')
    .action(async (options: { system?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: String(count('--limit', options.limit) || 50), ...(options.system ? { system: options.system } : {}) });
      const reply = await (await connect()).request<{ alerts: Row[]; nextCursor: string | null }>('GET', `/api/v1/alerts?${query}`);
      if (json()) return printJson(reply.alerts);
      printTable(reply.alerts, [
        { key: 'receivedAt', header: 'RECEIVED' },
        { key: 'receiver', header: 'FROM' },
        { key: 'alertName', header: 'ALERT' },
        { key: 'fingerprint', header: 'FINGERPRINT' },
        { key: 'status', header: 'STATUS' },
        { key: 'system', header: 'SYSTEM' },
        { key: 'decision', header: 'DECISION' },
        { key: 'workflowId', header: 'RESCUE' },
        { key: 'reason', header: 'REASON' },
      ]);
    });

  const automation = program.command('automation').description('the guard every automatic rescue goes through');
  automation
    .command('status')
    .description('settings, pause, rescues in flight, the queue, open incidents, latest decisions')
    .action(async () => {
      const status = await (await connect()).request<{ settings: SettingsReply; pause: Row; inFlight: number; waiting: number; openIncidents: number; powerCyclesLastHour: { made: number; reserved: number }; queue: Row[]; decisions: Row[]; incidents: Row[] }>('GET', '/api/v1/automation');
      if (json()) return printJson(status);
      const paused = status.pause.paused ? `PAUSED by ${String(status.pause.by)} since ${String(status.pause.at)}: ${String(status.pause.reason)}` : 'running';
      const cycles = status.powerCyclesLastHour;
      const powerCyclesLastHour = `${cycles.made + cycles.reserved} of ${status.settings.maxCyclesPerHour} (${cycles.reserved} reserved by rescues admitted that have not cycled)`;
      printReport({ automation: paused, inFlight: status.inFlight, waiting: status.waiting, openIncidents: status.openIncidents, powerCyclesLastHour, ...describeSettings(status.settings) });
      if (status.queue.length > 0) {
        console.log('\nwaiting, in arrival order:');
        printTable(status.queue, [
          { key: 'system', header: 'SYSTEM' },
          { key: 'enqueuedAt', header: 'SINCE' },
          { key: 'lastReason', header: 'WHY' },
        ]);
      }
      if (status.incidents.length > 0) {
        console.log('\nopen incidents:');
        printTable(status.incidents, [
          { key: 'id', header: 'ID' },
          { key: 'group', header: 'GROUP' },
          { key: 'systems', header: 'SYSTEMS' },
        ]);
      }
    });
  automation
    .command('pause')
    .option('--reason <text>', 'why (shown with every refusal)', 'paused by an operator')
    .description('pause every automatic rescue')
    .action(async (options: { reason: string }) => {
      const pause = await (await connect()).request<Row>('POST', '/api/v1/automation/pause', { reason: options.reason });
      if (json()) return printJson(pause);
      console.log(`automation paused: ${options.reason}`);
    });
  automation
    .command('resume')
    .description('resume automatic rescues (also after the blind-monitoring brake)')
    .action(async () => {
      const pause = await (await connect()).request<Row>('POST', '/api/v1/automation/resume');
      if (json()) return printJson(pause);
      console.log('automation resumed');
    });
  automation
    .command('set')
    .description("change the guard's settings (only those given)")
    .option('--max-in-flight <n>', 'rescues in flight fleet-wide')
    .option('--max-per-group <label=n,...>', 'rescues in flight per group, e.g. rack=1 (the labels are also the correlation groups)')
    .option('--cooldown <duration>', 'after an automatic rescue of a machine, none for this long (e.g. 24h)')
    .option('--max-failures <n>', 'failed automatic rescues of a machine in a row before automation leaves it to operators')
    .option('--max-cycles-per-hour <n>', "power cycles (on, cycle, reset) by automatic rescues per hour fleet-wide, each admitted rescue's first one reserved; defers new starts, never a running rescue's own")
    .option('--brake-share <share>', 'pause automation when more than this share of the fleet breaks at once (e.g. 0.2)')
    .option('--brake-min-machines <n>', '... and at least this many machines')
    .option('--correlation-machines <n>', 'this many machines of one group breaking within the window is one incident')
    .option('--correlation-window <duration>', 'the window for correlated failures and the brake (e.g. 10m)')
    .option('--correlation-hold <duration>', 'hold a machine of a group this long before power-cycling it (0 to disable)')
    .option('--dry-run <true|false>', 'record decisions only; start nothing, touch no BMC')
    .action(async (options: Record<string, string | undefined>) => {
      const change: Record<string, unknown> = {};
      if (options.maxInFlight !== undefined) change.maxInFlight = count('--max-in-flight', options.maxInFlight);
      if (options.maxPerGroup !== undefined) change.maxPerGroup = groupCaps('--max-per-group', options.maxPerGroup);
      if (options.cooldown !== undefined) change.cooldownMs = duration('--cooldown', options.cooldown);
      if (options.maxFailures !== undefined) change.maxFailures = count('--max-failures', options.maxFailures);
      if (options.maxCyclesPerHour !== undefined) change.maxCyclesPerHour = count('--max-cycles-per-hour', options.maxCyclesPerHour);
      if (options.brakeShare !== undefined) change.brakeShare = share('--brake-share', options.brakeShare);
      if (options.brakeMinMachines !== undefined) change.brakeMinMachines = count('--brake-min-machines', options.brakeMinMachines);
      if (options.correlationMachines !== undefined) change.correlationMachines = count('--correlation-machines', options.correlationMachines);
      if (options.correlationWindow !== undefined) change.correlationWindowMs = duration('--correlation-window', options.correlationWindow);
      if (options.correlationHold !== undefined) change.correlationHoldMs = duration('--correlation-hold', options.correlationHold);
      if (options.dryRun !== undefined) change.dryRun = parseBoolean('--dry-run', options.dryRun);
      if (Object.keys(change).length === 0) throw new CliError('automation set: give at least one setting (see --help)', 2);
      const settings = await (await connect()).request<SettingsReply>('PATCH', '/api/v1/automation/settings', change);
      if (json()) return printJson(settings);
      printReport(describeSettings(settings));
    });
  automation
    .command('decisions')
    .option('--system <name>', "only this machine's")
    .option('--limit <n>', 'how many, newest first', '50')
    .description("the guard's decision log")
    .action(async (options: { system?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: String(count('--limit', options.limit) || 50), ...(options.system ? { system: options.system } : {}) });
      const rows = await (await connect()).request<Row[]>('GET', `/api/v1/automation/decisions?${query}`);
      if (json()) return printJson(rows);
      printTable(rows, [
        { key: 'at', header: 'AT' },
        { key: 'system', header: 'SYSTEM' },
        { key: 'source', header: 'SOURCE' },
        { key: 'decision', header: 'DECISION' },
        { key: 'reason', header: 'REASON' },
      ]);
    });
  automation
    .command('incidents')
    .option('--all', 'closed ones too')
    .description('group incidents: many machines of one group broken together')
    .action(async (options: { all?: boolean }) => {
      const rows = await (await connect()).request<Row[]>('GET', `/api/v1/automation/incidents?all=${options.all === true}`);
      if (json()) return printJson(rows);
      printTable(rows, [
        { key: 'id', header: 'ID' },
        { key: 'group', header: 'GROUP' },
        { key: 'systems', header: 'SYSTEMS' },
        { key: 'openedAt', header: 'OPENED' },
        { key: 'closedAt', header: 'CLOSED' },
      ]);
    });
  automation
    .command('close-incident')
    .argument('<id>')
    .description("close an incident once its cause is fixed: its group's machines may be rescued again")
    .action(async (id: string) => {
      await (await connect()).request('POST', `/api/v1/automation/incidents/${encodeURIComponent(id)}/close`);
      console.log(`closed incident ${id}`);
    });

  const maintenance = program.command('maintenance').description('maintenance windows: no automatic rescue while they last');
  maintenance
    .command('add')
    .option('--system <name>', 'one machine')
    .option('--label <key=value>', 'every machine with this label (e.g. rack=r12)')
    .option('--start <when>', 'a time (2026-12-01T02:00:00Z) or a duration from now (default now)')
    .requiredOption('--end <when>', 'a time (2026-12-01T06:00:00Z) or a duration from now (4h)')
    .requiredOption('--reason <text>', 'why')
    .description('add a maintenance window')
    .action(async (options: { system?: string; label?: string; start?: string; end: string; reason: string }) => {
      if ((options.system === undefined) === (options.label === undefined)) throw new CliError('maintenance add: give --system or --label (one of them)', 2);
      const created = await (await connect()).request<Row>('POST', '/api/v1/maintenance', {
        ...(options.system ? { system: options.system } : {}),
        ...(options.label ? { label: options.label } : {}),
        ...(options.start ? { startsAt: when('--start', options.start) } : {}),
        endsAt: when('--end', options.end),
        reason: options.reason,
      });
      if (json()) return printJson(created);
      console.log(`maintenance window ${String(created.id)}: ${String(created.system ?? created.label)} until ${String(created.endsAt)}`);
    });
  maintenance
    .command('list')
    .option('--all', 'ended windows too')
    .description('maintenance windows, current and future')
    .action(async (options: { all?: boolean }) => {
      const rows = await (await connect()).request<Row[]>('GET', `/api/v1/maintenance?all=${options.all === true}`);
      if (json()) return printJson(rows);
      printTable(rows, [
        { key: 'id', header: 'ID' },
        { key: 'system', header: 'SYSTEM' },
        { key: 'label', header: 'LABEL' },
        { key: 'startsAt', header: 'STARTS' },
        { key: 'endsAt', header: 'ENDS' },
        { key: 'active', header: 'ACTIVE' },
        { key: 'reason', header: 'REASON' },
      ]);
    });
  maintenance
    .command('remove')
    .argument('<id>')
    .description('remove a maintenance window')
    .action(async (id: string) => {
      await (await connect()).request('DELETE', `/api/v1/maintenance/${encodeURIComponent(id)}`);
      console.log(`removed maintenance window ${id}`);
    });
}
