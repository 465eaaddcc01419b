// The virtual lab as a feature: N simulated servers, each a QEMU machine (TCG, iPXE network boot, its own disk)
// with an ipmi_sim BMC whose chassis control really powers it and honours the one-time boot device, registered
// in rescued's inventory through the API. State lives in a lab directory (lab-state.ts) so that up, status,
// break and down work across invocations; down stops every process up started and can be run any number of times.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ApiClient } from '../../cli/api-client.js';
import { startIpmiSim, stopIpmiSimProcess } from '../bmc/ipmi-sim.js';
import { freeTcpPort } from '../bmc/ports.js';
import { PROJECT_ROOT } from '../vm/paths.js';
import { processIsAlive } from '../vm/qemu.js';
import { currentBootSerialLog, powerOffVm, vmPowerStatus, writePoweredVmSpec } from '../vm/vm-power.js';
import { applyFault } from './faults.js';
import { createInstalledOsDisk, installedOsBoot, type LabFirmware } from './installed-os.js';
import { installLabBootFiles, installLabInstallers, recordLabInstall, registerLabInventory, registerLabMachine } from './lab-inventory.js';
import { readLabState, writeLabState, type LabFault, type LabMachineState, type LabState } from './lab-state.js';
import { powerOnThroughBmc } from './bmc-power.js';

/** lab/vm/vm-power-command.sh: what ipmi_sim's chassis control runs on every power and boot event. */
export const VM_POWER_HOOK = join(PROJECT_ROOT, 'lab', 'vm', 'vm-power-command.sh');

export interface LabUpOptions {
  directory: string;
  api: ApiClient;
  /** How many machines, or one entry per machine (its name and firmware). */
  machines: number | LabMachineSpec[];
  /** rescued's TFTP root (the boot files go there) and the port its TFTP server listens on. */
  tftpRoot: string;
  tftpPort: number;
  /** Default "bios" (for machines given as a number). */
  firmware?: LabFirmware;
  /** Power the machines on (booting their installed OS) once registered (default true). */
  powerOn?: boolean;
  /** For a number of machines: names are PREFIX01, PREFIX02, ... (default "lab"). */
  namePrefix?: string;
  memoryMiB?: number;
  log?: (line: string) => void;
}

export interface LabMachineSpec {
  name: string;
  firmware?: LabFirmware;
}

function labMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

async function createMachine(options: LabUpOptions, spec: LabMachineSpec, bootFileUrl: string): Promise<LabMachineState> {
  const name = spec.name;
  const machineDirectory = resolve(options.directory, 'machines', name);
  const vmDirectory = join(machineDirectory, 'vm');
  const bmcDirectory = join(machineDirectory, 'bmc');
  mkdirSync(vmDirectory, { recursive: true });
  const firmware = spec.firmware ?? options.firmware ?? 'bios';
  const disk = await createInstalledOsDisk({ directory: machineDirectory, firmware, hostname: name });
  const mac = labMac();
  const sshHostPort = await freeTcpPort();
  writePoweredVmSpec(vmDirectory, {
    macAddress: mac,
    memoryMiB: options.memoryMiB ?? 384,
    sshHostPort,
    disks: [{ path: disk.path }],
    firmware,
    defaultBootDevice: 'disk',
    bootDevices: {
      network: { kind: 'network', bootFileUrl },
      disk: installedOsBoot(),
    },
  });
  const password = randomBytes(9).toString('base64url');
  const bmc = await startIpmiSim({
    username: 'admin',
    password,
    initialPower: 'off',
    chassisHook: VM_POWER_HOOK,
    hookEnvironment: { RESCUED_VM_STATE_DIR: vmDirectory },
    persistentDirectory: bmcDirectory,
  });
  return {
    name,
    mac,
    firmware,
    sshHostPort,
    vmDirectory,
    diskPath: disk.path,
    diskUuid: disk.uuid,
    diskKernelVersion: disk.kernelVersion,
    diskRootOffsetBytes: disk.rootOffsetBytes,
    bmc: { directory: bmcDirectory, port: bmc.port, pid: bmc.pid, username: bmc.username, password },
    faults: [],
  };
}

