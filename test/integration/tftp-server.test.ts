// The TFTP server against real clients (curl, tftp-hpa's tftp, our own client) and raw packets, on
// 127.0.0.1 only. Needs curl and tftp-hpa: scripts/setup/tftp-lab.sh installs them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDiskFileProvider,
  createTftpServer,
  fetchTftpFile,
  tftpBytesFile,
  tftpFileRefusal,
  type TftpFileProvider,
  type TftpRequestEvent,
  type TftpServer,
  type TftpTransferReport,
} from '../../boot/tftp/index.js';
import { decodeTftpPacket, encodeTftpAcknowledgement, encodeTftpRequest, type TftpPacket } from '../../boot/tftp/packets.js';

const loopback = '127.0.0.1';
const secret = 'SECRET-OUTSIDE-THE-ROOT';

let base: string;
let root: string;
let server: TftpServer;
let port: number;
const requests: TftpRequestEvent[] = [];
const reports: TftpTransferReport[] = [];
let randomFile: Buffer;

const generatedProvider: TftpFileProvider = async ({ path, client }) => {
  if (path === 'refused-by-provider') return tftpFileRefusal({ kind: 'access-violation', message: 'not for you' });
  if (path === 'provider-throws') throw new Error('database unavailable');
  const match = /^pxelinux\.cfg\/01-([0-9a-f-]{17})$/.exec(path);
  if (match === null) return undefined;
  return tftpBytesFile(`DEFAULT rescue\nLABEL rescue\n  KERNEL vmlinuz\n  APPEND mac=${match[1]} from=${client.address}\n`);
};

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface ProcessResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without a shell, killed if it outlives timeoutMs. */
function run(command: string, args: string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'buffer', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr: stderr.toString('utf8') });
    });
  });
}

/**
 * The number of reports so far, once every transfer under way has ended: a client is done when it sends
 * its last ACK, the server reports a moment later, and that report must not be taken for the next one's.
 */
async function reportsSoFar(): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (server.transfersInProgress > 0) {
    if (Date.now() > deadline) throw new Error('transfers still in progress');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return reports.length;
}

/** Waits for the report of the transfer that a client just finished (it may be emitted a moment later). */
async function reportFor(requestedPath: string, since: number): Promise<TftpTransferReport> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const report = reports.slice(since).find((r) => r.requestedPath === requestedPath);
    if (report !== undefined) return report;
    if (Date.now() > deadline) throw new Error(`no transfer-end report for ${requestedPath}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface RawReply {
  packet: TftpPacket | undefined;
  raw: Buffer;
  fromPort: number;
}

/** A raw UDP peer: sends what it is told and records what comes back. */
class RawPeer {
  readonly replies: RawReply[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (raw, remote) => {
      const decoded = decodeTftpPacket(raw);
      this.replies.push({ packet: decoded.ok ? decoded.packet : undefined, raw, fromPort: remote.port });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
  static async open(): Promise<RawPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, loopback, () => resolve()));
    return new RawPeer(socket);
  }
  send(packet: Buffer, toPort = port): void {
    this.socket.send(packet, toPort, loopback);
  }
  /** Resolves with the next reply not yet taken, or undefined after timeoutMs. */
  async next(timeoutMs = 3000): Promise<RawReply | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.replies.shift();
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

before(async () => {
  for (const tool of ['curl', 'tftp']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]);
    assert.equal(found.code, 0, `${tool} is missing: run scripts/setup/tftp-lab.sh`);
  }
  base = await mkdtemp(join(tmpdir(), 'tftp-it-'));
  root = join(base, 'root');
  await mkdir(join(root, 'boot'), { recursive: true });
  await writeFile(join(base, 'secret'), secret);
  randomFile = randomBytes(3 * 1024 * 1024 + 123);
  await writeFile(join(root, 'boot', 'initrd.img'), randomFile);
  await writeFile(join(root, 'small.txt'), 'hello\nworld\r\n');
  await writeFile(join(root, 'exact-512'), randomBytes(512));
  await writeFile(join(root, 'empty'), '');
  await symlink(join(base, 'secret'), join(root, 'escape'));
  await symlink('boot/initrd.img', join(root, 'initrd-alias'));
  server = createTftpServer({ providers: [generatedProvider, createDiskFileProvider(root)], address: loopback, port: 0 });
  server.on('request', (request) => requests.push(request));
  server.on('transfer-end', (report) => reports.push(report));
  port = (await server.listen()).port;
});

after(async () => {
  await server?.close();
  if (base !== undefined) await rm(base, { recursive: true, force: true });
});

test('curl fetches a multi-megabyte file byte-identical, with the default and a negotiated blksize', async () => {
  for (const blksize of [undefined, 1468, 8192]) {
    const since = await reportsSoFar();
    const args = ['-sS', ...(blksize === undefined ? [] : ['--tftp-blksize', String(blksize)]), `tftp://${loopback}:${port}/boot/initrd.img`];
    const result = await run('curl', args);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sha256(result.stdout), sha256(randomFile));
    const report = await reportFor('boot/initrd.img', since);
    assert.equal(report.outcome, 'complete');
    assert.equal(report.bytesTransferred, randomFile.length);
    assert.equal(report.fileSize, randomFile.length);
    assert.equal(report.blockSize, blksize ?? 512);
    assert.equal(report.client.address, loopback);
    assert.ok(report.durationMs > 0);
  }
});

