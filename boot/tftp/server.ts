// The TFTP server: listens for requests, finds the file through the providers, and runs each read
// transfer on its own socket (transfer.ts), in this thread or on transfer threads (transfer-threads.ts).
// Write requests are refused: this server is read-only.
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { TftpProblem } from './errors.js';
import type { TftpClientAddress, TftpFile, TftpFileProvider, TftpFileRequest } from './files.js';
import { openTftpBlockSource, type TftpBlockSource } from './block-source.js';
import { normalizeTftpPath } from './jail.js';
import { negotiateTftpOptions, rfc1350BlockSize, tftpOptionsRecord, type TftpNegotiatedOptions } from './options.js';
import { TftpOpcode, decodeTftpPacket, encodeTftpError, type TftpMode, type TftpRequestPacket } from './packets.js';
import { TftpReadTransfer, type TftpRunningTransfer, type TftpTransferError, type TftpTransferOutcome } from './transfer.js';
import { TftpTransferThreads } from './transfer-threads.js';
import { bindUdpSocket } from './udp.js';
import { observeTftpRejectedPacket, observeTftpTransfer } from '../../observability/metrics.js';

/** 69 when running as root, else 6969 (an unprivileged port, reachable from QEMU guests too). */
export function defaultTftpPort(uid: number | undefined = process.getuid?.()): number {
  return uid === 0 ? 69 : 6969;
}

export interface TftpServerOptions {
  /** Asked in order for each read request; the first answer that is not `undefined` wins. */
  providers: TftpFileProvider[];
  /** Default "0.0.0.0"; "::" or another IPv6 address for IPv6. */
  address?: string;
  /** Default defaultTftpPort(); 0 picks a free port (see listen()'s result). */
  port?: number;
  /** Largest blksize granted, default 65464 (RFC 2348's maximum). */
  maxBlockSize?: number;
  /** Largest windowsize granted (RFC 7440), default 64. */
  maxWindowSize?: number;
  /** Retransmission timeout when the client negotiates none, default 1000 ms. */
  defaultTimeoutMs?: number;
  /** Resends in a row without an answer before a transfer ends as a timeout, default 5. */
  maxRetransmissions?: number;
  /** Transfers at once; further requests get "server busy". Default 512. */
  maxTransfers?: number;
  /**
   * Worker threads that run the transfers (transfer-threads.ts). 0 (the default) runs them in the
   * server's own thread. More threads use more cores with many clients, and keep the packets of large
   * transfers off the event loop of the hosting process.
   */
  transferThreads?: number;
}

export interface TftpListenAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type TftpOperation = 'read' | 'write';

export interface TftpRequestEvent {
  transferId: number;
  operation: TftpOperation;
  client: TftpClientAddress;
  /** The file name exactly as the client sent it. */
  requestedPath: string;
  mode: TftpMode;
  requestedOptions: Record<string, string>;
  startedAt: Date;
}

export interface TftpTransferReport extends TftpRequestEvent {
  /** The normalized, root-relative path, when the name passed the jail. */
  path?: string;
  outcome: TftpTransferOutcome;
  /** Size of what was (to be) sent, after netascii conversion; absent when no file was found. */
  fileSize?: number;
  /** File bytes the client acknowledged. */
  bytesTransferred: number;
  durationMs: number;
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  /** The options sent in the OACK (empty: no OACK). */
  acknowledgedOptions: Record<string, string>;
  retransmissions: number;
  error?: TftpTransferError;
}

export interface TftpRejectedPacketEvent {
  client: TftpClientAddress;
  problem: TftpProblem;
}

export interface TftpServerEvents {
  /** A read or write request arrived (before the file is looked up). */
  'request': [TftpRequestEvent];
  /** Exactly once per 'request': how it ended. */
  'transfer-end': [TftpTransferReport];
  /** A packet on the server port that was not a valid request (it was answered with an ERROR). */
  'packet-rejected': [TftpRejectedPacketEvent];
  /** An error of the listening socket itself. */
  'socket-error': [Error];
}

