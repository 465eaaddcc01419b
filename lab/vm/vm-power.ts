// Power for a lab VM kept in a state directory, so that a program outside this process (a BMC simulator's
// chassis control, a shell) can switch it on and off:
//   STATE_DIR/vm.json     the machine (PoweredVmSpec), written by whoever sets the lab up
//   STATE_DIR/qemu.pid    the running QEMU's pid (absent when off)
//   STATE_DIR/serial.log  the serial console, appended across boots
//   STATE_DIR/boot.json   the current boot: pid, boot device, start time, serial log offset
//   STATE_DIR/power.log   one JSON line per power action
//   STATE_DIR/ovmf-vars.fd  a UEFI VM's variable store (a copy of OVMF_VARS.fd, kept across power cycles)
// QEMU runs daemonized (setsid, stdio on /dev/null), so callers that read our output through popen() never hang.
// Power actions on one state directory are serialised by a lock file.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildQemuArguments, ensureOvmfVars, processIsAlive, QEMU_PID_FILE_NAME, SERIAL_LOG_NAME, startDaemonizedQemu, stopQemuProcess, type LabVmBoot, type LabVmSpec } from './qemu.js';

export type VmBootDevice = 'network' | 'disk';

/** STATE_DIR/vm.json. */
export interface PoweredVmSpec extends Omit<LabVmSpec, 'boot'> {
  /** The MAC is fixed for a powered VM: it is how the inventory knows the machine. */
  macAddress: string;
  /** What each boot device does: usually network = iPXE with a bootfile URL, disk = BIOS from disk or a direct kernel boot standing in for the installed OS. */
  bootDevices: Partial<Record<VmBootDevice, LabVmBoot>>;
  /** Used when power-on names no device (default "disk"). */
  defaultBootDevice?: VmBootDevice;
}

export interface VmPowerStatus {
  running: boolean;
  pid?: number;
  bootDevice?: VmBootDevice;
  startedAt?: string;
}

export interface CurrentVmBoot {
  pid: number;
  bootDevice: VmBootDevice;
  startedAt: string;
  /** Where this boot's output starts in serial.log. */
  serialLogOffset: number;
}

const SPEC_FILE_NAME = 'vm.json';
const BOOT_FILE_NAME = 'boot.json';
const LOCK_FILE_NAME = 'power.lock';
const POWER_LOG_NAME = 'power.log';
const SERCON_PORT_FILE_NAME = 'sercon-port.bin';
const CHASSIS_SEQUENCE_FILE_NAME = 'chassis-sequence';

