// The read transfer state machine against a fake socket: every packet it sends is recorded, and the test
// plays the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { TftpReadTransfer, type TftpTransferSocket } from '../../boot/tftp/transfer.js';
import type { TftpBlockSource } from '../../boot/tftp/block-source.js';
import type { TftpNegotiatedOptions } from '../../boot/tftp/options.js';
import { decodeTftpPacket, encodeTftpAcknowledgement, encodeTftpError, type TftpPacket } from '../../boot/tftp/packets.js';

const client = { address: '127.0.0.1', port: 40000 };

interface SentPacket {
  packet: TftpPacket;
  to: { address: string; port: number };
}

class FakeSocket implements TftpTransferSocket {
  readonly sent: SentPacket[] = [];
  closed = false;
  private onMessage: ((message: Buffer, remote: RemoteInfo) => void) | undefined;

  on(event: 'message' | 'error', listener: ((message: Buffer, remote: RemoteInfo) => void) | ((error: Error) => void)): this {
    if (event === 'message') this.onMessage = listener as (message: Buffer, remote: RemoteInfo) => void;
    return this;
  }
  send(message: Buffer, port: number, address: string, callback?: (error: Error | null) => void): void {
    const decoded = decodeTftpPacket(message);
    assert.ok(decoded.ok, 'the transfer sent a malformed packet');
    this.sent.push({ packet: decoded.packet, to: { address, port } });
    callback?.(null);
  }
  close(callback?: () => void): void {
    this.closed = true;
    callback?.();
  }
  deliver(message: Buffer, from: { address: string; port: number } = client): void {
    this.onMessage?.(message, { ...from, family: 'IPv4', size: message.length });
  }
  /** Takes the packets sent since the last call. */
  take(): TftpPacket[] {
    return this.sent.splice(0).map((s) => s.packet);
  }
}

function memorySource(size: number): TftpBlockSource & { bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) bytes[i] = i % 251;
  return { bytes, size, read: (start, end) => bytes.subarray(start, end), close: async () => undefined, portable: () => ({ kind: 'bytes', bytes }) };
}

function options(overrides: Partial<TftpNegotiatedOptions> = {}): TftpNegotiatedOptions {
  return { blockSize: 512, windowSize: 1, timeoutMs: 60_000, acknowledged: [], ...overrides };
}

function dataBlocks(packets: TftpPacket[]): number[] {
  return packets.map((p) => (p.type === 'data' ? p.block : -1));
}

const ack = encodeTftpAcknowledgement;

test('lock-step without options: DATA 1 at once, a short last block, complete after its ACK', async () => {
  const socket = new FakeSocket();
  const source = memorySource(1100);
  const transfer = new TftpReadTransfer({ socket, client, source, negotiated: options(), maxRetransmissions: 3 });
  transfer.start();
  assert.deepEqual(dataBlocks(socket.take()), [1]);
  socket.deliver(ack(1));
  socket.deliver(ack(1)); // duplicate: answering it would be the Sorcerer's Apprentice
  assert.deepEqual(dataBlocks(socket.take()), [2]);
  socket.deliver(ack(2));
  const last = socket.take();
  assert.deepEqual(dataBlocks(last), [3]);
  assert.equal(last[0]?.type === 'data' && last[0].data.length, 1100 - 1024);
  socket.deliver(ack(3));
  const result = await transfer.finished;
  assert.deepEqual(result, { outcome: 'complete', bytesTransferred: 1100, retransmissions: 0 });
  assert.equal(socket.closed, true);
});

test('a file that fills its last block ends with an empty DATA packet', async () => {
  const socket = new FakeSocket();
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(1024), negotiated: options(), maxRetransmissions: 3 });
  transfer.start();
  socket.deliver(ack(1));
  socket.deliver(ack(2));
  const packets = socket.take();
  assert.deepEqual(dataBlocks(packets), [1, 2, 3]);
  assert.equal(packets[2]?.type === 'data' && packets[2].data.length, 0);
  socket.deliver(ack(3));
  assert.equal((await transfer.finished).outcome, 'complete');
});

