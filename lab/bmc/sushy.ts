// A Redfish BMC for tests: sushy-tools' emulator (the one OpenStack Ironic's CI uses) with its fake systems
// driver (no libvirt), on a free TCP port of 127.0.0.1, over HTTPS with a self-signed certificate and HTTP
// basic auth. Installed in .tools/venv by scripts/setup/power-lab.sh. Fresh state directory per start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from './ports.js';
import { createSelfSignedCertificate } from './self-signed.js';

export const TOOLS_VENV = resolve(dirname(fileURLToPath(import.meta.url)), '../../.tools/venv');
export const SUSHY_EMULATOR = join(TOOLS_VENV, 'bin/sushy-emulator');

export interface SushyOptions {
  username?: string;
  password?: string;
  initialPower?: 'On' | 'Off';
}

export interface SushyBmc {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  username: string;
  password: string;
  /** The emulator's self-signed certificate (PEM), to test options.ca_file. */
  certificatePath: string;
  systemId: string;
  stateDirectory: string;
  stop(): Promise<void>;
}

export const SUSHY_SYSTEM_ID = '27946b59-9e44-4fa7-8e91-f3527a1ef094';

function bcryptHash(password: string): string {
  // The auth file takes bcrypt only; the venv has the bcrypt module sushy-tools depends on.
  return execFileSync(
    join(TOOLS_VENV, 'bin/python'),
    ['-c', 'import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(4)).decode())'],
    { input: password, encoding: 'utf8' },
  ).trim();
}

function pythonString(value: string): string {
  return JSON.stringify(value);
}

function answersHttps(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path: '/redfish/v1/', rejectUnauthorized: false, timeout: 1000, agent: false },
      (incoming) => {
        incoming.resume();
        resolveAnswer(incoming.statusCode === 200);
      },
    );
    outgoing.on('error', () => resolveAnswer(false));
    outgoing.on('timeout', () => outgoing.destroy());
    outgoing.end();
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveStop();
      return;
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

export async function startSushyEmulator(options: SushyOptions = {}): Promise<SushyBmc> {
  if (!existsSync(SUSHY_EMULATOR)) {
    throw new Error(`sushy-emulator not found at ${SUSHY_EMULATOR}: run scripts/setup/power-lab.sh`);
  }
  const username = options.username ?? 'rescued';
  const password = options.password ?? 'lab-password-1';
  const stateDirectory = mkdtempSync(join(tmpdir(), 'rescued-sushy-'));
  let child: ChildProcess | undefined;
  let output = '';
  try {
    const { certificatePath, keyPath } = createSelfSignedCertificate(stateDirectory);
    const authFile = join(stateDirectory, 'htpasswd');
    writeFileSync(authFile, `${username}:${bcryptHash(password)}\n`);
    const port = await freeTcpPort();
    const configFile = join(stateDirectory, 'emulator.conf');
    writeFileSync(
      configFile,
      [
        `SUSHY_EMULATOR_LISTEN_IP = ${pythonString('127.0.0.1')}`,
        `SUSHY_EMULATOR_LISTEN_PORT = ${port}`,
        `SUSHY_EMULATOR_SSL_CERT = ${pythonString(certificatePath)}`,
        `SUSHY_EMULATOR_SSL_KEY = ${pythonString(keyPath)}`,
        `SUSHY_EMULATOR_AUTH_FILE = ${pythonString(authFile)}`,
        `SUSHY_EMULATOR_STATE_DIR = ${pythonString(join(stateDirectory, 'state'))}`,
        'SUSHY_EMULATOR_FAKE_DRIVER = True',
        'SUSHY_EMULATOR_FAKE_SYSTEMS = [{',
        `    "uuid": ${pythonString(SUSHY_SYSTEM_ID)},`,
        '    "name": "fake",',
        `    "power_state": ${pythonString(options.initialPower ?? 'Off')},`,
        '    "external_notifier": False,',
        '    "nics": [{"mac": "52:54:00:12:34:56", "ip": "10.0.2.15"}],',
        '}]',
        '',
      ].join('\n'),
    );
    const started = spawn(SUSHY_EMULATOR, ['--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], cwd: stateDirectory });
    child = started;
    const collect = (chunk: Buffer): void => {
      if (output.length < 20000) output += chunk.toString();
    };
    started.stdout?.on('data', collect);
    started.stderr?.on('data', collect);
    started.on('error', (error) => collect(Buffer.from(error.message)));
    const deadline = Date.now() + 20000;
    while (!(await answersHttps(port))) {
      if (started.exitCode !== null || Date.now() > deadline) {
        throw new Error(`sushy-emulator did not answer on https://127.0.0.1:${port}: ${output.trim().slice(-2000)}`);
      }
      await new Promise((wait) => setTimeout(wait, 200));
    }
    return {
      url: `https://127.0.0.1:${port}`,
      port,
      username,
      password,
      certificatePath,
      systemId: SUSHY_SYSTEM_ID,
      stateDirectory,
      async stop() {
        await stopProcess(started);
        rmSync(stateDirectory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child) await stopProcess(child);
    rmSync(stateDirectory, { recursive: true, force: true });
    throw error;
  }
}
