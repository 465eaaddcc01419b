// The lab directory: what `npm run lab -- up` started, so that later invocations (status, break, down) find it.
//   LAB_DIR/lab.json                 LabState (below)
//   LAB_DIR/machines/NAME/vm/        the VM's power state directory (lab/vm/vm-power.ts: vm.json, qemu.pid, serial.log)
//   LAB_DIR/machines/NAME/bmc/       its ipmi_sim (lan.conf, chassis.json, events.jsonl, ipmi_sim.log)
//   LAB_DIR/machines/NAME/disk.raw   its disk (a bootable disk: partition table, GRUB, root file system)
//   LAB_DIR/images/                  the OS images a reinstall writes (also in rescued's TFTP root)
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LabFirmware } from './installed-os.js';

export const LAB_FAULTS = ['superblock', 'fstab', 'kernel-gone', 'no-phone-home'] as const;
export type LabFault = (typeof LAB_FAULTS)[number];

export interface LabMachineState {
  name: string;
  mac: string;
  firmware: LabFirmware;
  sshHostPort: number;
  vmDirectory: string;
  diskPath: string;
  diskUuid: string;
  diskKernelVersion: string;
  /** Where the root file system starts in the disk image (a partitioned, bootable disk). */
  diskRootOffsetBytes: number;
  /** Its ipmi_sim; the password is also in the BMC's lan.conf (the lab directory is the user's own). */
  bmc: { directory: string; port: number; pid: number; username: string; password: string };
  faults: LabFault[];
}

export interface LabState {
  /** rescued's API the machines are registered with. */
  server: string;
  /** What the machines network-boot: tftp://10.0.2.2:PORT/boot.ipxe. */
  bootFileUrl: string;
  createdAt: string;
  machines: LabMachineState[];
}

const STATE_FILE = 'lab.json';

export function defaultLabDirectory(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.RESCUED_LAB_DIR?.trim() || join(env.RESCUED_DATA_DIR?.trim() || './data', 'lab'));
}

export function readLabState(directory: string): LabState | undefined {
  const path = join(directory, STATE_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LabState;
  } catch (error) {
    throw new Error(`${path} is not a lab state file (${(error as Error).message}); remove it or choose another --dir`);
  }
}

export function writeLabState(directory: string, state: LabState): void {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function isLabFault(word: string): word is LabFault {
  return (LAB_FAULTS as readonly string[]).includes(word);
}
