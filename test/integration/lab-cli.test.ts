// test-lane: vm (boots QEMU machines of the virtual lab)
// `npm run lab` across invocations, as a user runs it against a rescued: up registers the machines through the
// API and starts their BMCs, status reads the lab directory, break damages a disk through the machine's BMC
// (power off, damage, power on: it boots broken by itself), down stops every process up started, twice over.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { processIsAlive } from '../../lab/vm/qemu.js';
import { readLabState } from '../../lab/fleet/lab-state.js';
import { labDown, type LabMachineStatus } from '../../lab/fleet/virtual-lab.js';
import { PROJECT_ROOT } from '../../lab/vm/paths.js';

function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/main.ts', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

describe('npm run lab', { timeout: 300_000 }, () => {
  let api: TestApi;
  let directory: string;
  let common: string[];

  before(async () => {
    api = await startTestApi(testDatabases()[0]!);
    directory = await mkdtemp(join(tmpdir(), 'rescued-lab-cli-'));
    common = ['--dir', directory, '--server', api.url, '--token', api.adminToken];
  });
  after(async () => {
    if (directory) await labDown(directory);
    await api?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  test('up, status, break, down, down', async () => {
    const up = await lab([...common, 'up', '--machines', '1', '--tftp-root', api.tftpRoot, '--tftp-port', '6969', '--no-power-on']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /lab01 registered: MAC 52:54:00:/);
    const system = (await api.request('GET', '/api/v1/systems/lab01')).body;
    assert.equal(system.labels['rescued.verify'], `ssh:127.0.0.1:${readLabState(directory)!.machines[0]!.sshHostPort}`);
    assert.equal(system.power[0].type, 'ipmi');
    assert.equal(system.power[0].passwordSet, true);
    assert.equal((await api.request('GET', '/api/v1/rescue-environments/lab-silent')).status, 200);

    const again = await lab([...common, 'up', '--machines', '1', '--tftp-root', api.tftpRoot, '--tftp-port', '6969']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already up .*npm run lab -- down/);

    const status = JSON.parse((await lab([...common, 'status', '--json'])).stdout) as LabMachineStatus[];
    assert.deepEqual(status.map((m) => [m.name, m.vm, m.bmcRunning, m.chassisPower]), [['lab01', 'off', true, 'off']]);

    const wrong = await lab([...common, 'break', 'lab01', 'gremlins']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /unknown fault "gremlins": use one of superblock, fstab, kernel-gone, no-phone-home/);

    const broken = await lab([...common, 'break', 'lab01', 'fstab']);
    assert.equal(broken.code, 0, broken.stderr);
    assert.match(broken.stdout, /lab01: \/etc\/fstab mounts \/ by UUID=/);
    const running = JSON.parse((await lab([...common, 'status', '--json'])).stdout) as LabMachineStatus[];
    assert.equal(running[0]!.vm, 'running', 'powered on through its BMC after the damage');
    assert.equal(running[0]!.chassisPower, 'on');
    assert.deepEqual(running[0]!.faults, ['fstab']);

    const pids = [running[0]!.vmPid!, readLabState(directory)!.machines[0]!.bmc.pid];
    const down = await lab([...common, 'down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped lab01: ipmi_sim pid \d+\nstopped lab01: QEMU pid \d+/);
    for (const pid of pids) assert.equal(processIsAlive(pid), false, `pid ${pid} is gone`);
    const downAgain = await lab([...common, 'down']);
    assert.equal(downAgain.stdout.trim(), 'nothing to stop');
  });
});
