// The whole rescue on a virtual machine, nothing simulated but the hardware: QEMU stands in for the
// server (its power follows an ipmi_sim BMC's chassis events), iPXE network-boots it from our TFTP and HTTP
// into the rescue image from lab/images, which phones home with its dropbear host key; diagnose and repair
// run over SSH in busybox against the VM's broken /dev/vda; restore boots it from "disk".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRescueLab, type RescueLab } from '../support/rescue-lab.js';
import { freePort } from '../support/ports.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';
import { ensureLabBootImages } from '../../lab/vm/initramfs.js';
import { randomLabMacAddress } from '../../lab/vm/qemu.js';
import { powerOffVm, powerOnVm, vmPowerStatus, writePoweredVmSpec } from '../../lab/vm/vm-power.js';
import { checkDiskImage, createBrokenLabDisk } from '../../lab/vm/disks.js';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import type { RescueResult } from '../../workflows/rescue.js';

describe('a full rescue of a QEMU machine', () => {
  let lab: RescueLab;
  let tftp: TftpServer;
  let bmc: IpmiSimBmc;
  let work: string;
  let stateDirectory: string;
  let follower: NodeJS.Timeout | undefined;
  let following = Promise.resolve();
  const mac = randomLabMacAddress();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rescue-vm-'));
    stateDirectory = join(work, 'vm');
    lab = await startRescueLab(createSshRescueShell());
    await lab.startWorker();
    lab.api.netboot.urls.httpBase = lab.api.url.replace('127.0.0.1', '10.0.2.2');
    const images = await ensureLabBootImages();
    await mkdir(join(lab.api.tftpRoot, 'lab'), { recursive: true });
    await copyFile(images.kernel.vmlinuzPath, join(lab.api.tftpRoot, 'lab', 'vmlinuz'));
    await copyFile(images.rescue.path, join(lab.api.tftpRoot, 'lab', 'rescue.cpio.gz'));
    tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(lab.api.netboot.service, lab.api.netboot.urls), createDiskFileProvider(lab.api.tftpRoot)] });
    const tftpPort = (await tftp.listen()).port;
    const disk = await createBrokenLabDisk('cleared-inode', { directory: work });
    const sshPort = await freePort();
    writePoweredVmSpec(stateDirectory, {
      macAddress: mac,
      sshHostPort: sshPort,
      memoryMiB: 384,
      disks: [{ path: disk.path }],
      bootDevices: {
        network: { kind: 'network', bootFileUrl: `tftp://10.0.2.2:${tftpPort}/boot.ipxe` },
        // The "installed OS": a direct kernel boot that prints a marker.
        disk: { kind: 'kernel', kernelPath: images.kernel.vmlinuzPath, initrdPath: images.marker.path, kernelArguments: 'console=ttyS0 rescued.marker=INSTALLED-OS-UP' },
      },
    });
    bmc = await startIpmiSim({ initialPower: 'off' });
    // The VM's power follows the BMC's chassis, in the order the BMC did things.
    let seen = 0;
    follower = setInterval(() => {
      following = following.then(async () => {
        const events = bmc.readEvents();
        for (const event of events.slice(seen)) {
          if (event.action === 'power-off') await powerOffVm(stateDirectory);
          if (event.action === 'power-on' || event.action === 'reset') {
            await powerOffVm(stateDirectory);
            await powerOnVm(stateDirectory, event.bootDevice === 'pxe' ? 'network' : 'disk');
          }
        }
        seen = events.length;
      });
    }, 150);
    const setup: Array<[string, unknown]> = [
      ['/api/v1/distros', { name: 'lab', kernel: 'lab/vmlinuz', initrd: 'lab/rescue.cpio.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'lab', distro: 'lab', rescuePolicy: 'repair' }],
      ['/api/v1/rescue-environments', { name: 'lab-rescue', kernel: 'lab/vmlinuz', initrd: 'lab/rescue.cpio.gz', arch: 'x86_64', osFamilies: ['debian'], kernelArgs: 'console=ttyS0' }],
      [
        '/api/v1/systems',
        {
          name: 'vm01',
          profile: 'lab',
          interfaces: [{ mac }],
          // No IP and no rescued.verify: the lab disk boots no OS that could answer, so nothing can verify it.
          labels: { 'rescued.ssh-endpoint': `127.0.0.1:${sshPort}` },
          power: [{ type: 'ipmi', address: bmc.host, port: bmc.port, user: bmc.username, password: bmc.password, options: { retries: '0', readback_timeout: '30', cycle_settle: '1' } }],
        },
      ],
    ];
    for (const [path, body] of setup) assert.equal((await lab.api.request('POST', path, { body })).status, 201, `${path}`);
    (globalThis as { rescueVmDisk?: string }).rescueVmDisk = disk.path;
  });
  after(async () => {
    if (follower) clearInterval(follower);
    await following;
    if (stateDirectory) await powerOffVm(stateDirectory).catch(() => undefined);
    await bmc?.stop();
    await tftp?.close();
    await lab?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('network boot into the rescue image, diagnose and repair /dev/vda over SSH, boot from disk', async () => {
    await lab.rescues.start({ system: 'vm01', reason: 'disk errors', requestedBy: 'test', timings: { phoneHomeTimeoutMs: 180_000, maxPowerCycles: 2, approvalTimeoutMs: 60_000, installTimeoutMs: 60_000, verifyTimeoutMs: 30_000 } });
    const done = (await lab.env.client.workflow.getHandle('rescue-vm01').result()) as RescueResult;
    const serial = await readFile(join(stateDirectory, 'serial.log'), 'utf8').catch(() => '');
    // Repaired, but only the machine's OS answering could say it is back: with nothing to ask, `unverified`.
    assert.equal(done.outcome, 'unverified', `${JSON.stringify(done.status, null, 2)}\n--- serial ---\n${serial.slice(-4000)}`);
    assert.match(serial, /RESCUED-RESCUE: phoned home/);
    const [run] = await lab.api.inventory.rescues.list({ system: 'vm01' });
    const before = (run?.repairs ?? []) as Array<{ playbook: string; changed: boolean }>;
    assert.ok(before.some((r) => r.playbook === 'filesystem-repair' && r.changed), JSON.stringify(run?.repairs));
    await following;
    assert.equal(vmPowerStatus(stateDirectory).bootDevice, 'disk', 'restored: the machine boots from disk');
    await powerOffVm(stateDirectory);
    const check = await checkDiskImage((globalThis as { rescueVmDisk?: string }).rescueVmDisk!);
    assert.equal(check.exitCode, 0, 'the VM disk is clean after the rescue');
  });
});