/** Brings the lab up (or says it is up already). */
export async function labUp(options: LabUpOptions): Promise<LabState> {
  const log = options.log ?? (() => undefined);
  const existing = readLabState(options.directory);
  if (existing && labStatus(options.directory).some((m) => m.bmcRunning)) {
    throw new Error(`a lab is already up in ${options.directory} (npm run lab -- status); take it down first (npm run lab -- down)`);
  }
  if (existing) rmSync(join(options.directory, 'machines'), { recursive: true, force: true });
  const specs: LabMachineSpec[] = typeof options.machines === 'number'
    ? Array.from({ length: options.machines }, (_, index) => ({ name: `${options.namePrefix ?? 'lab'}${String(index + 1).padStart(2, '0')}` }))
    : options.machines;
  if (specs.length < 1 || specs.length > 16) throw new Error(`--machines must be 1 to 16, not ${specs.length}`);
  log('lab: boot files, OS images and installers into the TFTP root, the lab profiles and rescue environments into the inventory');
  await installLabBootFiles(options.tftpRoot);
  const firmwares = specs.map((spec) => spec.firmware ?? options.firmware ?? 'bios');
  await registerLabInventory(options.api, await installLabInstallers(options.tftpRoot, resolve(options.directory, 'images'), firmwares));
  const bootFileUrl = `tftp://10.0.2.2:${options.tftpPort}/boot.ipxe`;
  const state: LabState = { server: options.api.server, bootFileUrl, createdAt: new Date().toISOString(), machines: [] };
  try {
    for (const spec of specs) {
      const name = spec.name;
      const machine = await createMachine(options, spec, bootFileUrl);
      state.machines.push(machine);
      writeLabState(options.directory, state);
      await registerLabMachine(options.api, machine);
      await recordLabInstall(options.api, machine.name);
      log(`lab: ${name} registered: MAC ${machine.mac}, BMC ipmi 127.0.0.1:${machine.bmc.port}, SSH 127.0.0.1:${machine.sshHostPort}`);
      if (options.powerOn ?? true) await powerOnThroughBmc(machine.name, machine.bmc, machine.vmDirectory);
    }
  } catch (error) {
    await labDown(options.directory);
    throw error;
  }
  return state;
}

export interface LabMachineStatus {
  name: string;
  mac: string;
  vm: 'running' | 'off';
  vmPid: number | null;
  bootDevice: string | null;
  bmcRunning: boolean;
  bmcPort: number;
  chassisPower: 'on' | 'off' | 'unknown';
  sshHostPort: number;
  faults: LabFault[];
  /** The last RESCUED-* line of the current boot's console. */
  console: string | null;
}

function chassisPower(machine: LabMachineState): 'on' | 'off' | 'unknown' {
  try {
    return (JSON.parse(readFileSync(join(machine.bmc.directory, 'chassis.json'), 'utf8')) as { power: number }).power === 1 ? 'on' : 'off';
  } catch {
    return 'unknown';
  }
}

function bmcRunning(machine: LabMachineState): boolean {
  if (!processIsAlive(machine.bmc.pid)) return false;
  try {
    return readFileSync(`/proc/${machine.bmc.pid}/cmdline`, 'utf8').includes(machine.bmc.directory);
  } catch {
    return false;
  }
}

export function labStatus(directory: string): LabMachineStatus[] {
  const state = readLabState(directory);
  if (!state) return [];
  return state.machines.map((machine) => {
    const power = existsSync(machine.vmDirectory) ? vmPowerStatus(machine.vmDirectory) : { running: false as const };
    const lines = existsSync(machine.vmDirectory) ? currentBootSerialLog(machine.vmDirectory).split(/\r?\n/).filter((line) => /RESCUED-[A-Z-]+:|RESCUED-LAB-MARKER/.test(line)) : [];
    return {
      name: machine.name,
      mac: machine.mac,
      vm: power.running ? 'running' : 'off',
      vmPid: power.running ? (power.pid ?? null) : null,
      bootDevice: power.running ? (power.bootDevice ?? null) : null,
      bmcRunning: bmcRunning(machine),
      bmcPort: machine.bmc.port,
      chassisPower: chassisPower(machine),
      sshHostPort: machine.sshHostPort,
      faults: machine.faults,
      console: lines.at(-1)?.trim() ?? null,
    };
  });
}

/** Stops every QEMU and ipmi_sim of the lab; a second call finds nothing to stop. Returns what it stopped. */
export async function labDown(directory: string): Promise<string[]> {
  const state = readLabState(directory);
  if (!state) return [];
  const stopped: string[] = [];
  for (const machine of state.machines) {
    // The BMC first, so that no chassis event starts the VM again behind us.
    if (bmcRunning(machine) && (await stopIpmiSimProcess(machine.bmc.pid))) stopped.push(`${machine.name}: ipmi_sim pid ${machine.bmc.pid}`);
    if (existsSync(machine.vmDirectory)) {
      const off = await powerOffVm(machine.vmDirectory);
      if (off.wasRunning) stopped.push(`${machine.name}: QEMU pid ${off.pid}`);
    }
  }
  return stopped;
}

/** Breaks one machine of the lab. */
export async function labBreak(directory: string, api: ApiClient, system: string, fault: LabFault): Promise<string> {
  const state = readLabState(directory);
  if (!state) throw new Error(`no lab in ${directory}: start one with npm run lab -- up`);
  const machine = state.machines.find((m) => m.name === system);
  if (!machine) throw new Error(`no machine ${system} in the lab (it has ${state.machines.map((m) => m.name).join(', ')})`);
  if (!bmcRunning(machine)) throw new Error(`${system}'s BMC is not running: bring the lab up again (npm run lab -- down; npm run lab -- up)`);
  const done = await applyFault(api, machine, fault);
  machine.faults = [...new Set([...machine.faults, fault])];
  writeLabState(directory, state);
  return done;
}
