// `rescuectl power status|on|off|soft|cycle|reset <system>` and `rescuectl power bootdev <system> pxe|disk|bios [--uefi]`.
import type { Command } from 'commander';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson } from '../output.js';

interface PowerReply {
  state?: string;
  driver?: string | null;
  transition?: Record<string, unknown>;
  record?: { attempts: Array<{ driver: string; outcome: string; failure?: { message: string } }> };
}

interface ProbeReport {
  driver: string;
  vendor: string | null;
  model: string | null;
  firmware: string | null;
  protocolVersion: string | null;
  powerState: string | null;
  system: string | null;
  otherSystems: string[];
  resetTypes: string[] | null;
  bootOverride: { supported: boolean; writtenTo: string | null; modes: string[] | null; currentMode: string | null; modeWritable: string; targets: string[] | null; current: string | null };
  eventLog: string | null;
  authentication: string | null;
  notes: string[];
}

interface ProbeReply {
  system: string;
  bmcs: Array<{ ok: boolean; type: string; endpoint: string; report?: ProbeReport; failure?: { kind: string; message: string } }>;
}

function describeProbe(reply: ProbeReply): string {
  const lines: string[] = [];
  const list = (values: string[] | null, none: string): string => (values === null ? none : values.join(', ') || 'none');
  for (const bmc of reply.bmcs) {
    lines.push(`${reply.system}: ${bmc.type} BMC at ${bmc.endpoint}`);
    if (!bmc.ok || !bmc.report) {
      lines.push(`  not probed: ${bmc.failure?.message ?? 'unknown failure'}`);
      continue;
    }
    const report = bmc.report;
    lines.push(`  vendor           ${report.vendor ?? '?'}`, `  model            ${report.model ?? '?'}`, `  firmware         ${report.firmware ?? '?'}`);
    lines.push(`  protocol         ${report.protocolVersion ?? '?'}`, `  power            ${report.powerState ?? 'unreadable'}`);
    lines.push(`  system           ${report.system ?? '?'}${report.otherSystems.length > 0 ? ` (also on this BMC: ${report.otherSystems.join(', ')})` : ''}`);
    lines.push(`  reset types      ${list(report.resetTypes, 'not advertised (standard list assumed)')}`);
    const boot = report.bootOverride;
    lines.push(boot.supported
      ? `  boot override    yes, written to ${boot.writtenTo ?? '?'}; now ${boot.current ?? '?'}`
      : '  boot override    NO: one-time boot cannot be set through this BMC');
    lines.push(`  boot modes       ${list(boot.modes, 'not advertised')} (current ${boot.currentMode ?? '?'}, writable: ${boot.modeWritable})`);
    lines.push(`  boot targets     ${list(boot.targets, 'not advertised')}`);
    lines.push(`  event log        ${report.eventLog ?? 'none found'}`, `  authentication   ${report.authentication ?? '?'}`);
    for (const note of report.notes) lines.push(`  note: ${note}`);
  }
  return lines.join('\n');
}

function describeAttempts(reply: PowerReply): string {
  const failed = (reply.record?.attempts ?? []).filter((a) => a.outcome === 'failed');
  return failed.length === 0 ? '' : ` (after ${failed.map((a) => `${a.driver} failed: ${a.failure?.message ?? 'unknown'}`).join('; ')})`;
}

export function registerPowerCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const power = program.command('power').description("a machine's power and boot device, through its BMC");
  const path = (system: string) => `/api/v1/systems/${encodeURIComponent(system)}`;
  power
    .command('status')
    .argument('<system>')
    .description('read the power state from the BMC')
    .action(async (system: string) => {
      const reply = await (await connect()).request<PowerReply>('GET', `${path(system)}/power`);
      if (json()) return printJson(reply);
      console.log(`${system}: power ${reply.state} (via ${reply.driver})${describeAttempts(reply)}`);
    });
  for (const action of ['on', 'off', 'soft', 'cycle', 'reset'] as const) {
    power
      .command(action)
      .argument('<system>')
      .description(`power ${action}, then read the state back`)
      .action(async (system: string) => {
        const reply = await (await connect()).request<PowerReply>('POST', `${path(system)}/power`, { action });
        if (json()) return printJson(reply);
        console.log(`${system}: power ${action} done, now ${String(reply.transition?.stateAfter ?? 'confirmed')} (via ${reply.driver})${describeAttempts(reply)}`);
      });
  }
  power
    .command('probe')
    .argument('<system>')
    .description("ask the machine's BMCs what they are and offer, before the first rescue needs them")
    .action(async (system: string) => {
      const reply = await (await connect()).request<ProbeReply>('GET', `${path(system)}/power/probe`);
      if (json()) return printJson(reply);
      console.log(describeProbe(reply));
    });
  power
    .command('bootdev')
    .argument('<system>')
    .argument('<device>', 'pxe | disk | bios')
    .option('--uefi', 'boot in UEFI mode')
    .description('set the one-time boot device')
    .action(async (system: string, device: string, options: { uefi?: boolean }) => {
      if (!['pxe', 'disk', 'bios'].includes(device)) throw new CliError(`bootdev: "${device}" is not pxe, disk or bios`, 2);
      const reply = await (await connect()).request<PowerReply>('POST', `${path(system)}/bootdev`, { device, uefi: options.uefi === true });
      if (json()) return printJson(reply);
      console.log(`${system}: next boot from ${device}${options.uefi ? ' (UEFI)' : ''} (via ${reply.driver})${describeAttempts(reply)}`);
    });
}
