// The server needs no root: as an unprivileged user given only CAP_NET_BIND_SERVICE (what systemd's
// AmbientCapabilities= or `setcap cap_net_bind_service=+ep` on node give it), TFTP serves on port 69; without
// the capability, the start fails with one line saying what to do. Runs the process with util-linux setpriv,
// as user nobody, on a loopback address of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../support/tftp-process.ts', import.meta.url));
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Why this test cannot run here, or false: it needs root (to become nobody) and a checkout nobody can read. */
async function cannotRun(): Promise<string | false> {
  if (!isRoot) return 'needs root to switch to nobody';
  try {
    await execFileAsync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', process.execPath, '-e', `require('node:fs').accessSync(${JSON.stringify(SCRIPT)})`]);
    return false;
  } catch {
    return 'this checkout is not readable by user nobody (a private parent folder)';
  }
}

async function startAsNobody(dataDir: string, host: string, capabilities: boolean): Promise<{ line: string; stop(): Promise<void> }> {
  const setpriv = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', ...(capabilities ? ['--inh-caps=+net_bind_service', '--ambient-caps=+net_bind_service'] : []), '--'];
  const child = spawn('setpriv', [...setpriv, process.execPath, '--import', 'tsx', SCRIPT], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { PATH: process.env['PATH'] ?? '', HOME: dataDir, TMPDIR: dataDir, RESCUED_DATA_DIR: dataDir, RESCUED_TFTP_PORT: '69', RESCUED_TFTP_HOST: host, RESCUED_SECRET_KEY: 'a'.repeat(64) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const line = await Promise.race([
    new Promise<string>((resolve) => {
      const check = setInterval(() => {
        const found = /^(listening .*|could not start: .*)$/m.exec(output);
        if (found) {
          clearInterval(check);
          resolve(found[1]!);
        }
      }, 50);
      void exited.then(() => {
        clearInterval(check);
        resolve(`exited: ${output}`);
      });
    }),
    new Promise<string>((resolve) => setTimeout(() => resolve(`no answer in 60 s: ${output}`), 60_000)),
  ]);
  return {
    line,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

test('TFTP on port 69 as nobody with CAP_NET_BIND_SERVICE; without it, a clear one-line refusal', { skip: await cannotRun() }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'rescued-unprivileged-'));
  const host = `127.69.${process.pid % 250}.${1 + (Date.now() % 250)}`;
  try {
    await mkdir(join(dataDir, 'tftpboot'), { recursive: true });
    await writeFile(join(dataDir, 'tftpboot', 'hello.txt'), 'served without root\n');
    for (const path of [dataDir, join(dataDir, 'tftpboot'), join(dataDir, 'tftpboot', 'hello.txt')]) await chown(path, NOBODY, NOBODY);

    const refused = await startAsNobody(dataDir, host, false);
    await refused.stop();
    assert.match(refused.line, /^could not start: TFTP cannot bind 127\.69\.[\d.]+:69 \(EACCES\): a port below 1024 needs CAP_NET_BIND_SERVICE \(setcap cap_net_bind_service=\+ep/);

    const server = await startAsNobody(dataDir, host, true);
    try {
      assert.match(server.line, new RegExp(`^listening ${host.replaceAll('.', '\\.')}:69 as uid ${NOBODY}$`));
      const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '10', `tftp://${host}:69/hello.txt`], { encoding: 'utf8' });
      assert.equal(stdout, 'served without root\n');
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