type ServerState = 'new' | 'starting' | 'listening' | 'closing' | 'closed';

interface InFlightRequest {
  requestedPath: string;
  transfer: TftpRunningTransfer | undefined;
}

export class TftpServer extends EventEmitter<TftpServerEvents> {
  private readonly providers: TftpFileProvider[];
  private readonly address: string;
  private readonly port: number;
  private readonly maxRetransmissions: number;
  private readonly maxTransfers: number;
  private readonly limits: { maxBlockSize: number; maxWindowSize: number; defaultTimeoutMs: number };
  private state: ServerState = 'new';
  private socket: Socket | undefined;
  private closed: Promise<void> | undefined;
  private nextTransferId = 1;
  private readonly requestsInFlight = new Set<Promise<void>>();
  private readonly transfers = new Set<TftpRunningTransfer>();
  private readonly threads: TftpTransferThreads | undefined;
  private readonly requestsByClient = new Map<string, InFlightRequest>();

  constructor(options: TftpServerOptions) {
    super();
    this.providers = [...options.providers];
    this.address = options.address ?? '0.0.0.0';
    this.port = options.port ?? defaultTftpPort();
    this.maxRetransmissions = options.maxRetransmissions ?? 5;
    this.maxTransfers = options.maxTransfers ?? 512;
    this.limits = {
      maxBlockSize: options.maxBlockSize ?? 65464,
      maxWindowSize: options.maxWindowSize ?? 64,
      defaultTimeoutMs: options.defaultTimeoutMs ?? 1000,
    };
    const threads = options.transferThreads ?? 0;
    this.threads = threads > 0 ? new TftpTransferThreads(threads) : undefined;
  }

  /** Requests being served (looked up, or transferring). */
  get transfersInProgress(): number {
    return this.requestsInFlight.size;
  }