test('with options: OACK first, DATA 1 only after ACK 0', async () => {
  const socket = new FakeSocket();
  const negotiated = options({ blockSize: 1024, acknowledged: [{ name: 'blksize', value: '1024' }] });
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(1500), negotiated, maxRetransmissions: 3 });
  transfer.start();
  assert.deepEqual(socket.take(), [{ type: 'option-acknowledgement', options: [{ name: 'blksize', value: '1024' }] }]);
  socket.deliver(ack(1)); // not the answer to an OACK
  assert.deepEqual(socket.take(), []);
  socket.deliver(ack(0));
  assert.deepEqual(dataBlocks(socket.take()), [1]);
  socket.deliver(ack(1));
  socket.deliver(ack(2));
  assert.equal((await transfer.finished).bytesTransferred, 1500);
});

test('windowsize: a window per ACK; an ACK inside the window resends from the block after it (RFC 7440)', async () => {
  const socket = new FakeSocket();
  const negotiated = options({ blockSize: 8, windowSize: 4, acknowledged: [{ name: 'windowsize', value: '4' }] });
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(8 * 10 + 3), negotiated, maxRetransmissions: 3 });
  transfer.start();
  socket.take();
  socket.deliver(ack(0));
  assert.deepEqual(dataBlocks(socket.take()), [1, 2, 3, 4]);
  socket.deliver(ack(2)); // blocks 3 and 4 were lost
  assert.deepEqual(dataBlocks(socket.take()), [3, 4, 5, 6]);
  socket.deliver(ack(2)); // the same ACK again: ignored
  socket.deliver(ack(1)); // older than what was acknowledged: ignored
  socket.deliver(ack(9)); // never sent: ignored
  assert.deepEqual(socket.take(), []);
  socket.deliver(ack(6));
  assert.deepEqual(dataBlocks(socket.take()), [7, 8, 9, 10]);
  socket.deliver(ack(10));
  assert.deepEqual(dataBlocks(socket.take()), [11]);
  socket.deliver(ack(11));
  const result = await transfer.finished;
  assert.equal(result.outcome, 'complete');
  assert.equal(result.retransmissions, 2);
});

test('block numbers wrap from 65535 to 0 and the transfer still completes', async () => {
  const socket = new FakeSocket();
  const blocks = 70_000;
  const source = memorySource(8 * (blocks - 1) + 5);
  const negotiated = options({ blockSize: 8, windowSize: 1000, acknowledged: [{ name: 'blksize', value: '8' }] });
  const transfer = new TftpReadTransfer({ socket, client, source, negotiated, maxRetransmissions: 3 });
  transfer.start();
  socket.take();
  socket.deliver(ack(0));
  const received: Buffer[] = [];
  const wireBlocks: number[] = [];
  for (;;) {
    const packets = socket.take();
    if (packets.length === 0) break;
    for (const packet of packets) {
      assert.equal(packet.type, 'data');
      if (packet.type === 'data') {
        received.push(packet.data);
        wireBlocks.push(packet.block);
      }
    }
    const last = packets.at(-1);
    if (last?.type === 'data') socket.deliver(ack(last.block));
  }
  const result = await transfer.finished;
  assert.equal(result.outcome, 'complete');
  assert.equal(wireBlocks.length, blocks);
  assert.equal(wireBlocks[65534], 65535);
  assert.equal(wireBlocks[65535], 0);
  assert.equal(wireBlocks[65536], 1);
  assert.deepEqual(Buffer.concat(received), source.bytes);
});

test('silence: bounded retransmissions, then an ERROR and outcome timeout', async () => {
  const socket = new FakeSocket();
  const negotiated = options({ timeoutMs: 20, acknowledged: [{ name: 'timeout', value: '1' }] });
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(2000), negotiated, maxRetransmissions: 2 });
  transfer.start();
  const result = await transfer.finished;
  const packets = socket.take();
  assert.deepEqual(
    packets.map((p) => p.type),
    ['option-acknowledgement', 'option-acknowledgement', 'option-acknowledgement', 'error'],
  );
  assert.equal(result.outcome, 'timeout');
  assert.equal(result.retransmissions, 2);
  assert.match(result.error?.message ?? '', /no acknowledgement after 2 retransmissions/);
});

