// The TFTP server with transfers on worker threads (transferThreads > 0): the same protocol, files handed
// over as bytes or as a shared descriptor, and close() that stops the threads. 127.0.0.1 only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDiskFileProvider,
  createTftpServer,
  fetchTftpFile,
  tftpBytesFile,
  type TftpFileProvider,
  type TftpServer,
  type TftpTransferReport,
} from '../../boot/tftp/index.js';
import { decodeTftpPacket, encodeTftpAcknowledgement, encodeTftpRequest, type TftpPacket } from '../../boot/tftp/packets.js';

const loopback = '127.0.0.1';
let base: string;
let server: TftpServer;
let port: number;
let randomFile: Buffer;
const reports: TftpTransferReport[] = [];

const generated: TftpFileProvider = async ({ path, client }) =>
  path === 'generated.cfg' ? tftpBytesFile(`generated for ${client.address}\n`) : undefined;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function curl(args: string[]): Promise<{ code: number; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'buffer', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : Number(error.code), stdout });
    });
  });
}

/** The report of the transfer whose client used this local port. */
async function reportOf(socket: Socket): Promise<TftpTransferReport> {
  const clientPort = socket.address().port;
  await waitFor(() => reports.some((r) => r.client.port === clientPort), `the report for client port ${clientPort}`);
  return reports.find((r) => r.client.port === clientPort)!;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends one request from a fresh socket and collects what comes back. */
async function openPeer(): Promise<{ socket: Socket; packets: { packet: TftpPacket | undefined; fromPort: number }[] }> {
  const socket = createSocket('udp4');
  const packets: { packet: TftpPacket | undefined; fromPort: number }[] = [];
  socket.on('message', (raw, remote) => {
    const decoded = decodeTftpPacket(raw);
    packets.push({ packet: decoded.ok ? decoded.packet : undefined, fromPort: remote.port });
  });
  await new Promise<void>((resolve) => socket.bind(0, loopback, () => resolve()));
  return { socket, packets };
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'tftp-threads-'));
  randomFile = randomBytes(2 * 1024 * 1024 + 77);
  await writeFile(join(base, 'initrd.img'), randomFile);
  server = createTftpServer({
    providers: [generated, createDiskFileProvider(base)],
    address: loopback,
    port: 0,
    transferThreads: 2,
    maxRetransmissions: 1,
  });
  server.on('transfer-end', (report) => reports.push(report));
  port = (await server.listen()).port;
});

after(async () => {
  await server?.close();
  if (base !== undefined) await rm(base, { recursive: true, force: true });
});

test('curl and our client (windowsize 16) fetch byte-identical files from transfer threads, at the same time', async () => {
  const fetches = [
    curl(['-sS', '--tftp-blksize', '1468', `tftp://${loopback}:${port}/initrd.img`]).then((r) => sha256(r.stdout)),
    curl(['-sS', `tftp://${loopback}:${port}/initrd.img`]).then((r) => sha256(r.stdout)),
    ...[1, 16].map((windowSize) =>
      fetchTftpFile({ host: loopback, port, path: 'initrd.img', blockSize: 1468, windowSize }).then((r) => (r.ok ? sha256(r.bytes) : r.message)),
    ),
  ];
  assert.deepEqual(await Promise.all(fetches), fetches.map(() => sha256(randomFile)));
  const generatedFile = await fetchTftpFile({ host: loopback, port, path: 'generated.cfg', mode: 'netascii' });
  assert.ok(generatedFile.ok);
  assert.equal(generatedFile.bytes.toString(), 'generated for 127.0.0.1\n');
});

test('a lost DATA packet with windowsize is resent by the transfer thread', async () => {
  let dropped = false;
  const result = await fetchTftpFile({
    host: loopback,
    port,
    path: 'initrd.img',
    blockSize: 1468,
    windowSize: 16,
    retryTimeoutMs: 300,
    ignoreDataPacket: (block) => !dropped && block === 40 && (dropped = true),
  });
  assert.ok(result.ok, result.ok ? '' : result.message);
  assert.equal(sha256(result.bytes), sha256(randomFile));
});

test('a silent client times out on its thread, and the report says so', async () => {
  const peer = await openPeer();
  try {
    peer.socket.send(encodeTftpRequest('read-request', 'initrd.img', 'octet', [{ name: 'utimeout', value: '100000' }]), port, loopback);
    const report = await reportOf(peer.socket);
    await waitFor(() => peer.packets.length >= 3, 'the ERROR packet');
    assert.deepEqual(
      peer.packets.map((p) => p.packet?.type),
      ['option-acknowledgement', 'option-acknowledgement', 'error'],
    );
    assert.equal(report.outcome, 'timeout');
    assert.equal(report.retransmissions, 1);
  } finally {
    peer.socket.close();
  }
});

test('a repeated request is recognised while the threaded transfer has heard nothing', async () => {
  const peer = await openPeer();
  try {
    const request = encodeTftpRequest('read-request', 'generated.cfg', 'octet');
    peer.socket.send(request, port, loopback);
    peer.socket.send(request, port, loopback);
    await waitFor(() => peer.packets.length > 0, 'DATA 1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(peer.packets.length, 1, 'one transfer, one DATA packet');
    peer.socket.send(encodeTftpAcknowledgement(1), peer.packets[0]!.fromPort, loopback);
    assert.equal((await reportOf(peer.socket)).outcome, 'complete');
  } finally {
    peer.socket.close();
  }
});

test('close() aborts threaded transfers, tells their clients, and stops the threads', async () => {
  const closing = createTftpServer({ providers: [createDiskFileProvider(base)], address: loopback, port: 0, transferThreads: 1 });
  const ended: TftpTransferReport[] = [];
  closing.on('transfer-end', (report) => ended.push(report));
  const { port: closingPort } = await closing.listen();
  const peer = await openPeer();
  try {
    peer.socket.send(encodeTftpRequest('read-request', 'initrd.img', 'octet'), closingPort, loopback);
    await waitFor(() => peer.packets.length > 0, 'DATA 1');
    await closing.close();
    await waitFor(() => peer.packets.length > 1, 'the goodbye');
    const goodbye = peer.packets[1]?.packet;
    assert.equal(goodbye?.type === 'error' && goodbye.message, 'server shutting down');
    assert.deepEqual(ended.map((r) => r.outcome), ['aborted']);
  } finally {
    peer.socket.close();
    await closing.close();
  }
});
