// The virtual lab (lab/vm): disks broken on purpose, the marker image booted directly and through iPXE over HTTP,
// and the rescue image phoning home and answering SSH with a pinned host key. Needs scripts/setup/vm-lab.sh.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { ensureLabBootImages, type LabBootImages } from '../../lab/vm/initramfs.js';
import { startLabVm, type LabVm } from '../../lab/vm/qemu.js';
import { checkDiskImage, createBrokenLabDisk, createLabDisk, DISK_BREAKAGES, readFileFromDiskImage } from '../../lab/vm/disks.js';
import { parseRescuePhoneHome, rescueKernelArguments } from '../../lab/vm/contract.js';

interface ProcessOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = 60_000): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (error as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      if (error && typeof code !== 'number') reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
      else resolve({ exitCode: typeof code === 'number' ? code : 0, stdout, stderr });
    });
  });
}

async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port };
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('lab vm', { timeout: 240_000 }, () => {
  let images: LabBootImages;
  let workDirectory: string;

  before(async () => {
    const started = Date.now();
    images = await ensureLabBootImages();
    workDirectory = mkdtempSync(join(tmpdir(), 'rescued-lab-vm-test-'));
    console.log(`# lab images ready in ${Date.now() - started} ms: kernel ${images.kernel.version}, rescue ${images.rescue.sizeBytes} bytes`);
  });

  after(() => {
    if (workDirectory) rmSync(workDirectory, { recursive: true, force: true });
  });

  test('disk images are broken on purpose, the way e2fsck and debugfs see it', async () => {
    const directory = join(workDirectory, 'disks');
    const healthy = await createLabDisk({ directory, name: 'healthy' });
    assert.equal((await checkDiskImage(healthy.path)).exitCode, 0, 'a fresh lab disk is clean');
    assert.match(await readFileFromDiskImage(healthy.path, '/etc/fstab'), new RegExp(`UUID=${healthy.uuid} / ext4`));

    for (const kind of DISK_BREAKAGES) {
      const disk = await createBrokenLabDisk(kind, { directory });
      assert.equal(disk.damage.kind, kind);
      const check = await checkDiskImage(disk.path);
      if (kind === 'bad-fstab-uuid') {
        assert.equal(check.exitCode, 0, 'a wrong fstab leaves the file system itself clean');
        const fstab = await readFileFromDiskImage(disk.path, '/etc/fstab');
        assert.ok(disk.damage.missingUuid, 'the damage names the missing UUID');
        assert.match(fstab, new RegExp(`^UUID=${disk.damage.missingUuid} / ext4`, 'm'));
        assert.doesNotMatch(fstab, new RegExp(disk.uuid));
        const superblock = await run('dumpe2fs', ['-h', disk.path]);
        assert.match(superblock.stdout, new RegExp(`Filesystem UUID:\\s+${disk.uuid}`));
      } else if (kind === 'kernel-gone') {
        assert.equal(check.exitCode, 0, 'removing the kernel leaves the file system clean');
        assert.deepEqual(disk.damage.removedFiles?.sort(), [`/boot/initrd.img-${disk.kernelVersion}`, `/boot/vmlinuz-${disk.kernelVersion}`]);
      } else {
        assert.notEqual(check.exitCode, 0, `${kind}: e2fsck -fn must find errors\n${check.stdout}`);
      }
    }
  });

  test('the marker image boots directly (-kernel/-initrd) and prints its marker', async () => {
    const marker = `direct-${process.pid}`;
    const started = Date.now();
    const vm = await startLabVm({
      boot: {
        kind: 'kernel',
        kernelPath: images.kernel.vmlinuzPath,
        initrdPath: images.marker.path,
        kernelArguments: `console=ttyS0 rescued.marker=${marker}`,
      },
    });
    try {
      await vm.waitForSerial(new RegExp(`RESCUED-LAB-MARKER ${marker} kernel=${images.kernel.version}`), 60_000);
      const markerAt = Date.now() - started;
      await vm.waitForExit(30_000);
      console.log(`# marker via direct boot: ${markerAt} ms, powered off at ${Date.now() - started} ms`);
    } finally {
      await vm.stop();
    }
  });

  test('the rescue image phones home per the contract and answers SSH only with the pinned host key', async () => {
    const directory = mkdtempSync(join(workDirectory, 'rescue-'));
    const clientKey = join(directory, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rescued-test', '-f', clientKey]);
    const otherKey = join(directory, 'other_host_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const brokenDisk = await createBrokenLabDisk('zeroed-superblock', { directory });
    const secondDisk = await createBrokenLabDisk('cleared-inode', { directory });

    const token = `tok-${process.pid}-${Date.now()}`;
    interface PhoneHomeRequest {
      method: string | undefined;
      url: string | undefined;
      contentType: string | undefined;
      body: string;
    }
    let resolvePhoneHome: (request: PhoneHomeRequest) => void = () => {};
    const phoneHome = new Promise<PhoneHomeRequest>((resolve) => (resolvePhoneHome = resolve));
    let server: Server | undefined;
    let vm: LabVm | undefined;
    try {
      const listening = await listen((request, response) => {
        void readBody(request).then((body) => {
          response.writeHead(204).end();
          resolvePhoneHome({ method: request.method, url: request.url, contentType: request.headers['content-type'], body });
        });
      });
      server = listening.server;
      const sshPort = await freePort();
      const callbackPath = `/boot/rescue/${token}/ready`;
      const started = Date.now();
      vm = await startLabVm({
        sshHostPort: sshPort,
        disks: [{ path: brokenDisk.path }, { path: secondDisk.path }],
        boot: {
          kind: 'kernel',
          kernelPath: images.kernel.vmlinuzPath,
          initrdPath: images.rescue.path,
          kernelArguments: rescueKernelArguments({
            callbackUrl: `http://10.0.2.2:${listening.port}${callbackPath}`,
            token,
            sshPublicKey: readFileSync(`${clientKey}.pub`, 'utf8'),
          }),
        },
      });
      const runningVm = vm;
      const request = await withTimeout(phoneHome, 90_000, 'phone-home').catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; serial log:\n${runningVm.serialLog().slice(-3000)}`);
      });
      const phonedHomeAt = Date.now() - started;
      assert.equal(request.method, 'POST');
      assert.equal(request.url, callbackPath);
      assert.equal(request.contentType, 'application/json');
      const body = parseRescuePhoneHome(JSON.parse(request.body));
      assert.equal(body.token, token);
      assert.equal(body.mac, vm.macAddress);
      assert.equal(body.ip, '10.0.2.15');
      await vm.waitForSerial(/RESCUED-RESCUE: phoned home/, 10_000);
      assert.match(vm.serialLog(), new RegExp(`RESCUED-RESCUE: network up 10\\.0\\.2\\.15 eth0 ${vm.macAddress}`));

      const sshOptions = (knownHosts: string): string[] => [
        '-F', '/dev/null',
        '-i', clientKey,
        '-o', 'IdentitiesOnly=yes',
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=5',
        '-o', 'LogLevel=ERROR',
        '-p', String(sshPort),
        'root@127.0.0.1',
      ];

      const wrongKnownHosts = join(directory, 'known_hosts.wrong');
      const otherPublicKey = readFileSync(`${otherKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      writeFileSync(wrongKnownHosts, `[127.0.0.1]:${sshPort} ${otherPublicKey}\n`);
      const refused = await run('ssh', [...sshOptions(wrongKnownHosts), 'true']);
      assert.equal(refused.exitCode, 255, `a wrong pinned host key must be refused\n${refused.stderr}`);
      assert.match(refused.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

      const knownHosts = join(directory, 'known_hosts');
      writeFileSync(knownHosts, `[127.0.0.1]:${sshPort} ${body.sshHostKey}\n`);
      const firstSshAt = Date.now();
      const hostname = await run('ssh', [...sshOptions(knownHosts), 'hostname']);
      assert.equal(hostname.exitCode, 0, hostname.stderr);
      assert.equal(hostname.stdout.trim(), 'rescue');
      const sshRoundTrip = Date.now() - firstSshAt;

      const fsck = await run('ssh', [...sshOptions(knownHosts), 'e2fsck -n /dev/vda']);
      assert.notEqual(fsck.exitCode, 255, `ssh itself failed: ${fsck.stderr}`);
      assert.notEqual(fsck.exitCode, 0, `e2fsck -n /dev/vda must report the zeroed superblock\n${fsck.stdout}${fsck.stderr}`);
      assert.match(`${fsck.stdout}${fsck.stderr}`, /Bad magic number|Superblock invalid|bad superblock/i);

      // The dynamically linked tools run too (copied in with their libraries).
      const tune2fs = await run('ssh', [...sshOptions(knownHosts), 'tune2fs -l /dev/vdb; e2fsck -n /dev/vdb']);
      assert.match(tune2fs.stdout, new RegExp(`Filesystem UUID:\\s+${secondDisk.uuid}`));
      assert.match(tune2fs.stdout, /has deleted\/unused inode|contains a file system with errors/);
      assert.equal(tune2fs.exitCode, 4, 'e2fsck -n on the cleared-inode disk exits 4 (errors left uncorrected)');
      console.log(`# rescue via direct boot: phoned home at ${phonedHomeAt} ms; first SSH command ${sshRoundTrip} ms`);
    } finally {
      await vm?.stop();
      await closeServer(server);
    }
  });

  test('network boot through iPXE over HTTP chains the marker image', async () => {
    const marker = `ipxe-${process.pid}`;
    const fetched: string[] = [];
    let server: Server | undefined;
    let vm: LabVm | undefined;
    try {
      const files: Record<string, string> = { '/vmlinuz': images.kernel.vmlinuzPath, '/marker.cpio.gz': images.marker.path };
      let port = 0;
      const listening = await listen((request, response) => {
        const url = request.url ?? '';
        fetched.push(url);
        if (url === '/boot.ipxe') {
          response.writeHead(200, { 'Content-Type': 'text/plain' });
          response.end(
            [
              '#!ipxe',
              'echo rescued lab: booting ${net0/mac} from ${net0/ip}',
              `kernel http://10.0.2.2:${port}/vmlinuz console=ttyS0 rescued.marker=${marker} BOOTIF=01-\${net0/mac:hexhyp}`,
              `initrd http://10.0.2.2:${port}/marker.cpio.gz`,
              'boot',
              '',
            ].join('\n'),
          );
          return;
        }
        const path = files[url];
        if (!path) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'Content-Length': String(statSync(path).size), 'Content-Type': 'application/octet-stream' });
        createReadStream(path).pipe(response);
      });
      server = listening.server;
      port = listening.port;
      const started = Date.now();
      vm = await startLabVm({ boot: { kind: 'network', bootFileUrl: `http://10.0.2.2:${port}/boot.ipxe` } });
      await vm.waitForSerial(/rescued lab: booting 52:54:00/, 60_000);
      const scriptAt = Date.now() - started;
      await vm.waitForSerial(new RegExp(`RESCUED-LAB-MARKER ${marker} kernel=`), 90_000);
      const markerAt = Date.now() - started;
      assert.deepEqual(fetched, ['/boot.ipxe', '/vmlinuz', '/marker.cpio.gz']);
      assert.match(vm.serialLog(), /iPXE/, "iPXE's own output reaches the serial log (etc/sercon-port)");
      const bootIf = `BOOTIF=01-${vm.macAddress.replace(/:/g, '-')}`;
      assert.ok(vm.serialLog().includes(bootIf), `the kernel command line carries ${bootIf}`);
      await vm.waitForExit(30_000);
      console.log(`# marker via iPXE: script fetched at ${scriptAt} ms, marker at ${markerAt} ms`);
    } finally {
      await vm?.stop();
      await closeServer(server);
    }
  });
});
