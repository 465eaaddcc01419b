// `rescuectl image build` for real: the CLI builds the rescue image from Debian's packages into a running API's boot
// files folder and registers it; the built kernel and initrd then boot in QEMU with the contract's kernel args
// (the server's own handshake arguments, and the environment's template rendered for a machine with a static
// address), phone home with their host key, and answer SSH with the repair tools inside. Needs
// scripts/setup/vm-lab.sh (QEMU, busybox-static, dropbear-bin, e2fsck-static); builds are cached in .cache/lab/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { renderTemplate } from '../../boot/templates.js';
import { createHandshakeSecrets, rescueKernelArguments } from '../../rescue/handshake.js';
import { startLabVm, type LabVm } from '../../lab/vm/qemu.js';
import { phoneHomeServer } from '../../lab/vm/rescue-machine.js';
import { runCommand } from '../../images/commands.js';
import { openSession, type ShellSession } from '../../shell/index.js';

const BUILD_TIMEOUT_MS = 600_000;

describe('rescuectl image build', { timeout: 900_000 }, () => {
  const database = testDatabases()[0]!;
  let api: TestApi;
  let dataDir: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runRescuectl(args, env, undefined, BUILD_TIMEOUT_MS);

  before(async () => {
    api = await startTestApi(database);
    dataDir = await mkdtemp(join(tmpdir(), 'rescuectl-image-'));
    await writeFile(join(dataDir, 'admin.token'), `${api.adminToken}\n`, { mode: 0o600 });
    // The CLI writes into the API's boot files folder, as on the server host.
    env = { RESCUED_SERVER: api.url, RESCUED_DATA_DIR: dataDir, RESCUED_TFTP_ROOT: api.tftpRoot };
  });
  after(async () => {
    await api?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('bad options are refused before anything is built, naming the option', async () => {
    let result = await cli('image', 'build', '--arch', 'aarch64');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--arch: aarch64 is not supported yet: the image is built from Debian's packages for x86_64 only/);
    result = await cli('image', 'build', '--kernel', 'lowlatency');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--kernel: "lowlatency" is not a kernel flavour \(cloud or standard\)/);
    result = await cli('image', 'build', '--output', join(dataDir, 'elsewhere'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is outside the boot files folder .* add --no-register/);
    assert.equal(result.stderr.includes('    at '), false, 'no stack trace');
    const listed = await api.request('GET', '/api/v1/rescue-environments');
    assert.deepEqual(listed.body, []);
  });

  test('builds the cloud-kernel image, registers it, and the image boots, phones home and answers SSH', async () => {
    const built = await cli('--json', 'image', 'build');
    assert.equal(built.code, 0, built.stderr);
    // Progress on stderr, step by step with sizes; the result on stdout.
    assert.match(built.stderr, /\[1\/4\] host tools/);
    assert.match(built.stderr, /\[2\/4\] kernel: linux-image-cloud-amd64/);
    assert.match(built.stderr, /\[3\/4\] initramfs: .*lvm2.*smartmontools/);
    assert.match(built.stderr, /\d+\.\d MiB gzip'd, \d+ tools, \d+ kernel modules/);
    const result = JSON.parse(built.stdout) as { name: string; kernelPath: string; initrdPath: string; kernelPackage: string; rescueEnvironment: { registered: string } };
    assert.equal(result.name, 'rescued-cloud-x86_64');
    assert.equal(result.rescueEnvironment.registered, 'created');
    assert.match(result.kernelPackage, /^linux-image-\S+-cloud-amd64 /);

    const environment = (await api.request('GET', '/api/v1/rescue-environments/rescued-cloud-x86_64')).body;
    assert.equal(environment.kernel, 'rescued/rescued-cloud-x86_64/vmlinuz');
    assert.equal(environment.initrd, 'rescued/rescued-cloud-x86_64/initrd.img');
    assert.equal(environment.arch, 'x86_64');
    assert.deepEqual(environment.firmware, ['bios', 'uefi']);
    assert.ok(environment.osFamilies.includes('debian') && environment.osFamilies.includes('redhat'));
    const kernelPath = join(api.tftpRoot, environment.kernel);
    const initrdPath = join(api.tftpRoot, environment.initrd);
    assert.equal(kernelPath, result.kernelPath);
    assert.ok(statSync(initrdPath).size > 1024 * 1024);

    // What a rescue's push would send: the environment's template for a machine with a static address, then the
    // handshake arguments, as activities/rescue.ts composes them.
    const system = { name: 'lab01', interfaces: [{ name: 'eth0', mac: '52:54:00:aa:bb:01', ip: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2', hostname: null }] };
    const environmentArgs = renderTemplate({ name: 'rescue-env kernel args', body: environment.kernelArgs }, { system, mac: system.interfaces[0]!.mac, arch: 'x86_64', firmware: 'bios' });
    assert.equal(environmentArgs, 'ip=10.0.2.15::10.0.2.2:255.255.255.0:lab01::off');
    const secrets = createHandshakeSecrets('image-build test');
    const phoneHome = await phoneHomeServer(secrets.token);
    const sshHostPort = await freePort();
    let vm: LabVm | undefined;
    let session: ShellSession | undefined;
    try {
      vm = await startLabVm({
        sshHostPort,
        memoryMiB: 512,
        macAddress: system.interfaces[0]!.mac,
        boot: {
          kind: 'kernel', kernelPath, initrdPath,
          kernelArguments: `${environmentArgs} BOOTIF=01-52-54-00-aa-bb-01 ${rescueKernelArguments({ callbackUrl: `http://10.0.2.2:${phoneHome.port}/ready`, token: secrets.token, publicKey: secrets.publicKey })}`,
        },
      });
      const runningVm = vm;
      const body = await Promise.race([
        phoneHome.received,
        runningVm.waitForSerial(/RESCUED-RESCUE: phone home failed/, 240_000).then(() => { throw new Error('the image could not phone home'); }),
      ]).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; serial log:\n${runningVm.serialLog().slice(-3000)}`);
      });
      assert.equal(body.mac, '52:54:00:aa:bb:01');
      assert.equal(body.ip, '10.0.2.15');
      assert.match(vm.serialLog(), /RESCUED-RESCUE: network up 10\.0\.2\.15 eth0 52:54:00:aa:bb:01 \(static\)/);

      session = await openSession({ host: '127.0.0.1', port: sshHostPort, privateKey: secrets.privateKeyPem, hostKey: body.sshHostKey, connectTimeoutMs: 20_000, commandTimeoutMs: 60_000 });
      const tools = await session.exec(['sh', '-c', 'smartctl --version | head -1; grub-install --version; e2fsck -V 2>&1 | head -1; ls /usr/lib/grub; hostname; ip route']);
      assert.equal(tools.exitCode, 0, tools.stdout);
      assert.match(tools.stdout, /smartctl 7\.\d/);
      assert.match(tools.stdout, /grub-install \(GRUB\) 2\.\d+/);
      assert.match(tools.stdout, /e2fsck 1\.\d+/);
      assert.match(tools.stdout, /i386-pc\s+x86_64-efi/);
      assert.match(tools.stdout, /^lab01$/m);
      assert.match(tools.stdout, /default via 10\.0\.2\.2 dev eth0/);
    } finally {
      await session?.close().catch(() => undefined);
      await vm?.stop();
      phoneHome.server.closeAllConnections();
      phoneHome.server.close();
    }
  });

  test('the standard kernel image boots too, by DHCP, and mounts ext4 (crc32c_generic loaded before ext4)', async () => {
    const built = await cli('image', 'build', '--kernel', 'standard', '--register', 'rescued-standard', '--without', 'grub-bios,grub-efi');
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /\[2\/4\] kernel: linux-image-amd64 /);
    const environment = (await api.request('GET', '/api/v1/rescue-environments/rescued-standard')).body;
    assert.equal(environment.initrd, 'rescued/rescued-standard/initrd.img');
    const disk = join(dataDir, 'ext4.img');
    await runCommand('mke2fs', ['-q', '-t', 'ext4', '-F', '-L', 'probe', disk, '8M']);
    const environmentArgs = renderTemplate({ name: 'rescue-env kernel args', body: environment.kernelArgs }, { system: { name: 'lab02', interfaces: [{ name: 'eth0', mac: '52:54:00:aa:bb:02' }] }, mac: '52:54:00:aa:bb:02' });
    assert.equal(environmentArgs, 'ip=dhcp');
    const secrets = createHandshakeSecrets('image-build test');
    const phoneHome = await phoneHomeServer(secrets.token);
    const sshHostPort = await freePort();
    let vm: LabVm | undefined;
    let session: ShellSession | undefined;
    try {
      vm = await startLabVm({
        sshHostPort,
        memoryMiB: 512,
        disks: [{ path: disk, snapshot: true }],
        boot: {
          kind: 'kernel', kernelPath: join(api.tftpRoot, environment.kernel), initrdPath: join(api.tftpRoot, environment.initrd),
          kernelArguments: `${environmentArgs} ${rescueKernelArguments({ callbackUrl: `http://10.0.2.2:${phoneHome.port}/ready`, token: secrets.token, publicKey: secrets.publicKey })}`,
        },
      });
      const runningVm = vm;
      const body = await Promise.race([
        phoneHome.received,
        runningVm.waitForSerial(/RESCUED-RESCUE: phone home failed/, 240_000).then(() => { throw new Error('the image could not phone home'); }),
      ]).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; serial log:\n${runningVm.serialLog().slice(-3000)}`);
      });
      assert.match(vm.serialLog(), /RESCUED-RESCUE: network up 10\.0\.2\.15 eth0 \S+ \(dhcp\)/);
      session = await openSession({ host: '127.0.0.1', port: sshHostPort, privateKey: secrets.privateKeyPem, hostKey: body.sshHostKey, connectTimeoutMs: 20_000, commandTimeoutMs: 60_000 });
      const mounted = await session.exec(['sh', '-c', 'uname -r; mount -t ext4 -o ro /dev/vda /mnt && ls /mnt && umount /mnt; grep -o "^crc32c_generic\\|^ext4" /proc/modules']);
      assert.equal(mounted.exitCode, 0, mounted.stdout);
      assert.match(mounted.stdout, /^\d+\.\d+\.\d+-\d+-amd64$/m);
      assert.match(mounted.stdout, /lost\+found/);
      assert.match(mounted.stdout, /^crc32c_generic$/m);
      assert.match(mounted.stdout, /^ext4$/m);
    } finally {
      await session?.close().catch(() => undefined);
      await vm?.stop();
      phoneHome.server.closeAllConnections();
      phoneHome.server.close();
    }
  });

  test('a second build reuses the cache and updates the registered environment', async () => {
    const again = await cli('image', 'build');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /rescue environment\s+: rescued-cloud-x86_64 \(updated; kernel rescued\/rescued-cloud-x86_64\/vmlinuz/);
    const listed = (await api.request('GET', '/api/v1/rescue-environments')).body as Array<{ name: string }>;
    assert.deepEqual(listed.map((item) => item.name).sort(), ['rescued-cloud-x86_64', 'rescued-standard']);
    assert.ok(existsSync(join(api.tftpRoot, 'rescued', 'rescued-cloud-x86_64', 'initrd.img')));
  });
});
