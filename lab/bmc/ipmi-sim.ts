// A real IPMI-over-LAN BMC for tests: OpenIPMI's ipmi_sim on a free UDP port of 127.0.0.1, its chassis (power
// and one-time boot device) kept in a state file by chassis-control.sh. Fresh state directory per start,
// removed by stop(). A later issue points the chassis hook at QEMU.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmcpPresencePing } from '../../power/drivers/rmcp-ping.js';
import { freeUdpPort } from './ports.js';

export const CHASSIS_CONTROL_PROGRAM = join(dirname(fileURLToPath(import.meta.url)), 'chassis-control.sh');

export interface IpmiSimOptions {
  username?: string;
  password?: string;
  initialPower?: 'on' | 'off';
  /** Run by chassis-control on every power-on, power-off, reset and boot device change (`HOOK action [device]`). */
  chassisHook?: string;
  /** Two system event log entries to read back (a correctable ECC error and an over-temperature). */
  withEventLog?: boolean;
  /** Environment for ipmi_sim and so for the chassis hook (e.g. RESCUED_VM_STATE_DIR). */
  hookEnvironment?: Record<string, string>;
  /**
   * Keep the BMC in this (empty or absent) directory instead of a temporary one, and run ipmi_sim in its own
   * session with its output in DIRECTORY/ipmi_sim.log, so that it outlives this process (the lab CLI's
   * `up`; `stopIpmiSimProcess(pid)` ends it later). stop() then leaves the directory in place.
   */
  persistentDirectory?: string;
  /** Preferred UDP port (default: a free one). */
  port?: number;
}

export interface ChassisState {
  power: 'on' | 'off';
  /** ipmi_sim's words: none | pxe | default (disk) | cdrom | bios. Consumed ("none") by the next boot. */
  bootDevice: string;
  powerStuck: boolean;
}

export interface ChassisEvent {
  at: string;
  action: string;
  bootDevice?: string;
  value?: number;
}

export interface IpmiSimBmc {
  host: '127.0.0.1';
  port: number;
  username: string;
  password: string;
  stateDirectory: string;
  /** ipmi_sim's pid. */
  pid: number;
  readChassis(): ChassisState;
  /** What the chassis did, in order: power-on (with the device it booted from), power-off, reset, ... */
  readEvents(): ChassisEvent[];
  /** A BMC that acknowledges power commands and does nothing. */
  setPowerStuck(stuck: boolean): void;
  stop(): Promise<void>;
}

// popen() hands the chassis_control line to sh: paths go in unquoted, so only plain characters are accepted.
const SHELL_SAFE_PATH = /^[A-Za-z0-9_./-]+$/;