test('silence during DATA resends the whole window', async () => {
  const socket = new FakeSocket();
  const negotiated = options({ blockSize: 8, windowSize: 3, timeoutMs: 20, acknowledged: [{ name: 'windowsize', value: '3' }] });
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(100), negotiated, maxRetransmissions: 1 });
  transfer.start();
  socket.take();
  socket.deliver(ack(0));
  const result = await transfer.finished;
  assert.deepEqual(dataBlocks(socket.take()), [1, 2, 3, 1, 2, 3, -1]);
  assert.equal(result.outcome, 'timeout');
  assert.equal(result.retransmissions, 3);
});

test('a packet from another transfer ID gets error 5 and leaves the transfer alone', async () => {
  const socket = new FakeSocket();
  const transfer = new TftpReadTransfer({ socket, client, source: memorySource(600), negotiated: options(), maxRetransmissions: 3 });
  transfer.start();
  socket.take();
  const stranger = { address: '127.0.0.1', port: 40001 };
  socket.deliver(ack(1), stranger);
  socket.deliver(encodeTftpError('not-defined', 'no'), stranger); // an ERROR is never answered
  assert.deepEqual(socket.sent.splice(0), [
    { packet: { type: 'error', code: 5, kind: 'unknown-transfer-id', message: 'unknown transfer ID' }, to: stranger },
  ]);
  socket.deliver(ack(1));
  socket.deliver(ack(2));
  assert.equal((await transfer.finished).outcome, 'complete');
});

test('an ERROR from the client aborts; abort() tells the client; garbage from the client is an error', async () => {
  const fromClient = new FakeSocket();
  const aborted = new TftpReadTransfer({ socket: fromClient, client, source: memorySource(600), negotiated: options(), maxRetransmissions: 3 });
  aborted.start();
  fromClient.deliver(encodeTftpError('option-negotiation-refused', 'no thanks'));
  assert.deepEqual((await aborted.finished).error, { kind: 'option-negotiation-refused', message: 'no thanks', from: 'client' });

  const byServer = new FakeSocket();
  const stopped = new TftpReadTransfer({ socket: byServer, client, source: memorySource(600), negotiated: options(), maxRetransmissions: 3 });
  stopped.start();
  stopped.abort({ kind: 'not-defined', message: 'server shutting down' });
  assert.equal((await stopped.finished).outcome, 'aborted');
  assert.deepEqual(byServer.take().at(-1), { type: 'error', code: 0, kind: 'not-defined', message: 'server shutting down' });

  const garbage = new FakeSocket();
  const confused = new TftpReadTransfer({ socket: garbage, client, source: memorySource(600), negotiated: options(), maxRetransmissions: 3 });
  confused.start();
  garbage.deliver(Buffer.from([0, 3, 0, 1, 65]));
  const result = await confused.finished;
  assert.equal(result.outcome, 'error');
  assert.equal(result.error?.kind, 'illegal-operation');
});

test('a source that fails mid-transfer ends it with an error', async () => {
  const socket = new FakeSocket();
  const source: TftpBlockSource = {
    size: 2000,
    read: (start) => (start === 0 ? Buffer.alloc(512) : Promise.reject(new Error('file shrank while being sent'))),
    close: async () => undefined,
    portable: () => ({ kind: 'bytes', bytes: Buffer.alloc(0) }),
  };
  const transfer = new TftpReadTransfer({ socket, client, source, negotiated: options(), maxRetransmissions: 3 });
  transfer.start();
  socket.deliver(ack(1));
  const result = await transfer.finished;
  assert.equal(result.outcome, 'error');
  assert.match(result.error?.message ?? '', /file shrank/);
  assert.equal(socket.take().at(-1)?.type, 'error');
});
