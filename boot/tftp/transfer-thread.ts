// A transfer thread: runs the read transfers that the server thread hands it (see transfer-threads.ts),
// each on its own socket, and reports how each ended.
import { parentPort } from 'node:worker_threads';
import { openPortableBlockSource } from './block-source.js';
import type { TftpProblem } from './errors.js';
import { TftpReadTransfer, type TftpTransferResult } from './transfer.js';
import type { TftpThreadJob, TftpThreadReply, TftpThreadRequest } from './transfer-threads.js';
import { bindUdpSocket } from './udp.js';

const port = parentPort;
if (port === null) throw new Error('transfer-thread.ts runs as a worker thread');

const transfers = new Map<number, TftpReadTransfer>();
/** Transfers whose socket is being bound, and the abort that arrived meanwhile, if one did. */
const starting = new Map<number, TftpProblem | undefined>();

function reply(message: TftpThreadReply): void {
  port!.postMessage(message);
}

async function runTransfer(id: number, job: TftpThreadJob): Promise<void> {
  let result: TftpTransferResult;
  starting.set(id, undefined);
  try {
    const socket = await bindUdpSocket(job.bindAddress, 0);
    const transfer = new TftpReadTransfer({
      socket,
      client: job.client,
      source: openPortableBlockSource(job.content),
      negotiated: job.negotiated,
      maxRetransmissions: job.maxRetransmissions,
      onFirstClientPacket: () => reply({ type: 'heard', id }),
    });
    transfers.set(id, transfer);
    const abortedEarly = starting.get(id);
    starting.delete(id);
    if (abortedEarly === undefined) transfer.start();
    else transfer.abort(abortedEarly);
    result = await transfer.finished;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result = { outcome: 'error', bytesTransferred: 0, retransmissions: 0, error: { kind: 'not-defined', message, from: 'server' } };
  } finally {
    starting.delete(id);
    transfers.delete(id);
  }
  reply({ type: 'end', id, result });
}

port.on('message', (message: TftpThreadRequest) => {
  switch (message.type) {
    case 'start':
      void runTransfer(message.id, message.job);
      return;
    case 'abort': {
      const transfer = transfers.get(message.id);
      if (transfer !== undefined) transfer.abort(message.problem);
      else if (starting.has(message.id)) starting.set(message.id, message.problem);
      return;
    }
  }
});

reply({ type: 'ready' });
