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
