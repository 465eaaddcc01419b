// The reinstall case's installer, through rescued's real install path: a system with netboot enabled network-boots
// (iPXE → our TFTP boot.ipxe → our per-MAC HTTP script) into its profile's installer, which fetches its rendered
// autoinstall file (the per-install token in the status URLs), calls started, writes the OS image (the lab's
// bootable disk) to /dev/vda, calls finished and reboots (netboot is then off); the machine boots its new disk
// through its own GRUB and answers SSH.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';
import { buildLabOsImage, labInstallerTemplate, publishLabInstaller } from '../../lab/vm/installer.js';
import { checkDiskImage, rootFileSystemPath } from '../../lab/vm/disks.js';
import { randomLabMacAddress, startLabVm, type LabVm } from '../../lab/vm/qemu.js';
import { runCommand } from '../../lab/vm/commands.js';
import { sshAnswers } from '../../rescue/os-check.js';

describe('the lab installer writes the OS image and calls the install-status callbacks', () => {
  let api: TestApi;
  let tftp: TftpServer;
  let tftpPort: number;
  let vm: LabVm | undefined;
  let work: string;
  const mac = randomLabMacAddress();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'rescued-installer-'));
    api = await startTestApi(testDatabases()[0]!);
    api.netboot.urls.httpBase = api.url.replace('127.0.0.1', '10.0.2.2');
    tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)] });
    tftpPort = (await tftp.listen()).port;
  });
  after(async () => {
    await vm?.stop();
    await tftp?.close();
    await api?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('network boot → autoinstall → started → image on /dev/vda → finished → reboot into the new OS', async () => {
    const osImage = await buildLabOsImage({ directory: work, sizeMiB: 64 });
    const published = await publishLabInstaller(api.tftpRoot, osImage);
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'lab-os', kernel: published.kernel, initrd: published.initrd, arch: 'x86_64', breed: 'debian', osVersion: '12', kernelOptions: 'console=ttyS0' }],
      ['/api/v1/templates', { name: 'lab-installer', kind: 'script', body: labInstallerTemplate(`{{ server.http }}/boot/files/${published.osImage}`) }],
      ['/api/v1/profiles', { name: 'lab-os', distro: 'lab-os', autoinstall: 'lab-installer' }],
      ['/api/v1/systems', { name: 'inst01', profile: 'lab-os', netbootEnabled: true, interfaces: [{ mac }] }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, `${path}: ${JSON.stringify(reply.body)}`);
    }

    // The machine's disk: empty, as a new (or wiped) one.
    const target = join(work, 'target.raw');
    writeFileSync(target, '');
    truncateSync(target, 64 * 1024 * 1024);
    const sshPort = await freePort();
    const started = Date.now();
    vm = await startLabVm({ macAddress: mac, sshHostPort: sshPort, disks: [{ path: target }], boot: { kind: 'network', bootFileUrl: `tftp://10.0.2.2:${tftpPort}/boot.ipxe` } });
    await vm.waitForSerial(/RESCUED-INSTALLER: (called finished|failed[^\r\n]*)/, 180_000);
    assert.match(vm.serialLog(), /RESCUED-INSTALLER: called started/, vm.serialLog().slice(-3000));
    assert.match(vm.serialLog(), /RESCUED-INSTALLER: called finished/, vm.serialLog().slice(-3000));
    const installedAt = Date.now() - started;

    const [install] = await api.inventory.installHistory.list('inst01');
    assert.equal(install?.outcome, 'success', JSON.stringify(install));
    assert.equal(install?.profile, 'lab-os');
    const system = await api.request('GET', '/api/v1/systems/inst01');
    assert.equal(system.body.netbootEnabled, false, 'the finished install turned netboot off (netbootOnce)');

    // The reboot: the network boot was a one-time one (as IPMI's bootdev pxe), so the firmware boots the disk the
    // installer wrote, through its own GRUB.
    await vm.waitForSerial(/RESCUED-INSTALLER: rebooting[\s\S]*GRUB loading[\s\S]*RESCUED-INSTALLED: (sshd up|failed)[^\r\n]*/, 120_000);
    assert.match(vm.serialLog(), /RESCUED-INSTALLED: sshd up/, vm.serialLog().slice(-3000));
    assert.deepEqual(await sshAnswers('127.0.0.1', sshPort, 10_000), { answered: true, detail: 'an SSH server identified itself' });
    console.log(`# installer: ${osImage.gzipBytes} bytes gzip'd, install finished at ${installedAt} ms, new OS answers SSH at ${Date.now() - started} ms`);
    await vm.stop();
    vm = undefined;

    const table = JSON.parse((await runCommand('sfdisk', ['--json', target])).stdout) as { partitiontable: { label: string } };
    assert.equal(table.partitiontable.label, 'dos');
    assert.equal((await checkDiskImage(rootFileSystemPath({ path: target, rootOffsetBytes: osImage.disk.rootOffsetBytes }))).exitCode, 0);
  });

  test('an image it cannot fetch: the installer calls failed, the install is recorded as failed', async () => {
    const mac2 = randomLabMacAddress();
    for (const [path, body] of [
      ['/api/v1/templates', { name: 'lab-installer-missing', kind: 'script', body: labInstallerTemplate('{{ server.http }}/boot/files/lab/no-such-image.raw.gz') }],
      ['/api/v1/profiles', { name: 'lab-os-missing', distro: 'lab-os', autoinstall: 'lab-installer-missing' }],
      ['/api/v1/systems', { name: 'inst02', profile: 'lab-os-missing', netbootEnabled: true, interfaces: [{ mac: mac2 }] }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, `${path}: ${JSON.stringify(reply.body)}`);
    }
    const target = join(work, 'target2.raw');
    writeFileSync(target, '');
    truncateSync(target, 16 * 1024 * 1024);
    vm = await startLabVm({ macAddress: mac2, disks: [{ path: target }], boot: { kind: 'network', bootFileUrl: `tftp://10.0.2.2:${tftpPort}/boot.ipxe` } });
    await vm.waitForSerial(/RESCUED-INSTALLER: failed: writing [^\r\n]*/, 180_000);
    await vm.waitForExit(60_000);
    const [install] = await api.inventory.installHistory.list('inst02');
    assert.equal(install?.outcome, 'failed', JSON.stringify(install));
    const system = await api.request('GET', '/api/v1/systems/inst02');
    assert.equal(system.body.netbootEnabled, true, 'a failed install leaves netboot on');
  });
});