export function writePoweredVmSpec(stateDirectory: string, spec: PoweredVmSpec): void {
  mkdirSync(stateDirectory, { recursive: true });
  const path = join(stateDirectory, SPEC_FILE_NAME);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(spec, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function readPoweredVmSpec(stateDirectory: string): PoweredVmSpec {
  const path = join(stateDirectory, SPEC_FILE_NAME);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the VM spec ${path}: ${(error as Error).message}`);
  }
  const spec = parsed as Partial<PoweredVmSpec>;
  if (typeof spec !== 'object' || spec === null || typeof spec.macAddress !== 'string' || typeof spec.bootDevices !== 'object' || spec.bootDevices === null) {
    throw new Error(`${path} must hold an object with macAddress and bootDevices`);
  }
  return spec as PoweredVmSpec;
}

export function readCurrentVmBoot(stateDirectory: string): CurrentVmBoot | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDirectory, BOOT_FILE_NAME), 'utf8')) as CurrentVmBoot;
  } catch {
    return undefined;
  }
}

function readPid(stateDirectory: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(stateDirectory, QEMU_PID_FILE_NAME), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid file's process, if it is alive and really our QEMU (not a reused pid). */
function runningQemuPid(stateDirectory: string): number | undefined {
  const pid = readPid(stateDirectory);
  if (pid === undefined || !processIsAlive(pid)) return undefined;
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!commandLine.includes('qemu-system') || !commandLine.includes(join(stateDirectory, QEMU_PID_FILE_NAME))) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

function logPowerAction(stateDirectory: string, entry: Record<string, unknown>): void {
  appendFileSync(join(stateDirectory, POWER_LOG_NAME), `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

async function withPowerLock<T>(stateDirectory: string, action: () => Promise<T>): Promise<T> {
  const lockPath = join(stateDirectory, LOCK_FILE_NAME);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8').trim() || '0', 10);
      if (!holder || !processIsAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by pid ${holder} for more than 30 s`);
      await sleep(50);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

export function vmPowerStatus(stateDirectory: string): VmPowerStatus {
  const directory = resolve(stateDirectory);
  const pid = runningQemuPid(directory);
  if (pid === undefined) return { running: false };
  const boot = readCurrentVmBoot(directory);
  return boot?.pid === pid ? { running: true, pid, bootDevice: boot.bootDevice, startedAt: boot.startedAt } : { running: true, pid };
}

async function powerOnLocked(directory: string, bootDevice: VmBootDevice | undefined): Promise<VmPowerStatus & { alreadyRunning: boolean }> {
  const running = runningQemuPid(directory);
  if (running !== undefined) return { ...vmPowerStatus(directory), alreadyRunning: true };
  const spec = readPoweredVmSpec(directory);
  const device = bootDevice ?? spec.defaultBootDevice ?? 'disk';
  const boot = spec.bootDevices[device];
  if (!boot) throw new Error(`${join(directory, SPEC_FILE_NAME)} defines no "${device}" boot device`);
  const serialLogPath = join(directory, SERIAL_LOG_NAME);
  const serconPortPath = join(directory, SERCON_PORT_FILE_NAME);
  const serconPort = Buffer.alloc(8);
  serconPort.writeBigUInt64LE(0x3f8n);
  writeFileSync(serconPortPath, serconPort);
  const serialLogOffset = existsSync(serialLogPath) ? statSync(serialLogPath).size : 0;
  // A UEFI VM keeps its own variable store across power cycles, as a real machine's NVRAM.
  const ovmfVarsPath = spec.firmware === 'uefi' ? ensureOvmfVars(directory) : undefined;
  const args = buildQemuArguments({ ...spec, boot }, spec.macAddress.toLowerCase(), { serialLogPath, serconPortPath, appendSerialLog: true, ...(ovmfVarsPath ? { ovmfVarsPath } : {}) });
  const pid = await startDaemonizedQemu(spec.qemuBinary ?? 'qemu-system-x86_64', args, join(directory, QEMU_PID_FILE_NAME));
  const startedAt = new Date().toISOString();
  const current: CurrentVmBoot = { pid, bootDevice: device, startedAt, serialLogOffset };
  writeFileSync(join(directory, BOOT_FILE_NAME), `${JSON.stringify(current)}\n`);
  logPowerAction(directory, { action: 'power-on', pid, bootDevice: device });
  return { running: true, pid, bootDevice: device, startedAt, alreadyRunning: false };
}

async function powerOffLocked(directory: string): Promise<{ wasRunning: boolean; pid?: number }> {
  const pid = runningQemuPid(directory);
  if (pid === undefined) {
    rmSync(join(directory, QEMU_PID_FILE_NAME), { force: true });
    return { wasRunning: false };
  }
  await stopQemuProcess(pid);
  rmSync(join(directory, QEMU_PID_FILE_NAME), { force: true });
  logPowerAction(directory, { action: 'power-off', pid });
  return { wasRunning: true, pid };
}

/** Starts the VM from bootDevice (default: the spec's default) unless it already runs. */
export function powerOnVm(stateDirectory: string, bootDevice?: VmBootDevice): Promise<VmPowerStatus & { alreadyRunning: boolean }> {
  const directory = resolve(stateDirectory);
  return withPowerLock(directory, () => powerOnLocked(directory, bootDevice));
}

/** Ends the VM's QEMU (hard power-off); nothing to do when it is off. */
export function powerOffVm(stateDirectory: string): Promise<{ wasRunning: boolean; pid?: number }> {
  const directory = resolve(stateDirectory);
  return withPowerLock(directory, () => powerOffLocked(directory));
}

/** Power-off (if on) then power-on from bootDevice: a reset or a power cycle. */
export function resetVm(stateDirectory: string, bootDevice?: VmBootDevice): Promise<VmPowerStatus & { alreadyRunning: boolean }> {
  const directory = resolve(stateDirectory);
  return withPowerLock(directory, async () => {
    await powerOffLocked(directory);
    return powerOnLocked(directory, bootDevice);
  });
}

/** Serial output of the current (or last) boot. */
export function currentBootSerialLog(stateDirectory: string): string {
  const directory = resolve(stateDirectory);
  const offset = readCurrentVmBoot(directory)?.serialLogOffset ?? 0;
  try {
    return readFileSync(join(directory, SERIAL_LOG_NAME)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** ipmi_sim's boot device words (as chassis-control passes them) to ours: pxe → network, the rest → disk. */
export function bootDeviceFromChassis(device: string | undefined): VmBootDevice | undefined {
  if (device === undefined || device === '' || device === 'none') return undefined;
  return device === 'pxe' || device === 'network' ? 'network' : 'disk';
}

export type ChassisPowerAction = 'power-on' | 'reset' | 'power-off' | 'soft-off';

/**
 * A BMC chassis event applied to the VM, in the BMC's order: chassis-control starts one detached hook per event,
 * so a cycle's power-off may arrive after its power-on. An event numbered at or below the last one applied is
 * dropped ("stale"); without a number every event is applied as it comes.
 */
export async function applyChassisEvent(
  stateDirectory: string,
  action: ChassisPowerAction,
  chassisDevice: string | undefined,
  sequence?: number,
): Promise<{ applied: boolean; status: VmPowerStatus }> {
  const directory = resolve(stateDirectory);
  return withPowerLock(directory, async () => {
    const sequencePath = join(directory, CHASSIS_SEQUENCE_FILE_NAME);
    if (sequence !== undefined) {
      const last = Number.parseInt(existsSync(sequencePath) ? readFileSync(sequencePath, 'utf8') : '0', 10) || 0;
      if (sequence <= last) {
        logPowerAction(directory, { action: `${action}-stale`, sequence, last });
        return { applied: false, status: vmPowerStatus(directory) };
      }
      writeFileSync(sequencePath, `${sequence}\n`);
    }
    if (action === 'power-off' || action === 'soft-off') await powerOffLocked(directory);
    else {
      if (action === 'reset') await powerOffLocked(directory);
      await powerOnLocked(directory, bootDeviceFromChassis(chassisDevice));
    }
    return { applied: true, status: vmPowerStatus(directory) };
  });
}