test('tftp-hpa fetches a generated per-MAC file and a multi-megabyte file byte-identical', async () => {
  const local = join(base, 'from-tftp-hpa');
  const generated = await run('tftp', [loopback, String(port), '-m', 'binary', '-c', 'get', 'pxelinux.cfg/01-52-54-00-12-34-56', local]);
  assert.equal(generated.code, 0);
  assert.doesNotMatch(generated.stderr + generated.stdout.toString(), /Error code/);
  const config = await readFile(local, 'utf8');
  assert.match(config, /APPEND mac=52-54-00-12-34-56 from=127\.0\.0\.1\n$/);

  const big = await run('tftp', [loopback, String(port), '-m', 'binary', '-c', 'get', '/boot/initrd.img', local]);
  assert.doesNotMatch(big.stderr + big.stdout.toString(), /Error code/);
  assert.equal(sha256(await readFile(local)), sha256(randomFile));
});

test('tftp-hpa in netascii mode gets the text back as it is on disk', async () => {
  const local = join(base, 'small-netascii');
  const result = await run('tftp', [loopback, String(port), '-m', 'netascii', '-c', 'get', 'small.txt', local]);
  assert.doesNotMatch(result.stderr + result.stdout.toString(), /Error code/);
  assert.equal(await readFile(local, 'utf8'), 'hello\nworld\r\n');
  const ours = await fetchTftpFile({ host: loopback, port, path: 'small.txt', mode: 'netascii', requestSize: true });
  assert.ok(ours.ok);
  assert.equal(ours.bytes.toString('utf8'), 'hello\nworld\r\n');
  assert.equal(ours.announcedSize, Buffer.byteLength('hello\r\nworld\r\0\r\n'), 'tsize is the size on the wire');
});

