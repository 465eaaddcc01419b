// One read transfer, from the server's side: OACK (when options were acknowledged), then windows of DATA
// blocks, each window acknowledged by the client (RFC 1350 lock-step is a window of 1, RFC 7440 allows
// more). Runs on its own UDP socket, whose port is the server's transfer ID.
//
// Acknowledgements: an ACK for the last block sent moves the window on; an ACK for an earlier block of the
// window means the client lost what follows, so the window restarts after it (RFC 7440). A duplicate of
// the ACK already seen is ignored, as is any ACK outside the window: answering duplicates is what causes
// the Sorcerer's Apprentice syndrome (RFC 1123 4.2.3.1). Silence is answered by resending, a bounded
// number of times in a row.
import type { RemoteInfo } from 'node:dgram';
import type { TftpErrorKind, TftpProblem } from './errors.js';
import type { TftpBlockSource } from './block-source.js';
import type { TftpClientAddress } from './files.js';
import type { TftpNegotiatedOptions } from './options.js';
import {
  TftpOpcode,
  decodeTftpPacket,
  encodeTftpData,
  encodeTftpError,
  encodeTftpOptionAcknowledgement,
} from './packets.js';

export type TftpTransferOutcome = 'complete' | 'error' | 'timeout' | 'aborted';

export interface TftpTransferError {
  kind: TftpErrorKind;
  message: string;
  /** Who ended the transfer: the server sent an ERROR (or gave up), or the client did. */
  from: 'server' | 'client';
}

export interface TftpTransferResult {
  outcome: TftpTransferOutcome;
  /** File bytes the client acknowledged. */
  bytesTransferred: number;
  /** Packets (DATA or OACK) sent more than once. */
  retransmissions: number;
  error?: TftpTransferError;
}

/** What a transfer needs of its socket: a bound dgram.Socket, or a fake in tests. */
export interface TftpTransferSocket {
  on(event: 'message', listener: (message: Buffer, remote: RemoteInfo) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  send(message: Buffer, port: number, address: string, callback?: (error: Error | null) => void): void;
  close(callback?: () => void): unknown;
}

export interface TftpReadTransferSettings {
  /** A bound socket; the transfer owns it from now on and closes it at the end. */
  socket: TftpTransferSocket;
  client: TftpClientAddress;
  /** Owned too, closed at the end. */
  source: TftpBlockSource;
  negotiated: TftpNegotiatedOptions;
  /** How many times in a row silence is answered by resending before the transfer gives up. */
  maxRetransmissions: number;
  /** Called once, on the first packet from the client to this transfer's port. */
  onFirstClientPacket?: () => void;
}

/** A transfer under way, in this thread or in a transfer thread. */
export interface TftpRunningTransfer {
  readonly finished: Promise<TftpTransferResult>;
  /** True once the client has sent anything to this transfer's port. */
  readonly hasHeardFromClient: boolean;
  /** Stops the transfer, telling the client why (e.g. the server is closing). */
  abort(problem: TftpProblem): void;
}

type Phase = 'idle' | 'awaiting-option-acknowledgement' | 'sending' | 'ended';

export class TftpReadTransfer implements TftpRunningTransfer {
  readonly finished: Promise<TftpTransferResult>;
  private resolveFinished!: (result: TftpTransferResult) => void;
  private phase: Phase = 'idle';
  private readonly socket: TftpTransferSocket;
  private readonly client: TftpClientAddress;
  private readonly source: TftpBlockSource;
  private readonly blockSize: number;
  private readonly windowSize: number;
  private readonly lastBlock: number;
  private readonly optionAcknowledgement: Buffer | undefined;
  private readonly maxRetransmissions: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Highest block the client acknowledged (absolute, not wrapped at 65536). */
  private acknowledged = 0;
  private highestSent = 0;
  private silentTimeouts = 0;
  private retransmissions = 0;
  /** Bumped whenever a window is (re)started, so that a window whose read finished late is dropped. */
  private windowGeneration = 0;
  private heardFromClient = false;
  private readonly onFirstClientPacket: (() => void) | undefined;

