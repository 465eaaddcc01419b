// A QEMU machine network-boots the way a real one does: iPXE fetches boot.ipxe from OUR TFTP server,
// chains to our HTTP route for its MAC, loads kernel and initrd from /boot/files/, and the kernel prints
// a marker on the serial console. Its fetches then show in `rescuectl status`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';
import { ensureLabBootImages } from '../../lab/vm/initramfs.js';
import { randomLabMacAddress, startLabVm, type LabVm } from '../../lab/vm/qemu.js';

describe('a QEMU machine network-boots from our TFTP and HTTP', () => {
  let api: TestApi;
  let tftp: TftpServer;
  let tftpPort: number;
  let vm: LabVm | undefined;
  const pending = new Set<Promise<void>>();
  const mac = randomLabMacAddress();

  before(async () => {
    api = await startTestApi(testDatabases()[0]!);
    // The guest reaches the host's loopback as 10.0.2.2 (QEMU user-mode networking).
    api.netboot.urls.httpBase = api.url.replace('127.0.0.1', '10.0.2.2');
    const images = await ensureLabBootImages();
    await mkdir(join(api.tftpRoot, 'lab'), { recursive: true });
    await copyFile(images.kernel.vmlinuzPath, join(api.tftpRoot, 'lab', 'vmlinuz'));
    await copyFile(images.marker.path, join(api.tftpRoot, 'lab', 'marker.cpio.gz'));
    tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)] });
    tftp.on('transfer-end', (report) => {
      const recording = api.netboot.recorder.record({ protocol: 'tftp', clientAddress: report.client.address, file: report.path ?? report.requestedPath, bytes: report.bytesTransferred, outcome: report.outcome });
      pending.add(recording);
      void recording.finally(() => pending.delete(recording));
    });
    tftpPort = (await tftp.listen()).port;
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'lab', kernel: 'lab/vmlinuz', initrd: 'lab/marker.cpio.gz', arch: 'x86_64', breed: 'debian', osVersion: '12', kernelOptions: 'console=ttyS0 rescued.marker=NETBOOT-OK' }],
      ['/api/v1/profiles', { name: 'lab', distro: 'lab' }],
      ['/api/v1/systems', { name: 'vm01', profile: 'lab', netbootEnabled: true, interfaces: [{ mac }] }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
    }
  });
  after(async () => {
    await vm?.stop();
    await tftp?.close();
    await Promise.allSettled([...pending]);
    await api?.close();
  });

  test('iPXE → TFTP boot.ipxe → HTTP script → kernel and initrd → marker; fetches in rescuectl status', async () => {
    vm = await startLabVm({ boot: { kind: 'network', bootFileUrl: `tftp://10.0.2.2:${tftpPort}/boot.ipxe` }, macAddress: mac });
    const marker = await vm.waitForSerial(/RESCUED-LAB-MARKER (\S+)/, 120_000);
    assert.equal(marker[1], 'NETBOOT-OK');
    await vm.stop();
    await Promise.allSettled([...pending]);

    const fetches = await api.request('GET', '/api/v1/systems/vm01/boot-fetches');
    const files = fetches.body.map((f: { protocol: string; file: string }) => `${f.protocol}:${f.file}`);
    for (const expected of [`http:ipxe/${mac}`, 'http:lab/vmlinuz', 'http:lab/marker.cpio.gz']) assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
    const status = await runRescuectl(['status'], { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /vm01\s+idle\s+-\s+-\s+lab\/(vmlinuz|marker\.cpio\.gz)\s+\d+s ago\s+true/);
    const detail = await runRescuectl(['status', 'vm01'], { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });
    assert.match(detail.stdout, /recent boot fetches:[\s\S]*http\s+lab\/marker\.cpio\.gz/);
    // TFTP served boot.ipxe to the VM (QEMU's NAT makes it 127.0.0.1 on our side).
    const all = await api.inventory.boot.lastFetchPerSystem();
    assert.ok(all.get('vm01'));
  });
});
