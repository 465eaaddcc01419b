// A QEMU machine for the lab: x86_64 under TCG (no KVM here), virtio-net on QEMU's user-mode network (the host
// is 10.0.2.2 to the guest; SSH reached through hostfwd on 127.0.0.1), optional virtio-blk disks, and the
// serial console in a file. Boots a kernel+initrd directly, from the network with QEMU's iPXE ROM (`-boot n`,
// the DHCP bootfile from `bootfile=`), or from its first disk. Firmware: SeaBIOS (default) or UEFI, which is
// OVMF (Debian's ovmf: OVMF_CODE.fd read-only plus a per-VM copy of OVMF_VARS.fd, both as pflash) with iPXE's EFI
// driver ROM for the NIC (ipxe-qemu's efi-virtio.rom), so a UEFI machine network-boots through iPXE too.
//
// Two ways to run it:
//   attached (default): a child process of this one; stop() ends it.
//   detached: `-daemonize` (QEMU does setsid and points stdin/stdout/stderr at /dev/null) with a pid file, so a
//   parent that reads our output through popen() (ipmi_sim's chassis_control) never waits for QEMU.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type LabVmBoot =
  /** Direct boot: QEMU loads the kernel and initrd itself (fastest). */
  | { kind: 'kernel'; kernelPath: string; initrdPath: string; kernelArguments: string }
  /**
   * Network boot through the NIC's iPXE ROM, then the first disk; bootFileUrl is handed out by QEMU's DHCP (http://
   * or tftp://). BIOS: once (a reboot in the guest boots the disk); UEFI: every boot (OVMF's order is fixed).
   */
  | { kind: 'network'; bootFileUrl: string }
  /** Boot from the first disk through the firmware (SeaBIOS: its MBR; OVMF: EFI/BOOT/BOOTX64.EFI on its ESP). */
  | { kind: 'disk' };

/** bios: SeaBIOS with iPXE's PXE ROM; uefi: OVMF with iPXE's EFI driver ROM. */
export type LabVmFirmware = 'bios' | 'uefi';

/** Debian's ovmf package: the firmware code (read-only) and the template of its variable store. */
export const OVMF_CODE_PATH = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS_TEMPLATE_PATH = '/usr/share/OVMF/OVMF_VARS.fd';
/** ipxe-qemu's virtio-net ROM with the EFI driver (the BIOS-only one is pxe-virtio.rom). */
export const IPXE_EFI_VIRTIO_ROM_PATH = '/usr/lib/ipxe/qemu/efi-virtio.rom';
/** The per-VM copy of OVMF_VARS.fd in the state directory (UEFI keeps its boot entries there). */
export const OVMF_VARS_FILE_NAME = 'ovmf-vars.fd';

export interface LabVmDisk {
  /** Image file; attached as /dev/vda, /dev/vdb, ... in order. */
  path: string;
  format?: 'raw' | 'qcow2';
  readOnly?: boolean;
  /** Writes go to a temporary overlay and are dropped when QEMU exits. */
  snapshot?: boolean;
}

export interface LabVmHostForward {
  hostPort: number;
  guestPort: number;
}

/** Everything that makes up the machine; JSON-plain, so it can be written to a state directory. */
export interface LabVmSpec {
  boot: LabVmBoot;
  /** Default bios. */
  firmware?: LabVmFirmware;
  /** Default 384. */
  memoryMiB?: number;
  /** 52:54:00:xx:xx:xx; default a random one. */
  macAddress?: string;
  /** Forwards 127.0.0.1:sshHostPort to the guest's port 22. */
  sshHostPort?: number;
  hostForwards?: LabVmHostForward[];
  disks?: LabVmDisk[];
  /** A virtio-rng device so the guest has entropy at once (default true). */
  withRng?: boolean;
  /** Default qemu-system-x86_64. */
  qemuBinary?: string;
  extraQemuArguments?: string[];
}

export interface StartLabVmOptions extends LabVmSpec {
  /** Where the serial log, pid file and fw_cfg file go. Default: a new temporary directory, removed by stop(). */
  stateDirectory?: string;
  /** Start fully detached (see the file comment). */
  detached?: boolean;
  /** Append to an existing serial log instead of starting it afresh (default false). */
  appendSerialLog?: boolean;
}

export interface LabVm {
  readonly pid: number;
  readonly macAddress: string;
  readonly sshHostPort: number | undefined;
  readonly stateDirectory: string;
  readonly serialLogPath: string;
  /** Resolves with the first match of pattern in this boot's serial output; rejects on timeout or QEMU exit. */
  waitForSerial(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** This boot's serial output so far (iPXE's too, through the sercon-port trick). */
  serialLog(): string;
  isRunning(): boolean;
  /** Resolves when QEMU has exited (e.g. the guest powered off); rejects after timeoutMs. */
  waitForExit(timeoutMs: number): Promise<void>;
  /** Ends QEMU (SIGTERM, then SIGKILL after 5 s) and waits for it; removes a state directory it created. Idempotent. */
  stop(): Promise<void>;
}