  constructor(settings: TftpReadTransferSettings) {
    this.socket = settings.socket;
    this.client = settings.client;
    this.source = settings.source;
    this.blockSize = settings.negotiated.blockSize;
    this.windowSize = settings.negotiated.windowSize;
    this.maxRetransmissions = settings.maxRetransmissions;
    this.lastBlock = Math.floor(this.source.size / this.blockSize) + 1;
    this.optionAcknowledgement =
      settings.negotiated.acknowledged.length > 0
        ? encodeTftpOptionAcknowledgement(settings.negotiated.acknowledged)
        : undefined;
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    this.timeoutMs = settings.negotiated.timeoutMs;
    this.onFirstClientPacket = settings.onFirstClientPacket;
    this.socket.on('message', (message, remote) => this.onMessage(message, remote));
    this.socket.on('error', (error) => this.end('error', { kind: 'not-defined', message: error.message, from: 'server' }));
  }

  /** True once the client has sent anything to this transfer's port. */
  get hasHeardFromClient(): boolean {
    return this.heardFromClient;
  }

  start(): void {
    if (this.phase !== 'idle') return;
    if (this.optionAcknowledgement !== undefined) {
      this.phase = 'awaiting-option-acknowledgement';
      this.send(this.optionAcknowledgement);
      this.armTimer();
    } else {
      this.phase = 'sending';
      this.sendWindow(1);
    }
  }

  /** Stops the transfer, telling the client why (e.g. the server is closing). */
  abort(problem: TftpProblem): void {
    this.endWithError('aborted', problem);
  }

  private onMessage(message: Buffer, remote: RemoteInfo): void {
    try {
      this.handleMessage(message, remote);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.endWithError('error', { kind: 'not-defined', message: `internal error: ${message}` });
    }
  }

  private handleMessage(message: Buffer, remote: RemoteInfo): void {
    if (this.phase === 'ended') return;
    if (remote.address !== this.client.address || remote.port !== this.client.port) {
      // RFC 1350: answer the stranger, leave this transfer alone. An ERROR is never answered.
      if (!isErrorPacket(message)) {
        this.sendTo(encodeTftpError('unknown-transfer-id', 'unknown transfer ID'), remote.port, remote.address);
      }
      return;
    }
    if (!this.heardFromClient) {
      this.heardFromClient = true;
      this.onFirstClientPacket?.();
    }
    if (message.length === 4 && message[0] === 0 && message[1] === TftpOpcode.acknowledgement) {
      this.onAcknowledgement(message.readUInt16BE(2));
      return;
    }
    const decoded = decodeTftpPacket(message);
    if (!decoded.ok) {
      this.endWithError('error', decoded.problem);
      return;
    }
    const packet = decoded.packet;
    switch (packet.type) {
      case 'acknowledgement':
        this.onAcknowledgement(packet.block);
        return;
      case 'error':
        this.end('aborted', { kind: packet.kind, message: packet.message, from: 'client' });
        return;
      default:
        this.endWithError('error', { kind: 'illegal-operation', message: `unexpected ${packet.type} packet` });
    }
  }

  private onAcknowledgement(block: number): void {
    if (this.phase === 'awaiting-option-acknowledgement') {
      if (block !== 0) return;
      this.phase = 'sending';
      this.silentTimeouts = 0;
      this.sendWindow(1);
      return;
    }
    if (this.phase !== 'sending') return;
    const advance = (block - this.acknowledged) & 0xffff;
    if (advance === 0 || advance > this.highestSent - this.acknowledged) return;
    this.acknowledged += advance;
    this.silentTimeouts = 0;
    if (this.acknowledged === this.lastBlock) {
      this.end('complete');
      return;
    }
    this.sendWindow(this.acknowledged + 1);
  }

  private onTimeout(): void {
    if (this.phase === 'ended' || this.phase === 'idle') return;
    if (this.silentTimeouts >= this.maxRetransmissions) {
      this.endWithError('timeout', {
        kind: 'not-defined',
        message: `no acknowledgement after ${this.silentTimeouts} retransmissions`,
      });
      return;
    }
    this.silentTimeouts += 1;
    if (this.phase === 'awaiting-option-acknowledgement' && this.optionAcknowledgement !== undefined) {
      this.retransmissions += 1;
      this.send(this.optionAcknowledgement);
      this.armTimer();
      return;
    }
    this.sendWindow(this.acknowledged + 1);
  }

