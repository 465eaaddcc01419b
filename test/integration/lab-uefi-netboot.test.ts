// A UEFI machine network-boots into the rescue image through rescued's real boot routes: OVMF runs iPXE's EFI
// driver (ipxe-qemu's efi-virtio.rom), which fetches boot.ipxe from OUR TFTP server, chains to our HTTP route for
// its MAC, where the rescue boot config pushed by the real activity waits; the EFI stub kernel boots the rescue
// image with the handshake's kernel arguments, and the image phones home to our callback route, which signals the
// rescue's workflow on a real Temporal server (a workflow with no worker: the signal is what we check).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../support/temporal.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';
import { ensureLabBootImages } from '../../lab/vm/initramfs.js';
import { randomLabMacAddress, startLabVm, type LabVm } from '../../lab/vm/qemu.js';

describe('a UEFI machine network-boots into the rescue image through our routes', () => {
  let env: TestWorkflowEnvironment;
  let api: TestApi;
  let tftp: TftpServer;
  let tftpPort: number;
  let vm: LabVm | undefined;
  const mac = randomLabMacAddress();
  const workflowId = 'rescue-uefi01';
  const pending = new Set<Promise<void>>();

  before(async () => {
    env = await startTestTemporal();
    api = await startTestApi(testDatabases()[0]!, { temporal: { connection: env.connection, address: env.address, taskQueue: 'no-worker' } });
    api.netboot.urls.httpBase = api.url.replace('127.0.0.1', '10.0.2.2');
    const images = await ensureLabBootImages();
    await mkdir(join(api.tftpRoot, 'lab'), { recursive: true });
    await copyFile(images.kernel.vmlinuzPath, join(api.tftpRoot, 'lab', 'vmlinuz'));
    await copyFile(images.rescue.path, join(api.tftpRoot, 'lab', 'rescue.cpio.gz'));
    tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)] });
    tftp.on('transfer-end', (report) => {
      const recording = api.netboot.recorder.record({ protocol: 'tftp', clientAddress: report.client.address, file: report.path ?? report.requestedPath, bytes: report.bytesTransferred, outcome: report.outcome });
      pending.add(recording);
      void recording.finally(() => pending.delete(recording));
    });
    tftpPort = (await tftp.listen()).port;
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'lab', kernel: 'lab/vmlinuz', initrd: 'lab/rescue.cpio.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'lab', distro: 'lab' }],
      ['/api/v1/rescue-environments', { name: 'lab-rescue', kernel: 'lab/vmlinuz', initrd: 'lab/rescue.cpio.gz', arch: 'x86_64', osFamilies: ['debian'], firmware: ['uefi'], kernelArgs: 'console=ttyS0' }],
      ['/api/v1/systems', { name: 'uefi01', profile: 'lab', firmware: 'uefi', interfaces: [{ mac }] }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      assert.equal(reply.status, 201, `${path}: ${JSON.stringify(reply.body)}`);
    }
  });
  after(async () => {
    await vm?.stop();
    await env?.client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    await tftp?.close();
    await Promise.allSettled([...pending]);
    await api?.close();
    await env?.teardown();
  });

  test('OVMF + iPXE EFI → boot.ipxe (TFTP) → /boot/ipxe/<mac> → rescue kernel → phone-home signals the workflow', async () => {
    // The rescue's workflow, waiting for its phone-home (no worker runs it: the signal lands in its history).
    const handle = await env.client.workflow.start('rescue', { taskQueue: 'no-worker', workflowId, args: [] });
    const activities = createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: createRefusingAdmission() });
    await activities.pushRescueBootConfig({ system: 'uefi01', environment: 'lab-rescue', workflowId });

    const started = Date.now();
    vm = await startLabVm({ firmware: 'uefi', macAddress: mac, memoryMiB: 384, boot: { kind: 'network', bootFileUrl: `tftp://10.0.2.2:${tftpPort}/boot.ipxe` } });
    await vm.waitForSerial(/rescued: rescue lab-rescue for uefi01/, 90_000);
    const scriptAt = Date.now() - started;
    await vm.waitForSerial(/EFI stub: /, 90_000);
    await vm.waitForSerial(/RESCUED-RESCUE: (phoned home|phone home failed)[^\r\n]*/, 120_000);
    const phonedAt = Date.now() - started;
    assert.match(vm.serialLog(), /RESCUED-RESCUE: phoned home/, vm.serialLog().slice(-3000));
    console.log(`# UEFI network boot: rescue script at ${scriptAt} ms, phoned home at ${phonedAt} ms`);
    await vm.stop();
    await Promise.allSettled([...pending]);

    const history = await handle.fetchHistory();
    const signals = (history.events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'phoneHome');
    assert.equal(signals.length, 1, 'the workflow received one phoneHome signal');
    const fetches = await api.request('GET', '/api/v1/systems/uefi01/boot-fetches');
    const files = (fetches.body as Array<{ protocol: string; file: string }>).map((f) => `${f.protocol}:${f.file}`);
    for (const expected of [`http:ipxe/${mac}`, 'http:lab/vmlinuz', 'http:lab/rescue.cpio.gz']) assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
  });
});