export const SERIAL_LOG_NAME = 'serial.log';
export const QEMU_PID_FILE_NAME = 'qemu.pid';
const SERCON_PORT_FILE_NAME = 'sercon-port.bin';
const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A random locally administered MAC in QEMU's 52:54:00 range. */
export function randomLabMacAddress(): string {
  return `52:54:00:${[...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, '0')).join(':')}`;
}

/** QEMU's option parser splits on commas; a literal comma is written twice. */
function qemuOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

function validatePort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${what} is not a TCP port: ${port}`);
}

export interface QemuFiles {
  serialLogPath: string;
  serconPortPath: string;
  appendSerialLog: boolean;
  /** UEFI only: this VM's writable copy of OVMF_VARS.fd (ensureOvmfVars makes it). */
  ovmfVarsPath?: string;
}

/** Copies OVMF_VARS.fd to STATE_DIR/ovmf-vars.fd unless this VM has its own already; returns the path. */
export function ensureOvmfVars(stateDirectory: string): string {
  const path = join(stateDirectory, OVMF_VARS_FILE_NAME);
  if (!existsSync(path)) {
    for (const required of [OVMF_CODE_PATH, OVMF_VARS_TEMPLATE_PATH]) {
      if (!existsSync(required)) throw new Error(`${required} is missing: install the Debian package ovmf (scripts/setup/vm-lab.sh)`);
    }
    copyFileSync(OVMF_VARS_TEMPLATE_PATH, path);
  }
  return path;
}

/** The qemu-system-x86_64 argument array for a spec (without the binary itself). */
export function buildQemuArguments(spec: LabVmSpec, macAddress: string, files: QemuFiles): string[] {
  if (!MAC_PATTERN.test(macAddress)) throw new Error(`MAC address must look like 52:54:00:12:34:56: ${JSON.stringify(macAddress)}`);
  const memoryMiB = spec.memoryMiB ?? 384;
  const firmware = spec.firmware ?? 'bios';
  if (firmware !== 'bios' && firmware !== 'uefi') throw new Error(`firmware must be "bios" or "uefi": ${JSON.stringify(firmware)}`);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 64) throw new Error(`memoryMiB must be an integer >= 64: ${memoryMiB}`);

  const netdev = ['user', 'id=n0'];
  const forwards = [...(spec.hostForwards ?? [])];
  if (spec.sshHostPort !== undefined) forwards.push({ hostPort: spec.sshHostPort, guestPort: 22 });
  for (const forward of forwards) {
    validatePort(forward.hostPort, 'hostPort');
    validatePort(forward.guestPort, 'guestPort');
    netdev.push(`hostfwd=tcp:127.0.0.1:${forward.hostPort}-:${forward.guestPort}`);
  }
  if (spec.boot.kind === 'network') {
    if (!/^(https?|tftp):\/\/\S+$/.test(spec.boot.bootFileUrl)) {
      throw new Error(`bootFileUrl must be an http://, https:// or tftp:// URL: ${JSON.stringify(spec.boot.bootFileUrl)}`);
    }
    netdev.push(`bootfile=${qemuOptionValue(spec.boot.bootFileUrl)}`);
  }

  const args = [
    '-name', 'rescued-lab',
    '-machine', 'pc',
    '-accel', 'tcg',
    '-smp', '1',
    '-m', String(memoryMiB),
    '-nodefaults',
    '-display', 'none',
    '-chardev', `file,id=serial0,path=${qemuOptionValue(files.serialLogPath)}${files.appendSerialLog ? ',append=on' : ''}`,
    '-serial', 'chardev:serial0',
    // iPXE prints to the serial port only when fw_cfg tells it which one.
    '-fw_cfg', `name=etc/sercon-port,file=${qemuOptionValue(files.serconPortPath)}`,
    '-netdev', netdev.join(','),
  ];
  // OVMF boots what fw_cfg's bootorder (from bootindex) names first, so the boot device gets bootindex=0.
  const nic = [`virtio-net-pci,netdev=n0,mac=${macAddress}`];
  if (firmware === 'uefi') {
    if (!files.ovmfVarsPath) throw new Error('a UEFI VM needs its own OVMF_VARS copy (QemuFiles.ovmfVarsPath; ensureOvmfVars makes it)');
    if (!existsSync(IPXE_EFI_VIRTIO_ROM_PATH)) throw new Error(`${IPXE_EFI_VIRTIO_ROM_PATH} is missing: install the Debian package ipxe-qemu`);
    args.push(
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(OVMF_CODE_PATH)}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptionValue(files.ovmfVarsPath)}`,
    );
    nic.push(`romfile=${qemuOptionValue(IPXE_EFI_VIRTIO_ROM_PATH)}`);
    if (spec.boot.kind === 'network') nic.push('bootindex=0');
  }
  args.push('-device', nic.join(','));
  if (spec.withRng ?? true) args.push('-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0');
  (spec.disks ?? []).forEach((disk, index) => {
    if (!existsSync(disk.path)) throw new Error(`disk image not found: ${disk.path}`);
    const drive = [
      `file=${qemuOptionValue(resolve(disk.path))}`,
      `format=${disk.format ?? 'raw'}`,
      'if=none',
      `id=disk${index}`,
      'cache=unsafe',
    ];
    if (disk.readOnly) drive.push('readonly=on');
    if (disk.snapshot) drive.push('snapshot=on');
    const device = [`virtio-blk-pci,drive=disk${index},serial=lab-disk-${index}`];
    // UEFI: OVMF's boot order comes from bootindex alone; the disk is first, or second after the network.
    if (firmware === 'uefi' && index === 0) device.push(spec.boot.kind === 'disk' ? 'bootindex=0' : 'bootindex=1');
    args.push('-drive', drive.join(','), '-device', device.join(','));
  });
  switch (spec.boot.kind) {
    case 'kernel':
      for (const path of [spec.boot.kernelPath, spec.boot.initrdPath]) if (!existsSync(path)) throw new Error(`boot file not found: ${path}`);
      args.push('-kernel', spec.boot.kernelPath, '-initrd', spec.boot.initrdPath, '-append', spec.boot.kernelArguments);
      break;
    case 'network':
      // A one-time network boot, as IPMI's `chassis bootdev pxe` is: this power-on boots the network (SeaBIOS
      // falls through to the disk when the network boot exits, e.g. rescued's "boot from local disk" script), and
      // a reboot inside the guest (an installer's, at its end) boots the disk (QEMU restores order=c on reset).
      args.push('-boot', 'once=n,order=c');
      break;
    case 'disk':
      args.push('-boot', 'order=c');
      break;
  }
  args.push(...(spec.extraQemuArguments ?? []));
  return args;
}

function writeSerconPortFile(path: string): void {
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(0x3f8n);
  writeFileSync(path, value);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readFrom(path: string, offset: number): string {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    const read = readSync(descriptor, buffer, 0, buffer.length, offset);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(descriptor);
  }
}

/** True while a process exists and is not a zombie. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}

interface ProcessHandle {
  pid: number;
  isRunning(): boolean;
  describeExit(): string;
  signal(signal: NodeJS.Signals): void;
}

// Attached QEMUs still running; killed if this process exits without stopping them (a crashed test, say).
const attachedChildren = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function killAttachedChildrenOnExit(): void {
  for (const child of attachedChildren) child.kill('SIGKILL');
}

function attachedHandle(child: ChildProcess, stderrTail: () => string): ProcessHandle {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  attachedChildren.add(child);
  if (!exitHandlerInstalled) {
    process.once('exit', killAttachedChildrenOnExit);
    exitHandlerInstalled = true;
  }
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    attachedChildren.delete(child);
  });
  return {
    pid: child.pid ?? -1,
    isRunning: () => exit === undefined,
    describeExit: () => {
      const how = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : 'unknown';
      const stderr = stderrTail().trim();
      return `QEMU exited (${how})${stderr ? `; stderr: ${lastLines(stderr, 10)}` : ''}`;
    },
    signal: (signal) => {
      if (exit === undefined) child.kill(signal);
    },
  };
}

function detachedHandle(pid: number): ProcessHandle {
  return {
    pid,
    isRunning: () => processIsAlive(pid),
    describeExit: () => `QEMU (pid ${pid}, detached) exited`,
    signal: (signal) => {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
  };
}

/** Sends SIGTERM, waits up to graceMs, then SIGKILL and waits again. */
async function terminate(handle: ProcessHandle, graceMs = 5000): Promise<void> {
  if (!handle.isRunning()) return;
  handle.signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (handle.isRunning() && Date.now() < deadline) await sleep(50);
  if (!handle.isRunning()) return;
  handle.signal('SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (handle.isRunning() && Date.now() < killDeadline) await sleep(50);
  if (handle.isRunning()) throw new Error(`QEMU pid ${handle.pid} survived SIGKILL`);
}

/** Runs `qemu ... -daemonize -pidfile PIDFILE` and returns the daemon's pid once QEMU has initialised. */
export async function startDaemonizedQemu(qemuBinary: string, args: string[], pidFilePath: string): Promise<number> {
  rmSync(pidFilePath, { force: true });
  const child = spawn(qemuBinary, [...args, '-daemonize', '-pidfile', pidFilePath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-16384);
  });
  // 'exit', not 'close': the daemon must not be able to hold us up through an inherited pipe.
  const exitCode = await new Promise<number>((resolvePromise, rejectPromise) => {
    child.once('error', (error) => rejectPromise(new Error(`cannot run ${qemuBinary}: ${error.message}`)));
    child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
  child.stderr?.destroy();
  if (exitCode !== 0) throw new Error(`${qemuBinary} -daemonize failed (exit ${exitCode}): ${stderr.trim()}`);
  const pid = Number.parseInt(readFileSync(pidFilePath, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`QEMU wrote no pid to ${pidFilePath}`);
  return pid;
}

/** Starts a lab VM and resolves once QEMU runs (not when the guest has booted: use waitForSerial for that). */
export async function startLabVm(options: StartLabVmOptions): Promise<LabVm> {
  const createdStateDirectory = options.stateDirectory === undefined;
  const stateDirectory = options.stateDirectory ? resolve(options.stateDirectory) : mkdtempSync(join(tmpdir(), 'rescued-vm-'));
  mkdirSync(stateDirectory, { recursive: true });
  const cleanUpStateDirectory = (): void => {
    if (createdStateDirectory) rmSync(stateDirectory, { recursive: true, force: true });
  };

  let handle: ProcessHandle;
  const macAddress = (options.macAddress ?? randomLabMacAddress()).toLowerCase();
  const serialLogPath = join(stateDirectory, SERIAL_LOG_NAME);
  const serconPortPath = join(stateDirectory, SERCON_PORT_FILE_NAME);
  const appendSerialLog = options.appendSerialLog ?? false;
  const serialOffset = appendSerialLog ? fileSize(serialLogPath) : 0;
  const qemuBinary = options.qemuBinary ?? 'qemu-system-x86_64';
  try {
    writeSerconPortFile(serconPortPath);
    if (!appendSerialLog) writeFileSync(serialLogPath, '');
    const ovmfVarsPath = options.firmware === 'uefi' ? ensureOvmfVars(stateDirectory) : undefined;
    const args = buildQemuArguments(options, macAddress, { serialLogPath, serconPortPath, appendSerialLog: true, ...(ovmfVarsPath ? { ovmfVarsPath } : {}) });
    if (options.detached) {
      handle = detachedHandle(await startDaemonizedQemu(qemuBinary, args, join(stateDirectory, QEMU_PID_FILE_NAME)));
    } else {
      const child = spawn(qemuBinary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-16384);
      });
      await new Promise<void>((resolvePromise, rejectPromise) => {
        child.once('spawn', () => resolvePromise());
        child.once('error', (error) => rejectPromise(new Error(`cannot run ${qemuBinary}: ${error.message}`)));
      });
      handle = attachedHandle(child, () => stderr);
      writeFileSync(join(stateDirectory, QEMU_PID_FILE_NAME), `${child.pid}\n`);
      // QEMU refuses bad options at once: give it a moment so that such errors surface here, not as a timeout.
      await sleep(150);
      if (!handle.isRunning()) throw new Error(`${qemuBinary} ${args.join(' ')}\n${handle.describeExit()}`);
    }
  } catch (error) {
    cleanUpStateDirectory();
    throw error;
  }

  let stopped = false;
  const vmHandle = handle;
  const serialLog = (): string => readFrom(serialLogPath, serialOffset);
  const vm: LabVm = {
    pid: vmHandle.pid,
    macAddress,
    sshHostPort: options.sshHostPort,
    stateDirectory,
    serialLogPath,
    serialLog,
    isRunning: () => vmHandle.isRunning(),
    async waitForSerial(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const running = vmHandle.isRunning();
        const log = serialLog();
        const match = log.match(pattern);
        if (match) return match;
        if (!running) {
          throw new Error(`${vmHandle.describeExit()} before the serial console showed ${pattern}; last lines:\n${lastLines(log, 25)}`);
        }
        if (stopped) throw new Error(`VM stopped while waiting for ${pattern}`);
        if (Date.now() >= deadline) {
          throw new Error(`no ${pattern} on the serial console within ${timeoutMs} ms; last lines:\n${lastLines(log, 25)}`);
        }
        await sleep(100);
      }
    },
    async waitForExit(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (vmHandle.isRunning()) {
        if (Date.now() >= deadline) throw new Error(`QEMU pid ${vmHandle.pid} still running after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      stopped = true;
      try {
        await terminate(vmHandle);
      } finally {
        rmSync(join(stateDirectory, QEMU_PID_FILE_NAME), { force: true });
        cleanUpStateDirectory();
      }
    },
  };
  return vm;
}

/** Ends a QEMU process that is not our child (SIGTERM, then SIGKILL) and waits until it is gone. */
export function stopQemuProcess(pid: number, graceMs = 5000): Promise<void> {
  return terminate(detachedHandle(pid), graceMs);
}
