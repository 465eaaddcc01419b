// Hostile input for a live TFTP server on 127.0.0.1: random and mutated datagrams never crash it and it
// keeps serving a real client afterwards; random hostile names (../, absolute paths, NUL, backslashes,
// URL-encoding, and symbolic links planted in the root that point outside) never yield a byte from
// outside the root. Counts are printed (test/support/fuzz.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { fuzzAsync, hostileString } from '../support/fuzz.js';
import { createDiskFileProvider, createTftpServer, fetchTftpFile, type TftpServer } from '../../boot/tftp/index.js';
import { encodeTftpRequest } from '../../boot/tftp/packets.js';
import { hostilePath, mutatedPacket } from '../support/tftp-fuzz.js';

const loopback = '127.0.0.1';
const secret = 'SECRET-OUTSIDE-THE-ROOT';
const inside = new Map<string, string>([
  ['default', 'DEFAULT local\n'],
  ['pxelinux.cfg/default', 'MENU TITLE inside\n'],
  ['boot/vmlinuz', 'KERNEL-BYTES-INSIDE'.repeat(300)],
]);

let base: string;
let root: string;
let server: TftpServer;
let port: number;
let sender: Socket;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'rescued-fuzz-tftp-'));
  root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'pxelinux.cfg'), { recursive: true });
  await mkdir(join(root, 'boot'), { recursive: true });
  await mkdir(outside, { recursive: true });
  for (const [path, content] of inside) await writeFile(join(root, path), content);
  await writeFile(join(outside, 'passwd'), secret);
  await writeFile(join(base, 'passwd'), secret);
  // Links planted in the root by someone who could write there: each points outside.
  await symlink('../outside/passwd', join(root, 'link-out'));
  await symlink(join(outside, 'passwd'), join(root, 'link-abs'));
  await symlink('../outside', join(root, 'link-dir'));
  await symlink('../../outside', join(root, 'pxelinux.cfg', 'link-up'));
  await symlink('/', join(root, 'link-root'));
  // The server's own settings keep abandoned fuzz transfers short.
  server = createTftpServer({ providers: [createDiskFileProvider(root)], address: loopback, port: 0, defaultTimeoutMs: 100, maxRetransmissions: 1 });
  port = (await server.listen()).port;
  sender = createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(0, loopback, () => resolve()));
  sender.on('message', () => undefined);
});

after(async () => {
  sender?.close();
  await server?.close();
  await rm(base, { recursive: true, force: true });
});

async function assertStillServes(): Promise<void> {
  const fetched = await fetchTftpFile({ host: loopback, port, path: 'boot/vmlinuz', blockSize: 1024, requestSize: true, retryTimeoutMs: 300, maxRetries: 5 });
  assert.ok(fetched.ok, `the server stopped serving: ${JSON.stringify(fetched)}`);
  assert.equal(fetched.bytes.toString('latin1'), inside.get('boot/vmlinuz'));
}

function send(packet: Buffer): Promise<void> {
  return new Promise((resolve) => sender.send(packet, port, loopback, () => resolve()));
}

test('random and mutated datagrams never crash the server, and a real client is served after each batch', async () => {
  const socketErrors: Error[] = [];
  server.on('socket-error', (error) => socketErrors.push(error));
  const datagram = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    mutatedPacket,
    fc.tuple(fc.oneof(hostilePath, fc.constantFrom(...inside.keys())), fc.constantFrom('octet', 'netascii', 'mail', 'x')).map(([path, mode]) => encodeTftpRequest('read-request', path, mode, [{ name: 'blksize', value: '8' }])),
  );
  const batch = fc.array(datagram, { minLength: 1, maxLength: 50 });
  let datagrams = 0;
  await fuzzAsync(
    'TFTP server (batches of random datagrams)',
    batch,
    async (packets) => {
      for (const packet of packets) await send(packet);
      datagrams += packets.length;
      // Every few batches, a real transfer must still succeed.
      if (Math.random() < 0.1) await assertStillServes();
    },
    300,
  );
  console.log(`fuzz: TFTP server: ${datagrams} datagrams in all`);
  await assertStillServes();
  assert.deepEqual(socketErrors, []);
});

test('no requested name, however hostile, yields a byte from outside the root', async () => {
  const served = new Set(inside.values());
  let answeredWithData = 0;
  const name = fc.oneof(
    hostilePath,
    hostileString(),
    fc.constantFrom('link-out', '/link-out', 'link-abs', 'link-dir/passwd', 'pxelinux.cfg/link-up/passwd', 'link-root/etc/hostname', '../passwd', '/../passwd', '..%2fpasswd', 'pxelinux.cfg/../../passwd', 'pxelinux.cfg\\..\\..\\passwd', `${'x/'.repeat(200)}passwd`, join(base, 'passwd'), `/${join(base, 'passwd')}`, 'default\0../passwd', './default', '/pxelinux.cfg/./default', 'boot/./vmlinuz'),
  );
  await fuzzAsync(
    'TFTP server (hostile file names)',
    fc.tuple(name, fc.constantFrom('octet', 'netascii') as fc.Arbitrary<'octet' | 'netascii'>),
    async ([path, mode]) => {
      const fetched = await fetchTftpFile({ host: loopback, port, path, mode, retryTimeoutMs: 500, maxRetries: 3 });
      if (!fetched.ok) {
        assert.equal(fetched.kind, 'server-error', `${JSON.stringify(path)}: ${fetched.kind} ${fetched.message}`);
        return;
      }
      answeredWithData += 1;
      const text = fetched.bytes.toString('latin1');
      assert.ok(!text.includes(secret), `${JSON.stringify(path)} served the secret outside the root`);
      assert.ok(served.has(text), `${JSON.stringify(path)} served bytes that are no file of the root: ${JSON.stringify(text.slice(0, 80))}`);
    },
    1500,
  );
  console.log(`fuzz: TFTP server: ${answeredWithData} hostile names resolved to a file inside the root`);
  await assertStillServes();
});