test('files of exactly one block and of zero bytes end with the right DATA packets', async () => {
  for (const [path, size] of [['exact-512', 512], ['empty', 0]] as const) {
    const result = await run('curl', ['-sS', `tftp://${loopback}:${port}/${path}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, size);
  }
});

test('traversal, absolute names, escaping links and long names get TFTP errors and never a byte from outside', async () => {
  const attempts: [string, number][] = [
    ['../secret', 2],
    ['boot/../../secret', 2],
    ['//etc/passwd', 2],
    [`${base}/secret`, 1], // one leading "/" is dropped: this names a file under the root, which does not exist
    ['escape', 2],
    ['boot\\..\\..\\secret', 2],
    ['x'.repeat(300), 2],
    ['boot', 2],
    ['no-such-file', 1],
  ];
  for (const [path, code] of attempts) {
    const ours = await fetchTftpFile({ host: loopback, port, path });
    assert.equal(ours.ok, false, path);
    if (!ours.ok) {
      assert.equal(ours.kind, 'server-error', path);
      assert.equal(ours.serverError?.code, code, `${path}: ${ours.message}`);
    }
    const hpa = await run('tftp', [loopback, String(port), '-m', 'binary', '-c', 'get', path, join(base, 'attempt')]);
    assert.match(hpa.stderr + hpa.stdout.toString(), new RegExp(`Error code ${code}:`), path);
    assert.doesNotMatch((await readFile(join(base, 'attempt')).catch(() => Buffer.alloc(0))).toString('latin1'), new RegExp(secret));
  }
  const curlTraversal = await run('curl', ['-sS', '--path-as-is', `tftp://${loopback}:${port}/../secret`]);
  assert.notEqual(curlTraversal.code, 0);
  assert.doesNotMatch(curlTraversal.stdout.toString('latin1'), new RegExp(secret));
  const curlLink = await run('curl', ['-sS', `tftp://${loopback}:${port}/escape`]);
  assert.equal(curlLink.code, 69, 'curl: TFTP permission problem');
  assert.equal(curlLink.stdout.length, 0);
});

test('a link inside the root to a file inside the root is served', async () => {
  const result = await fetchTftpFile({ host: loopback, port, path: 'initrd-alias', blockSize: 1468 });
  assert.ok(result.ok);
  assert.equal(sha256(result.bytes), sha256(randomFile));
});

test('provider refusals and provider failures are TFTP errors, and the server goes on', async () => {
  const refused = await fetchTftpFile({ host: loopback, port, path: 'refused-by-provider' });
  assert.deepEqual(refused, { ok: false, kind: 'server-error', message: 'not for you', serverError: { code: 2, kind: 'access-violation' } });
  const since = await reportsSoFar();
  const failed = await fetchTftpFile({ host: loopback, port, path: 'provider-throws' });
  assert.deepEqual(failed, { ok: false, kind: 'server-error', message: 'internal error', serverError: { code: 0, kind: 'not-defined' } });
  const report = await reportFor('provider-throws', since);
  assert.equal(report.outcome, 'error');
  assert.match(report.error?.message ?? '', /database unavailable/);
  assert.ok((await fetchTftpFile({ host: loopback, port, path: 'small.txt' })).ok);
});

test('malformed packets get ERROR packets and the server keeps serving', async () => {
  const peer = await RawPeer.open();
  try {
    const cases: [string, Buffer, number][] = [
      ['one byte', Buffer.from([0]), 4],
      ['unknown opcode', Buffer.from([0, 9, 1, 2]), 4],
      ['request without terminators', Buffer.from('\x00\x01file-and-no-nul', 'latin1'), 4],
      ['request with mode but no terminator', Buffer.from('\x00\x01file\x00octet', 'latin1'), 4],
      ['unknown mode', encodeTftpRequest('read-request', 'small.txt', 'binary'), 4],
      ['option without value', Buffer.from('\x00\x01small.txt\x00octet\x00blksize\x00', 'latin1'), 8],
      ['ACK to the server port', encodeTftpAcknowledgement(1), 4],
      ['DATA to the server port', Buffer.from([0, 3, 0, 1, 1, 2, 3]), 4],
      ['write request', encodeTftpRequest('write-request', 'small.txt', 'octet'), 2],
    ];
    for (const [name, packet, code] of cases) {
      peer.send(packet);
      const reply = await peer.next();
      assert.ok(reply !== undefined, `${name}: no reply`);
      assert.equal(reply.packet?.type, 'error', name);
      assert.equal(reply.packet?.type === 'error' && reply.packet.code, code, name);
    }
    peer.send(Buffer.from([0, 5, 0, 0, 0])); // an ERROR is never answered
    assert.equal(await peer.next(300), undefined);
  } finally {
    await peer.close();
  }
  const after = await fetchTftpFile({ host: loopback, port, path: 'small.txt' });
  assert.ok(after.ok);
});

test('a write request is refused by curl and tftp-hpa uploads too', async () => {
  const upload = join(base, 'upload.txt');
  await writeFile(upload, 'should not arrive');
  const since = await reportsSoFar();
  const result = await run('curl', ['-sS', '-T', upload, `tftp://${loopback}:${port}/uploaded.txt`]);
  assert.notEqual(result.code, 0);
  const report = await reportFor('uploaded.txt', since);
  assert.equal(report.operation, 'write');
  assert.equal(report.outcome, 'error');
  const hpa = await run('tftp', [loopback, String(port), '-m', 'binary', '-c', 'put', upload, 'uploaded.txt']);
  assert.match(hpa.stderr + hpa.stdout.toString(), /Error code 2:/);
  await assert.rejects(readFile(join(root, 'uploaded.txt')));
});

test('a packet from a wrong transfer ID gets error 5 and the transfer completes', async () => {
  const client = await RawPeer.open();
  const stranger = await RawPeer.open();
  try {
    const since = await reportsSoFar();
    client.send(encodeTftpRequest('read-request', 'small.txt', 'octet'));
    const first = await client.next();
    assert.equal(first?.packet?.type, 'data');
    assert.notEqual(first?.fromPort, port, 'the transfer runs on its own port');
    stranger.send(encodeTftpAcknowledgement(1), first!.fromPort);
    const rebuff = await stranger.next();
    assert.equal(rebuff?.packet?.type === 'error' && rebuff.packet.code, 5);
    client.send(encodeTftpAcknowledgement(1), first!.fromPort);
    const report = await reportFor('small.txt', since);
    assert.equal(report.outcome, 'complete');
    assert.equal(report.bytesTransferred, 13);
  } finally {
    await client.close();
    await stranger.close();
  }
});

test('a request repeated before the first answer is acknowledged starts one transfer only', async () => {
  const client = await RawPeer.open();
  try {
    await reportsSoFar();
    const since = requests.length;
    const request = encodeTftpRequest('read-request', 'small.txt', 'octet');
    client.send(request);
    client.send(request);
    const first = await client.next();
    assert.equal(first?.packet?.type, 'data');
    assert.equal(await client.next(300), undefined);
    assert.equal(requests.slice(since).length, 1);
    client.send(encodeTftpAcknowledgement(1), first!.fromPort);
  } finally {
    await client.close();
  }
});

test('a client that stops acknowledging gets retransmissions, then the transfer ends as a timeout', async () => {
  const impatient = createTftpServer({ providers: [createDiskFileProvider(root)], address: loopback, port: 0, maxRetransmissions: 2 });
  const ended: TftpTransferReport[] = [];
  impatient.on('transfer-end', (report) => ended.push(report));
  const { port: impatientPort } = await impatient.listen();
  const client = await RawPeer.open();
  try {
    // Silent after the OACK: timeout 1 s negotiated, two resends, then the server gives up.
    client.send(encodeTftpRequest('read-request', 'small.txt', 'octet', [{ name: 'timeout', value: '1' }]), impatientPort);
    const started = Date.now();
    const packets: TftpPacket[] = [];
    for (let reply = await client.next(5000); reply !== undefined; reply = await client.next(2500)) {
      if (reply.packet !== undefined) packets.push(reply.packet);
      if (reply.packet?.type === 'error') break;
    }
    assert.deepEqual(
      packets.map((p) => p.type),
      ['option-acknowledgement', 'option-acknowledgement', 'option-acknowledgement', 'error'],
    );
    assert.ok(Date.now() - started >= 2500, 'resends are a timeout apart');
    // Silent after the first DATA block (utimeout: 100 ms).
    client.send(encodeTftpRequest('read-request', 'boot/initrd.img', 'octet', [{ name: 'utimeout', value: '100000' }]), impatientPort);
    const oack = await client.next();
    client.send(encodeTftpAcknowledgement(0), oack!.fromPort);
    const dataBlocks: number[] = [];
    for (let reply = await client.next(); reply !== undefined; reply = await client.next(1000)) {
      if (reply.packet?.type === 'data') dataBlocks.push(reply.packet.block);
      if (reply.packet?.type === 'error') break;
    }
    assert.deepEqual(dataBlocks, [1, 1, 1]);
    const deadline = Date.now() + 5000;
    while (ended.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      ended.map((r) => [r.outcome, r.retransmissions, r.timeoutMs]),
      [
        ['timeout', 2, 1000],
        ['timeout', 2, 100],
      ],
    );
    assert.equal(impatient.transfersInProgress, 0, 'timed-out transfers are freed');
  } finally {
    await client.close();
    await impatient.close();
  }
});

test('our client with windowsize 16 and blksize 1468 fetches byte-identical, also when a DATA packet is lost', async () => {
  const since = await reportsSoFar();
  const clean = await fetchTftpFile({ host: loopback, port, path: 'boot/initrd.img', blockSize: 1468, windowSize: 16, requestSize: true });
  assert.ok(clean.ok, clean.ok ? '' : clean.message);
  assert.equal(clean.windowSize, 16);
  assert.equal(clean.blockSize, 1468);
  assert.equal(clean.announcedSize, randomFile.length);
  assert.equal(sha256(clean.bytes), sha256(randomFile));
  const cleanReport = await reportFor('boot/initrd.img', since);
  assert.equal(cleanReport.windowSize, 16);
  assert.equal(cleanReport.retransmissions, 0);
  assert.deepEqual(cleanReport.acknowledgedOptions, { blksize: '1468', tsize: String(randomFile.length), windowsize: '16' });

  for (const lost of [5, 16, 17, 2000]) {
    const sinceLossy = await reportsSoFar();
    let dropped = false;
    const lossy = await fetchTftpFile({
      host: loopback,
      port,
      path: 'boot/initrd.img',
      blockSize: 1468,
      windowSize: 16,
      retryTimeoutMs: 300,
      ignoreDataPacket: (block) => {
        if (dropped || block !== lost) return false;
        dropped = true;
        return true;
      },
    });
    assert.ok(lossy.ok, lossy.ok ? '' : lossy.message);
    assert.ok(dropped);
    assert.equal(sha256(lossy.bytes), sha256(randomFile), `block ${lost} lost`);
    const report = await reportFor('boot/initrd.img', sinceLossy);
    assert.equal(report.outcome, 'complete');
    assert.ok(report.retransmissions > 0, `block ${lost} lost: the server resent`);
  }
});

test('a client that gives up mid-transfer ends it as aborted, with its message', async () => {
  const since = await reportsSoFar();
  const controller = new AbortController();
  const result = await fetchTftpFile({
    host: loopback,
    port,
    path: 'boot/initrd.img',
    blockSize: 1024,
    signal: controller.signal,
    ignoreDataPacket: (block) => {
      if (block === 10) controller.abort();
      return false;
    },
  });
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.kind, 'aborted');
  const report = await reportFor('boot/initrd.img', since);
  assert.equal(report.outcome, 'aborted');
  assert.deepEqual(report.error, { kind: 'not-defined', message: 'aborted by the client', from: 'client' });
  assert.ok(report.bytesTransferred < randomFile.length);
});

test('block numbers roll over past 65535: a 33 MiB file at blksize 512 with curl, and blksize 8 with ours', async () => {
  const bigPath = join(root, 'big.img');
  const big = randomBytes(33 * 1024 * 1024 + 7);
  await writeFile(bigPath, big);
  try {
    const result = await run('curl', ['-sS', '--tftp-blksize', '512', `tftp://${loopback}:${port}/big.img`], 120_000);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, big.length);
    assert.equal(sha256(result.stdout), sha256(big));
  } finally {
    await rm(bigPath);
  }
  const tiny = await fetchTftpFile({ host: loopback, port, path: 'boot/initrd.img', blockSize: 8, windowSize: 64 });
  assert.ok(tiny.ok, tiny.ok ? '' : tiny.message);
  assert.ok(tiny.dataPackets > 65536 * 6);
  assert.equal(sha256(tiny.bytes), sha256(randomFile));
});

test('many transfers at once, from curl, tftp-hpa and our client, all byte-identical', async () => {
  const fetches: Promise<string>[] = [];
  for (let i = 0; i < 4; i += 1) {
    fetches.push(run('curl', ['-sS', '--tftp-blksize', '1468', `tftp://${loopback}:${port}/boot/initrd.img`]).then((r) => sha256(r.stdout)));
    const local = join(base, `parallel-${i}`);
    fetches.push(
      run('tftp', [loopback, String(port), '-m', 'binary', '-c', 'get', 'boot/initrd.img', local]).then(async () => sha256(await readFile(local))),
    );
    fetches.push(
      fetchTftpFile({ host: loopback, port, path: 'boot/initrd.img', blockSize: 1024, windowSize: 8 }).then((r) =>
        r.ok ? sha256(r.bytes) : r.message,
      ),
    );
  }
  const hashes = await Promise.all(fetches);
  assert.deepEqual(hashes, hashes.map(() => sha256(randomFile)));
});

test('every request is reported once at its start and once at its end', async () => {
  const deadline = Date.now() + 5000;
  while (server.transfersInProgress > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(server.transfersInProgress, 0);
  assert.deepEqual(
    reports.map((r) => r.transferId).sort((a, b) => a - b),
    requests.map((r) => r.transferId).sort((a, b) => a - b),
  );
});

test('close() aborts transfers in progress, tells their clients, and frees the port', async () => {
  const closing = createTftpServer({ providers: [createDiskFileProvider(root)], address: loopback, port: 0 });
  const ended: TftpTransferReport[] = [];
  closing.on('transfer-end', (report) => ended.push(report));
  const { port: closingPort } = await closing.listen();
  const client = await RawPeer.open();
  try {
    client.send(encodeTftpRequest('read-request', 'boot/initrd.img', 'octet'), closingPort);
    const first = await client.next();
    assert.equal(first?.packet?.type, 'data');
    await closing.close();
    const goodbye = await client.next();
    assert.equal(goodbye?.packet?.type === 'error' && goodbye.packet.message, 'server shutting down');
    assert.deepEqual(ended.map((r) => r.outcome), ['aborted']);
    assert.equal(closing.transfersInProgress, 0);
    const rebound = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      rebound.once('error', reject);
      rebound.bind(closingPort, loopback, () => resolve());
    });
    await new Promise<void>((resolve) => rebound.close(() => resolve()));
  } finally {
    await client.close();
    await closing.close();
  }
});