  async listen(): Promise<TftpListenAddress> {
    if (this.state !== 'new') throw new Error(`TFTP server cannot listen: it is ${this.state}`);
    this.state = 'starting';
    let socket: Socket;
    try {
      await this.threads?.start();
      socket = await bindUdpSocket(this.address, this.port, true);
    } catch (error) {
      this.state = 'closed';
      await this.threads?.close();
      throw error;
    }
    if (this.state !== 'starting') {
      socket.close();
      throw new Error('TFTP server was closed while it was starting');
    }
    this.socket = socket;
    socket.on('error', (error) => this.emitSafely('socket-error', error));
    socket.on('message', (message, remote) => this.onRequestPacket(message, remote));
    this.state = 'listening';
    const bound = socket.address();
    return { address: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  /** Stops listening, aborts every transfer (clients get an ERROR), and resolves once every socket is closed. */
  close(): Promise<void> {
    this.closed ??= this.closeEverything();
    return this.closed;
  }

  private async closeEverything(): Promise<void> {
    const wasListening = this.state === 'listening';
    this.state = 'closing';
    if (wasListening && this.socket !== undefined) {
      const socket = this.socket;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    for (const transfer of this.transfers) transfer.abort({ kind: 'not-defined', message: 'server shutting down' });
    while (this.requestsInFlight.size > 0) await Promise.allSettled([...this.requestsInFlight]);
    await this.threads?.close();
    this.state = 'closed';
  }

  private onRequestPacket(message: Buffer, remote: RemoteInfo): void {
    try {
      if (this.state !== 'listening' || remote.port === 0) return;
      const client: TftpClientAddress = { address: remote.address, port: remote.port };
      const decoded = decodeTftpPacket(message);
      if (!decoded.ok) {
        if (decoded.opcode !== TftpOpcode.error) this.replyWithError(client, decoded.problem);
        observeTftpRejectedPacket(decoded.problem.kind);
        this.emitSafely('packet-rejected', { client, problem: decoded.problem });
        return;
      }
      const packet = decoded.packet;
      if (packet.type === 'error') return;
      if (packet.type !== 'read-request' && packet.type !== 'write-request') {
        const problem: TftpProblem = { kind: 'illegal-operation', message: `expected a request, got ${packet.type}` };
        this.replyWithError(client, problem);
        observeTftpRejectedPacket(problem.kind);
        this.emitSafely('packet-rejected', { client, problem });
        return;
      }
      if (packet.type === 'read-request' && this.isDuplicateRequest(client, packet)) return;
      const handling = packet.type === 'read-request' ? this.serveReadRequest(packet, client) : this.refuseWriteRequest(packet, client);
      this.requestsInFlight.add(handling);
      void handling.finally(() => this.requestsInFlight.delete(handling));
    } catch (error) {
      this.emitSafely('socket-error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** A client that heard nothing yet resends its request to port 69; the transfer already under way answers it. */
  private isDuplicateRequest(client: TftpClientAddress, packet: TftpRequestPacket): boolean {
    const inFlight = this.requestsByClient.get(clientKey(client));
    return (
      inFlight !== undefined &&
      inFlight.requestedPath === packet.filename &&
      (inFlight.transfer === undefined || !inFlight.transfer.hasHeardFromClient)
    );
  }

  private startRequest(packet: TftpRequestPacket, client: TftpClientAddress): TftpRequestEvent {
    const request: TftpRequestEvent = {
      transferId: this.nextTransferId++,
      operation: packet.type === 'read-request' ? 'read' : 'write',
      client,
      requestedPath: packet.filename,
      mode: packet.mode,
      requestedOptions: tftpOptionsRecord(packet.options),
      startedAt: new Date(),
    };
    this.emitSafely('request', request);
    return request;
  }

  private async refuseWriteRequest(packet: TftpRequestPacket, client: TftpClientAddress): Promise<void> {
    const started = performance.now();
    const request = this.startRequest(packet, client);
    const problem: TftpProblem = { kind: 'access-violation', message: 'write requests are refused: this server is read-only' };
    this.replyWithError(client, problem);
    this.reportEnd(request, started, { outcome: 'error', error: { ...problem, from: 'server' } });
  }

  private async serveReadRequest(packet: TftpRequestPacket, client: TftpClientAddress): Promise<void> {
    const started = performance.now();
    const request = this.startRequest(packet, client);
    const key = clientKey(client);
    const inFlight: InFlightRequest = { requestedPath: packet.filename, transfer: undefined };
    this.requestsByClient.set(key, inFlight);
    let path: string | undefined;
    let fileSize: number | undefined;
    let negotiated: TftpNegotiatedOptions | undefined;
    const refuse = (problem: TftpProblem, outcome: TftpTransferOutcome = 'error'): void => {
      this.replyWithError(client, problem);
      this.reportEnd(request, started, { path, fileSize, negotiated, outcome, error: { ...problem, from: 'server' } });
    };
    let source: TftpBlockSource | undefined;
    try {
      if (this.requestsInFlight.size >= this.maxTransfers) return refuse({ kind: 'not-defined', message: 'server busy, try again later' });
      const normalized = normalizeTftpPath(packet.filename);
      if (!normalized.ok) return refuse(normalized.problem);
      path = normalized.path;

      const lookup = await this.findFile({ path, requestedPath: packet.filename, mode: packet.mode, client });
      if (lookup.kind === 'refused') return refuse(lookup.problem);
      if (this.state !== 'listening') {
        if (lookup.kind === 'disk') await lookup.handle?.close();
        return refuse(shuttingDown, 'aborted');
      }
      const opened = await openTftpBlockSource(lookup, packet.mode);
      if (!opened.ok) return refuse(opened.problem);
      source = opened.source;
      fileSize = source.size;
      negotiated = negotiateTftpOptions(packet.options, source.size, this.limits);

      const transfer = await this.startTransfer(client, source, negotiated);
      if (transfer === undefined) return refuse(shuttingDown, 'aborted');
      inFlight.transfer = transfer;
      const result = await transfer.finished;
      this.transfers.delete(transfer);
      this.reportEnd(request, started, { path, fileSize, negotiated, ...result });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.replyWithError(client, { kind: 'not-defined', message: 'internal error' });
      this.reportEnd(request, started, {
        path,
        fileSize,
        negotiated,
        outcome: 'error',
        error: { kind: 'not-defined', message: `internal error: ${message}`, from: 'server' },
      });
    } finally {
      // The source owns the file descriptor, which a transfer thread reads until its transfer ends.
      await source?.close().catch(() => undefined);
      if (this.requestsByClient.get(key) === inFlight) this.requestsByClient.delete(key);
    }
  }

  /** Starts the transfer in this thread or on a transfer thread, registered for close(); undefined if the server is closing. */
  private async startTransfer(
    client: TftpClientAddress,
    source: TftpBlockSource,
    negotiated: TftpNegotiatedOptions,
  ): Promise<TftpRunningTransfer | undefined> {
    if (this.state !== 'listening') return undefined;
    const maxRetransmissions = this.maxRetransmissions;
    if (this.threads !== undefined) {
      const transfer = this.threads.run({ client, bindAddress: this.address, content: source.portable(), negotiated, maxRetransmissions });
      this.transfers.add(transfer);
      return transfer;
    }
    const socket = await bindUdpSocket(this.address, 0);
    if (this.state !== 'listening') {
      socket.close();
      return undefined;
    }
    // The transfer reads the source while it runs; closing it twice (here, after the end) is harmless.
    const transfer = new TftpReadTransfer({ socket, client, source, negotiated, maxRetransmissions });
    this.transfers.add(transfer);
    transfer.start();
    return transfer;
  }

  private async findFile(request: TftpFileRequest): Promise<TftpFile | { kind: 'refused'; problem: TftpProblem }> {
    for (const provider of this.providers) {
      const found = await provider(request);
      if (found !== undefined) return found;
    }
    return { kind: 'refused', problem: { kind: 'file-not-found', message: 'file not found' } };
  }

  private replyWithError(client: TftpClientAddress, problem: TftpProblem): void {
    const socket = this.socket;
    if (socket === undefined || this.state !== 'listening') return;
    try {
      socket.send(encodeTftpError(problem.kind, problem.message), client.port, client.address, () => undefined);
    } catch {
      // Closing: the client will time out.
    }
  }

  private reportEnd(
    request: TftpRequestEvent,
    started: number,
    details: {
      path?: string | undefined;
      fileSize?: number | undefined;
      negotiated?: TftpNegotiatedOptions | undefined;
      outcome: TftpTransferOutcome;
      bytesTransferred?: number;
      retransmissions?: number;
      error?: TftpTransferError | undefined;
    },
  ): void {
    const negotiated = details.negotiated;
    const report: TftpTransferReport = {
      ...request,
      ...(details.path === undefined ? {} : { path: details.path }),
      outcome: details.outcome,
      ...(details.fileSize === undefined ? {} : { fileSize: details.fileSize }),
      bytesTransferred: details.bytesTransferred ?? 0,
      durationMs: performance.now() - started,
      blockSize: negotiated?.blockSize ?? rfc1350BlockSize,
      windowSize: negotiated?.windowSize ?? 1,
      timeoutMs: negotiated?.timeoutMs ?? this.limits.defaultTimeoutMs,
      acknowledgedOptions: tftpOptionsRecord(negotiated?.acknowledged ?? []),
      retransmissions: details.retransmissions ?? 0,
      ...(details.error === undefined ? {} : { error: details.error }),
    };
    observeTftpTransfer(report);
    this.emitSafely('transfer-end', report);
  }

  /** A listener that throws must not break a transfer or the socket handler. */
  private emitSafely<K extends keyof TftpServerEvents>(event: K, ...args: TftpServerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: TftpServerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.emitWarning(`TFTP server: a "${event}" listener threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const shuttingDown: TftpProblem = { kind: 'not-defined', message: 'server shutting down' };

function clientKey(client: TftpClientAddress): string {
  return `${client.address}|${client.port}`;
}

export function createTftpServer(options: TftpServerOptions): TftpServer {
  return new TftpServer(options);
}
