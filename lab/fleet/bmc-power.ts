// The lab's own power requests (bring a machine up, switch it off to break its disk) go where rescued's go:
// ipmitool over lanplus to the machine's ipmi_sim, whose chassis control powers the VM. The password travels
// in IPMI_PASSWORD (ipmitool -E), never on a command line.
import { runCommand } from '../vm/commands.js';
import { vmPowerStatus } from '../vm/vm-power.js';

export interface LabBmcAddress {
  port: number;
  username: string;
  password: string;
}

export async function ipmitool(bmc: LabBmcAddress, args: readonly string[]): Promise<string> {
  const { stdout, stderr } = await runCommand('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(bmc.port), '-U', bmc.username, '-E', ...args], {
    env: { ...process.env, IPMI_PASSWORD: bmc.password },
    timeoutMs: 20_000,
  });
  // ipmitool exits 0 when the BMC refuses a command: its complaint is on stderr.
  if (/Invalid|Error|Unable|failed/i.test(stderr)) throw new Error(`ipmitool ${args.join(' ')}: ${stderr.trim()}`);
  return stdout;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Chassis off through the BMC, then wait until its VM is really gone. */
export async function powerOffThroughBmc(bmc: LabBmcAddress, vmDirectory: string): Promise<void> {
  await ipmitool(bmc, ['chassis', 'power', 'off']);
  await waitFor(() => !vmPowerStatus(vmDirectory).running, 30_000, 'the VM to stop after chassis power off');
}

/** Chassis on through the BMC (boots from the disk unless a one-time device is set), then wait for its VM. */
export async function powerOnThroughBmc(bmc: LabBmcAddress, vmDirectory: string): Promise<void> {
  await ipmitool(bmc, ['chassis', 'power', 'on']);
  await waitFor(() => vmPowerStatus(vmDirectory).running, 30_000, 'the VM to start after chassis power on');
}
