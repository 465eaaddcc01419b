// The lab's own power requests (switch a machine off to break its disk, on again so that it boots broken) go
// where rescued's go: through rescued's power client and its ipmitool driver, over lanplus to the machine's
// ipmi_sim, whose chassis control powers the VM; then the lab waits until the VM itself is gone or there.
import { PowerClient, type BmcTarget } from '../../power/index.js';
import { vmPowerStatus } from '../vm/vm-power.js';

export interface LabBmcAddress {
  port: number;
  username: string;
  password: string;
}

async function setChassisPower(system: string, bmc: LabBmcAddress, action: 'on' | 'off'): Promise<void> {
  const target: BmcTarget = { systemName: system, type: 'ipmi', address: '127.0.0.1', port: bmc.port, username: bmc.username, password: bmc.password, options: { retries: '0', readback_timeout: '30' } };
  const result = await new PowerClient([target]).setPowerState(action);
  if (!result.ok) throw new Error(`${system}: chassis power ${action} through its BMC failed: ${result.failure.message}`);
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Chassis off through the BMC, then wait until its VM is really gone. */
export async function powerOffThroughBmc(system: string, bmc: LabBmcAddress, vmDirectory: string): Promise<void> {
  await setChassisPower(system, bmc, 'off');
  await waitFor(() => !vmPowerStatus(vmDirectory).running, 30_000, `${system}: the VM to stop after chassis power off`);
}

/** Chassis on through the BMC (it boots from the disk unless a one-time device is set), then wait for its VM. */
export async function powerOnThroughBmc(system: string, bmc: LabBmcAddress, vmDirectory: string): Promise<void> {
  await setChassisPower(system, bmc, 'on');
  await waitFor(() => vmPowerStatus(vmDirectory).running, 30_000, `${system}: the VM to start after chassis power on`);
}
