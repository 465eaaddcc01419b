// Network boot from the command line: install status (as `cobbler status`), previews of a system's boot
// config and autoinstall file, and `boot sync` (as `cobbler sync`).
import type { Command } from 'commander';
import { listRows } from '../list-pages.js';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printReport, printTable, type Row } from '../output.js';

function since(iso: unknown): string {
  if (typeof iso !== 'string') return '-';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

export function registerNetbootCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const system = program.commands.find((c) => c.name() === 'system');
  if (system === undefined) throw new Error('the system command must be registered first');
  system
    .command('get-autoinstall')
    .description("print the system's rendered autoinstall file")
    .argument('[name]')
    .option('--name <name>')
    .action(async (argument: string | undefined, options: { name?: string }) => {
      const name = argument ?? options.name;
      if (!name) throw new CliError("get-autoinstall needs the system's name", 2);
      process.stdout.write(await (await connect()).request<string>('GET', `/api/v1/systems/${encodeURIComponent(name)}/autoinstall`));
    });
  system
    .command('boot-config')
    .description('print what the system network-boots now, as pxelinux, GRUB or iPXE sees it')
    .argument('[name]')
    .option('--name <name>')
    .option('--format <format>', 'pxelinux | grub | ipxe', 'pxelinux')
    .action(async (argument: string | undefined, options: { name?: string; format: string }) => {
      const name = argument ?? options.name;
      if (!name) throw new CliError("boot-config needs the system's name", 2);
      if (!['pxelinux', 'grub', 'ipxe'].includes(options.format)) throw new CliError(`--format: "${options.format}" is not pxelinux, grub or ipxe`, 2);
      process.stdout.write(await (await connect()).request<string>('GET', `/api/v1/systems/${encodeURIComponent(name)}/boot-config?format=${options.format}`));
    });

  program
    .command('status')
    .description('install status of every system, or of one (as cobbler status)')
    .argument('[system]')
    .action(async (name: string | undefined) => {
      const api = await connect();
      if (name) {
        const status = await api.request<Row>('GET', `/api/v1/systems/${encodeURIComponent(name)}/status`);
        if (json()) return printJson(status);
        printReport(status);
        const fetches = await api.request<Row[]>('GET', `/api/v1/systems/${encodeURIComponent(name)}/boot-fetches?limit=10`);
        if (fetches.length > 0) {
          console.log('\nrecent boot fetches:');
          printTable(fetches, [
            { key: 'at', header: 'WHEN' },
            { key: 'protocol', header: 'VIA' },
            { key: 'file', header: 'FILE' },
            { key: 'bytes', header: 'BYTES' },
            { key: 'outcome', header: 'OUTCOME' },
          ]);
        }
        return;
      }
      const rows = await listRows(api, '/api/v1/status');
      if (json()) return printJson(rows);
      printTable(rows, [
        { key: 'system', header: 'SYSTEM' },
        { key: 'state', header: 'STATE' },
        { key: 'profile', header: 'PROFILE' },
        { key: 'installStartedAt', header: 'STARTED', value: (r) => since(r.installStartedAt) },
        { key: 'lastFile', header: 'LAST FILE' },
        { key: 'lastFileAt', header: 'WHEN', value: (r) => since(r.lastFileAt) },
        { key: 'netbootEnabled', header: 'NETBOOT' },
      ]);
    });

  const boot = program.command('boot').description('network boot files');
  boot
    .command('sync')
    .description('copy the boot loaders (pxelinux, iPXE, GRUB) from the installed packages into the TFTP root')
    .action(async () => {
      const report = await (await connect()).request<{ root: string; copied: Row[]; missing: Array<{ message: string }> }>('POST', '/api/v1/boot/sync');
      if (json()) return printJson(report);
      for (const file of report.copied) console.log(`copied ${String(file.file)}  (from ${String(file.from)})`);
      for (const missing of report.missing) console.error(`missing: ${missing.message}`);
      console.log(`TFTP root: ${report.root}`);
      if (report.missing.length > 0) throw new CliError(`${report.missing.length} boot loader(s) missing; install the packages named above and run boot sync again`);
    });
}
