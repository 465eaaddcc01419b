// test-lane: vm (boots QEMU machines through vm-power-command.sh)
// Powering a lab VM from outside this process, as a BMC simulator's chassis control does: lab/vm/vm-power-command.sh
// start|stop|status on a state directory, QEMU fully detached (a caller reading our stdout to its end, as popen()
// does, is not held up), and the chassis-control hook form with RESCUED_VM_STATE_DIR.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { ensureLabBootImages, type LabBootImages } from '../../lab/vm/initramfs.js';
import { currentBootSerialLog, powerOffVm, vmPowerStatus, writePoweredVmSpec } from '../../lab/vm/vm-power.js';
import { processIsAlive } from '../../lab/vm/qemu.js';
import { PROJECT_ROOT } from '../../lab/vm/paths.js';

const POWER_VM = join(PROJECT_ROOT, 'lab', 'vm', 'vm-power-command.sh');

interface ProcessOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Like popen(): waits for the end of stdout/stderr, not just for the exit. */
function powerVm(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(POWER_VM, args, { timeout: 20_000, encoding: 'utf8', cwd: tmpdir(), env }, (error, stdout, stderr) => {
      const code = error ? (error as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      if (error && typeof code !== 'number') reject(new Error(`vm-power-command.sh ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ exitCode: typeof code === 'number' ? code : 0, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('lab vm power from outside', { timeout: 120_000 }, () => {
  let images: LabBootImages;
  let stateDirectory: string;

  before(async () => {
    images = await ensureLabBootImages();
    stateDirectory = mkdtempSync(join(tmpdir(), 'rescued-power-vm-'));
    // Network boot points at a port where nothing listens: iPXE keeps trying, the VM stays on until stopped.
    const deadPort = await freePort();
    writePoweredVmSpec(stateDirectory, {
      macAddress: '52:54:00:7e:57:01',
      memoryMiB: 256,
      defaultBootDevice: 'disk',
      bootDevices: {
        network: { kind: 'network', bootFileUrl: `http://10.0.2.2:${deadPort}/boot.ipxe` },
        disk: {
          kind: 'kernel',
          kernelPath: images.kernel.vmlinuzPath,
          initrdPath: images.marker.path,
          kernelArguments: 'console=ttyS0 rescued.marker=installed-os',
        },
      },
    });
  });

  after(async () => {
    if (!stateDirectory) return;
    await powerOffVm(stateDirectory).catch(() => undefined);
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  test('start, status and stop a detached VM by its state directory', async () => {
    assert.equal((await powerVm(['status', stateDirectory])).exitCode, 3, 'status of a VM never started: stopped (exit 3)');

    const started = await powerVm(['start', stateDirectory, 'network']);
    assert.equal(started.exitCode, 0, started.stderr);
    const pid = Number(/^started (\d+) network$/m.exec(started.stdout)?.[1]);
    assert.ok(pid > 0, `start prints the pid: ${started.stdout}`);
    assert.ok(started.elapsedMs < 10_000, `start returns once QEMU runs, with its output closed (${started.elapsedMs} ms)`);

    const status = await powerVm(['status', stateDirectory]);
    assert.equal(status.exitCode, 0);
    assert.equal(status.stdout.trim(), `running ${pid} network`);
    assert.equal((await powerVm(['start', stateDirectory])).stdout.trim(), `already running ${pid} network`);
    await waitFor(() => /boot\.ipxe/.test(currentBootSerialLog(stateDirectory)), 30_000, 'iPXE trying the bootfile, on the serial console');

    const stopped = await powerVm(['stop', stateDirectory]);
    assert.equal(stopped.stdout.trim(), 'stopped');
    assert.equal(processIsAlive(pid), false, 'QEMU is gone after stop');
    assert.equal((await powerVm(['status', stateDirectory])).exitCode, 3);
    assert.equal((await powerVm(['stop', stateDirectory])).stdout.trim(), 'already stopped');
  });

  test('the chassis-control hook form powers on from the disk and the guest powers itself off', async () => {
    const env = { ...process.env, RESCUED_VM_STATE_DIR: stateDirectory };
    const poweredOn = await powerVm(['power-on', 'default'], env);
    assert.equal(poweredOn.exitCode, 0, poweredOn.stderr);
    assert.match(poweredOn.stdout, /^started \d+ disk$/m);
    await waitFor(() => /RESCUED-LAB-MARKER installed-os/.test(currentBootSerialLog(stateDirectory)), 60_000, 'marker of the disk boot');
    await waitFor(() => !vmPowerStatus(stateDirectory).running, 30_000, 'guest power-off');
    assert.doesNotMatch(currentBootSerialLog(stateDirectory), /boot\.ipxe/, "this boot's log starts after the previous (network) boot");
    assert.equal((await powerVm(['hook', stateDirectory, 'boot-device', 'pxe'])).exitCode, 0, 'boot-device changes need no action');
  });
});
