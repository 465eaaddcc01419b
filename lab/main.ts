// `npm run lab -- up|down|status|break <system> <fault>`: the virtual lab (lab/fleet/) from the command line,
// against a running rescued (npm start with RESCUED_TFTP_PORT=6969 RESCUED_BOOT_URL=http://10.0.2.2:8080).
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createApiClient, CliError } from '../cli/api-client.js';
import { defaultTftpPort } from '../boot/tftp/index.js';
import { FAULT_DESCRIPTIONS } from './fleet/faults.js';
import { defaultLabDirectory, isLabFault, LAB_FAULTS } from './fleet/lab-state.js';
import { labBreak, labDown, labStatus, labUp } from './fleet/virtual-lab.js';
import { missingLabTools } from './fleet/host-tools.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

function tftpPortFromEnvironment(): number {
  const configured = process.env.RESCUED_TFTP_PORT?.trim();
  return configured && /^\d+$/.test(configured) ? Number(configured) : defaultTftpPort();
}

const program = new Command('lab')
  .description('the virtual lab: QEMU machines with ipmi_sim BMCs, registered in rescued')
  .option('--dir <path>', 'lab directory (default $RESCUED_LAB_DIR or data/lab)')
  .option('--server <url>', "rescued's API (default $RESCUED_SERVER or http://127.0.0.1:8080)")
  .option('--token <token>', 'API token (default $RESCUED_TOKEN or data/admin.token)');

const directoryOf = () => resolve((program.opts() as { dir?: string }).dir ?? defaultLabDirectory());
const apiOf = () => createApiClient(program.opts() as { server?: string; token?: string });

program
  .command('up')
  .description('start the machines, register them in the inventory and power them on')
  .option('--machines <n>', 'how many machines', integer, 2)
  .option('--tftp-root <path>', "rescued's TFTP root (default $RESCUED_TFTP_ROOT or data/tftpboot)")
  .option('--tftp-port <port>', "rescued's TFTP port (default $RESCUED_TFTP_PORT or 6969)", integer)
  .option('--no-power-on', 'leave the machines off')
  .action(async (options: { machines: number; tftpRoot?: string; tftpPort?: number; powerOn: boolean }) => {
    const missing = missingLabTools();
    if (missing.length > 0) throw new CliError(missing.map((m) => m.message).join('\n'));
    const tftpPort = options.tftpPort ?? tftpPortFromEnvironment();
    if (tftpPort === 69) {
      throw new CliError('the lab VMs cannot reach a TFTP server on port 69 (QEMU answers that port itself): start rescued with RESCUED_TFTP_PORT=6969 and pass --tftp-port 6969');
    }
    const directory = directoryOf();
    const state = await labUp({
      directory,
      api: await apiOf(),
      machines: options.machines,
      tftpRoot: resolve(options.tftpRoot ?? process.env.RESCUED_TFTP_ROOT?.trim() ?? resolve(process.env.RESCUED_DATA_DIR?.trim() || './data', 'tftpboot')),
      tftpPort,
      powerOn: options.powerOn,
      log: (line) => console.log(line),
    });
    console.log(`lab up in ${directory}: ${state.machines.map((m) => m.name).join(', ')} (boot file ${state.bootFileUrl})`);
  });

program
  .command('status')
  .description('what runs: each machine, its VM, its BMC, the last console line')
  .option('--json', 'JSON output')
  .action((options: { json?: boolean }) => {
    const machines = labStatus(directoryOf());
    if (options.json) return console.log(JSON.stringify(machines, null, 2));
    if (machines.length === 0) return console.log(`no lab in ${directoryOf()}`);
    for (const m of machines) {
      console.log(`${m.name}  ${m.mac}  VM ${m.vm}${m.vmPid ? ` (pid ${m.vmPid}, ${m.bootDevice})` : ''}  BMC ${m.bmcRunning ? `up 127.0.0.1:${m.bmcPort}, chassis ${m.chassisPower}` : 'down'}  SSH 127.0.0.1:${m.sshHostPort}${m.faults.length ? `  faults: ${m.faults.join(', ')}` : ''}`);
      if (m.console) console.log(`    ${m.console}`);
    }
  });

program
  .command('break')
  .description(`break a machine: ${LAB_FAULTS.join(', ')}`)
  .argument('<system>', 'machine name (lab01, ...)')
  .argument('<fault>', LAB_FAULTS.map((f) => `${f}: ${FAULT_DESCRIPTIONS[f]}`).join('; '))
  .action(async (system: string, fault: string) => {
    if (!isLabFault(fault)) throw new CliError(`unknown fault "${fault}": use one of ${LAB_FAULTS.join(', ')}`, 2);
    console.log(`${system}: ${await labBreak(directoryOf(), await apiOf(), system, fault)}`);
  });

program
  .command('down')
  .description('stop every QEMU and ipmi_sim the lab started (safe to repeat)')
  .action(async () => {
    const stopped = await labDown(directoryOf());
    console.log(stopped.length ? stopped.map((line) => `stopped ${line}`).join('\n') : 'nothing to stop');
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof CliError ? error.exitCode : 1);
});