function lanConfig(port: number, username: string, password: string, chassisControl: string): string {
  return [
    'name "rescuedlab"',
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr 127.0.0.1 ${port}`,
    '    priv_limit admin',
    '    allowed_auths_callback md5',
    '    allowed_auths_user md5',
    '    allowed_auths_operator md5',
    '    allowed_auths_admin md5',
    '    guid a123456789abcdefa123456789abcdef',
    '  endlan',
    `  chassis_control "${chassisControl}"`,
    // user 1 is the anonymous user: disabled.
    '  user 1 false "" "unused" user 1 md5',
    `  user 2 true "${username}" "${password}" admin 10 md5`,
    '',
  ].join('\n');
}

function machineDefinition(withEventLog: boolean): string {
  const lines = [
    'mc_setbmc 0x20',
    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02',
    'sel_enable 0x20 100 0x0a',
  ];
  if (withEventLog) {
    // Record type 2; time 1700000000 (LE); generator 0x20; EvM rev 4; sensor type, number; event type; data.
    lines.push('sel_add 0x20 0x02 0x00 0xf1 0x53 0x65 0x20 0x00 0x04 0x0c 0x01 0x6f 0x00 0xff 0xff');
    lines.push('sel_add 0x20 0x02 0x3c 0xf1 0x53 0x65 0x20 0x00 0x04 0x01 0x02 0x01 0x59 0xff 0xff');
  }
  lines.push('mc_enable 0x20', '');
  return lines.join('\n');
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (exited(child)) {
      resolve();
      return;
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForBmc(child: ChildProcess, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child)) return false;
    if (await rmcpPresencePing('127.0.0.1', port, 300, AbortSignal.timeout(1000))) return true;
  }
  return false;
}

export async function startIpmiSim(options: IpmiSimOptions = {}): Promise<IpmiSimBmc> {
  const username = options.username ?? 'rescued';
  const password = options.password ?? 'lab-password-1';
  for (const [name, value] of [['username', username], ['password', password]] as const) {
    if (!/^[A-Za-z0-9_.-]{1,16}$/.test(value)) throw new Error(`ipmi-sim: ${name} must be 1 to 16 plain characters`);
  }
  const persistent = options.persistentDirectory !== undefined;
  const stateDirectory = options.persistentDirectory ?? mkdtempSync(join(tmpdir(), 'rescued-ipmi-sim-'));
  if (persistent) {
    rmSync(join(stateDirectory, 'ipmi_sim'), { recursive: true, force: true });
    mkdirSync(stateDirectory, { recursive: true });
  }
  const removeState = () => {
    if (!persistent) rmSync(stateDirectory, { recursive: true, force: true });
  };
  const chassisFile = join(stateDirectory, 'chassis.json');
  const eventsFile = join(stateDirectory, 'events.jsonl');
  const simDirectory = join(stateDirectory, 'ipmi_sim');
  const lanConfFile = join(stateDirectory, 'lan.conf');
  const emuFile = join(stateDirectory, 'machine.emu');
  const commandParts = ['/bin/sh', CHASSIS_CONTROL_PROGRAM, '--state', chassisFile, '--events', eventsFile];
  if (options.chassisHook) commandParts.push('--hook', options.chassisHook);
  commandParts.push('0x20');
  for (const part of commandParts) {
    if (!SHELL_SAFE_PATH.test(part)) {
      removeState();
      throw new Error(`ipmi-sim: ${part} cannot go on a chassis_control line (ipmi_sim runs it through sh)`);
    }
  }
  writeFileSync(chassisFile, `${JSON.stringify({ power: options.initialPower === 'on' ? 1 : 0, boot: 'none', powerStuck: false })}\n`);
  writeFileSync(eventsFile, '');
  writeFileSync(emuFile, machineDefinition(options.withEventLog ?? false));
  mkdirSync(simDirectory);

  let child: ChildProcess | undefined;
  let port = 0;
  let output = '';
  // The port is free when picked, not necessarily when ipmi_sim binds it: try a few.
  for (let tries = 0; tries < 3 && child === undefined; tries += 1) {
    port = tries === 0 && options.port ? options.port : await freeUdpPort();
    writeFileSync(lanConfFile, lanConfig(port, username, password, commandParts.join(' ')));
    const log = persistent ? openSync(join(stateDirectory, 'ipmi_sim.log'), 'a') : undefined;
    const candidate = spawn('ipmi_sim', ['-n', '-c', lanConfFile, '-f', emuFile, '-s', simDirectory], {
      stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
      cwd: stateDirectory,
      detached: persistent,
      env: { ...process.env, ...options.hookEnvironment },
    });
    if (log !== undefined) closeSync(log);
    if (persistent) candidate.unref();
    candidate.on('error', (error) => {
      output += `\n${error.message}`;
    });
    candidate.stdout?.on('data', (chunk: Buffer) => {
      if (output.length < 10000) output += chunk.toString();
    });
    candidate.stderr?.on('data', (chunk: Buffer) => {
      if (output.length < 10000) output += chunk.toString();
    });
    if (await waitForBmc(candidate, port, 5000)) child = candidate;
    else await stopProcess(candidate);
  }
  if (!child) {
    removeState();
    throw new Error(`ipmi-sim: ipmi_sim did not answer on 127.0.0.1 (is the openipmi package installed?): ${output.trim()}`);
  }
  const running = child;

  const readChassis = (): ChassisState => {
    const raw = JSON.parse(readFileSync(chassisFile, 'utf8')) as { power: number; boot: string; powerStuck?: boolean };
    return { power: raw.power === 1 ? 'on' : 'off', bootDevice: raw.boot, powerStuck: raw.powerStuck === true };
  };

  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    stateDirectory,
    pid: running.pid ?? 0,
    readChassis,
    readEvents: () =>
      readFileSync(eventsFile, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ChassisEvent),
    setPowerStuck(stuck: boolean) {
      const raw = JSON.parse(readFileSync(chassisFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(chassisFile, `${JSON.stringify({ ...raw, powerStuck: stuck })}\n`);
    },
    async stop() {
      await stopProcess(running);
      if (existsSync(stateDirectory)) removeState();
    },
  };
}

/** Ends an ipmi_sim started with persistentDirectory by an earlier process (its pid, checked to be ipmi_sim). */
export async function stopIpmiSimProcess(pid: number, timeoutMs = 3000): Promise<boolean> {
  const isIpmiSim = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('ipmi_sim') === true;
    } catch {
      return false;
    }
  };
  if (!isIpmiSim()) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isIpmiSim() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isIpmiSim()) process.kill(pid, 'SIGKILL');
  return true;
}