  /** (Re)starts the retransmission timer. A fired timer can be refreshed; a cleared one could not. */
  private armTimer(): void {
    if (this.timer === undefined) this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
    else this.timer.refresh();
  }

  private sendWindow(first: number): void {
    const generation = ++this.windowGeneration;
    const last = Math.min(first + this.windowSize - 1, this.lastBlock);
    const start = (first - 1) * this.blockSize;
    const end = Math.min(last * this.blockSize, this.source.size);
    let bytes: Uint8Array | Promise<Uint8Array>;
    try {
      bytes = this.source.read(start, end);
    } catch (error) {
      this.onReadError(error);
      return;
    }
    if (!(bytes instanceof Promise)) {
      this.sendBlocks(first, last, bytes);
      return;
    }
    this.armTimer();
    bytes.then(
      (read) => {
        if (generation === this.windowGeneration && this.phase === 'sending') this.sendBlocks(first, last, read);
      },
      (error: unknown) => this.onReadError(error),
    );
  }

  /** Sends blocks first..last, whose bytes start at bytes[0]. */
  private sendBlocks(first: number, last: number, bytes: Uint8Array): void {
    for (let block = first; block <= last; block += 1) {
      const offset = (block - first) * this.blockSize;
      this.send(encodeTftpData(block, bytes, offset, Math.min(offset + this.blockSize, bytes.length)));
    }
    if (last <= this.highestSent) this.retransmissions += last - first + 1;
    else if (first <= this.highestSent) this.retransmissions += this.highestSent - first + 1;
    this.highestSent = Math.max(this.highestSent, last);
    this.armTimer();
  }

  private onReadError(error: unknown): void {
    if (this.phase === 'ended') return;
    const message = error instanceof Error ? error.message : String(error);
    this.endWithError('error', { kind: 'not-defined', message: `read error: ${message}` });
  }

  private send(packet: Buffer): void {
    this.sendTo(packet, this.client.port, this.client.address);
  }

  private sendTo(packet: Buffer, port: number, address: string, afterSend?: () => void): void {
    try {
      this.socket.send(packet, port, address, afterSend);
    } catch {
      // The socket is closed already; the transfer is ending.
      afterSend?.();
    }
  }

  private endWithError(outcome: TftpTransferOutcome, problem: TftpProblem): void {
    if (this.phase === 'ended') return;
    const error: TftpTransferError = { ...problem, from: 'server' };
    this.finish(outcome, error, encodeTftpError(problem.kind, problem.message));
  }

  private end(outcome: TftpTransferOutcome, error?: TftpTransferError): void {
    if (this.phase === 'ended') return;
    this.finish(outcome, error, undefined);
  }

  private finish(outcome: TftpTransferOutcome, error: TftpTransferError | undefined, lastWords: Buffer | undefined): void {
    this.phase = 'ended';
    this.windowGeneration += 1;
    clearTimeout(this.timer);
    const result: TftpTransferResult = {
      outcome,
      bytesTransferred: Math.min(this.acknowledged * this.blockSize, this.source.size),
      retransmissions: this.retransmissions,
      ...(error === undefined ? {} : { error }),
    };
    const closeSocket = (): void => {
      try {
        this.socket.close(() => this.closeSource(result));
      } catch {
        this.closeSource(result);
      }
    };
    if (lastWords !== undefined) this.sendTo(lastWords, this.client.port, this.client.address, closeSocket);
    else closeSocket();
  }

  private closeSource(result: TftpTransferResult): void {
    this.source.close().then(
      () => this.resolveFinished(result),
      () => this.resolveFinished(result),
    );
  }
}

function isErrorPacket(message: Buffer): boolean {
  return message.length >= 2 && message.readUInt16BE(0) === TftpOpcode.error;
}
