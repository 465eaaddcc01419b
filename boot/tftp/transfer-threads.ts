// Transfer threads: worker threads that run read transfers, so that many clients use more than one core
// and the packets of a big transfer do not run through the event loop of the process that hosts the
// server (the API and the Temporal worker, in `serve`). The server thread keeps requests, providers and
// events; a transfer thread gets the negotiated options and the file's bytes or descriptor.
import { Worker } from 'node:worker_threads';
import type { TftpPortableContent } from './block-source.js';
import type { TftpProblem } from './errors.js';
import type { TftpClientAddress } from './files.js';
import type { TftpNegotiatedOptions } from './options.js';
import type { TftpRunningTransfer, TftpTransferResult } from './transfer.js';

export interface TftpThreadJob {
  client: TftpClientAddress;
  /** The address the transfer's socket binds to (the server's listening address). */
  bindAddress: string;
  content: TftpPortableContent;
  negotiated: TftpNegotiatedOptions;
  maxRetransmissions: number;
}

export type TftpThreadRequest =
  | { type: 'start'; id: number; job: TftpThreadJob }
  | { type: 'abort'; id: number; problem: TftpProblem };

export type TftpThreadReply =
  | { type: 'ready' }
  | { type: 'heard'; id: number }
  | { type: 'end'; id: number; result: TftpTransferResult };

interface ThreadedTransfer {
  heard: boolean;
  resolve: (result: TftpTransferResult) => void;
}

interface TransferThread {
  worker: Worker;
  ready: Promise<void>;
  transfers: Map<number, ThreadedTransfer>;
  alive: boolean;
}

/**
 * The worker's entry. Node 20 does not give worker threads the loader hooks of the main thread (tsx, when
 * the sources run as TypeScript), so then the entry registers tsx before it imports the thread's module.
 */
function transferThreadEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./transfer-thread.js', here);
  const target = new URL('./transfer-thread.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

function threadFailure(message: string): TftpTransferResult {
  return { outcome: 'error', bytesTransferred: 0, retransmissions: 0, error: { kind: 'not-defined', message, from: 'server' } };
}

export class TftpTransferThreads {
  private readonly threads: TransferThread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`transfer threads: ${count} is not a positive integer`);
  }

  /** Starts the threads and resolves once each has loaded its code. */
  async start(): Promise<void> {
    while (this.threads.length < this.count) this.threads.push(this.spawn());
    await Promise.all(this.threads.map((thread) => thread.ready));
  }

  /** Runs a transfer on the least busy thread. */
  run(job: TftpThreadJob): TftpRunningTransfer {
    if (this.closed) throw new Error('transfer threads are closed');
    for (let i = 0; i < this.threads.length; i += 1) if (!this.threads[i]!.alive) this.threads[i] = this.spawn();
    if (this.threads.length === 0) this.threads.push(this.spawn());
    const thread = this.threads.reduce((least, candidate) => (candidate.transfers.size < least.transfers.size ? candidate : least));
    const id = this.nextId++;
    let resolveFinished!: (result: TftpTransferResult) => void;
    const finished = new Promise<TftpTransferResult>((resolve) => {
      resolveFinished = resolve;
    });
    const transfer: ThreadedTransfer = { heard: false, resolve: resolveFinished };
    thread.transfers.set(id, transfer);
    thread.worker.postMessage({ type: 'start', id, job } satisfies TftpThreadRequest);
    return {
      finished,
      get hasHeardFromClient() {
        return transfer.heard;
      },
      abort: (problem) => {
        if (thread.alive && thread.transfers.has(id)) thread.worker.postMessage({ type: 'abort', id, problem } satisfies TftpThreadRequest);
      },
    };
  }

  /** Stops the threads; transfers still running on them end as errors (abort them first to end them cleanly). */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(
      threads.map(async (thread) => {
        thread.alive = false;
        await thread.worker.terminate();
        this.failAll(thread, 'transfer thread stopped');
      }),
    );
  }

  private spawn(): TransferThread {
    const worker = new Worker(transferThreadEntry());
    const thread: TransferThread = { worker, ready: Promise.resolve(), transfers: new Map(), alive: true };
    thread.ready = new Promise<void>((resolve, reject) => {
      const onEarlyExit = (code: number): void => reject(new Error(`transfer thread exited with code ${code} while starting`));
      worker.once('error', reject);
      worker.once('exit', onEarlyExit);
      worker.on('message', (message: TftpThreadReply) => {
        if (message.type === 'ready') {
          worker.off('error', reject);
          worker.off('exit', onEarlyExit);
          resolve();
        }
      });
    });
    thread.ready.catch(() => undefined);
    worker.on('message', (message: TftpThreadReply) => {
      if (message.type === 'heard') {
        const transfer = thread.transfers.get(message.id);
        if (transfer !== undefined) transfer.heard = true;
      } else if (message.type === 'end') {
        const transfer = thread.transfers.get(message.id);
        thread.transfers.delete(message.id);
        transfer?.resolve(message.result);
      }
    });
    // A thread that dies takes its transfers with it; the next run() starts a new one.
    worker.on('error', (error) => {
      thread.alive = false;
      this.failAll(thread, `transfer thread failed: ${error.message}`);
    });
    worker.on('exit', () => {
      thread.alive = false;
      this.failAll(thread, 'transfer thread exited');
    });
    return thread;
  }

  private failAll(thread: TransferThread, message: string): void {
    for (const transfer of thread.transfers.values()) transfer.resolve(threadFailure(message));
    thread.transfers.clear();
  }
}
