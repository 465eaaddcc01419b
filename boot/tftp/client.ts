// A minimal TFTP read client (RRQ only) that negotiates blksize, tsize, timeout and windowsize. For tests,
// benchmarks and checks of a running server; a rescue never needs it.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TftpErrorKind } from './errors.js';
import { decodeNetascii } from './netascii.js';
import {
  decodeTftpPacket,
  encodeTftpAcknowledgement,
  encodeTftpError,
  encodeTftpRequest,
  type TftpMode,
  type TftpOption,
} from './packets.js';

export interface TftpFetchOptions {
  host: string;
  port: number;
  path: string;
  mode?: TftpMode;
  blockSize?: number;
  windowSize?: number;
  /** Ask for the transfer size (tsize 0). */
  requestSize?: boolean;
  /** Ask the server for this retransmission timeout (the "timeout" option, whole seconds). */
  serverTimeoutSeconds?: number;
  /** This client's own wait before it resends its last ACK (or the request). Default 1000 ms. */
  retryTimeoutMs?: number;
  /** Resends in a row without an answer before giving up. Default 5. */
  maxRetries?: number;
  /** Test hook: return true to treat this DATA packet as lost. `block` counts from 1 without wrapping at 65536. */
  ignoreDataPacket?: (block: number) => boolean;
  signal?: AbortSignal;
}

export interface TftpFetched {
  ok: true;
  bytes: Buffer;
  blockSize: number;
  windowSize: number;
  /** The size the server announced in its OACK, if asked for and answered. */
  announcedSize: number | undefined;
  /** Options the server acknowledged (empty: it sent no OACK). */
  acknowledgedOptions: TftpOption[];
  dataPackets: number;
  durationMs: number;
}

export type TftpFetchErrorKind = 'server-error' | 'timeout' | 'protocol-error' | 'aborted' | 'socket-error';

export interface TftpFetchFailure {
  ok: false;
  kind: TftpFetchErrorKind;
  message: string;
  /** For 'server-error': what the server's ERROR packet said. */
  serverError?: { code: number; kind: TftpErrorKind };
}

export type TftpFetchResult = TftpFetched | TftpFetchFailure;

export function fetchTftpFile(options: TftpFetchOptions): Promise<TftpFetchResult> {
  const started = performance.now();
  const mode = options.mode ?? 'octet';
  const requested: TftpOption[] = [];
  if (options.blockSize !== undefined) requested.push({ name: 'blksize', value: String(options.blockSize) });
  if (options.requestSize) requested.push({ name: 'tsize', value: '0' });
  if (options.serverTimeoutSeconds !== undefined) requested.push({ name: 'timeout', value: String(options.serverTimeoutSeconds) });
  if (options.windowSize !== undefined) requested.push({ name: 'windowsize', value: String(options.windowSize) });
  const request = encodeTftpRequest('read-request', options.path, mode, requested);
  const retryTimeoutMs = options.retryTimeoutMs ?? 1000;
  const maxRetries = options.maxRetries ?? 5;
  const socket = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });

  return new Promise<TftpFetchResult>((resolve) => {
    const chunks: Buffer[] = [];
    let server: { address: string; port: number } | undefined;
    let blockSize = 512;
    let windowSize = 1;
    let announcedSize: number | undefined;
    let acknowledgedOptions: TftpOption[] = [];
    let expected = 1; // next block wanted, not wrapped
    let receivedSinceAck = 0;
    let gapAcknowledged = false;
    let dataPackets = 0;
    let retries = 0;
    let done = false;

    const finish = (result: TftpFetchResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        socket.close(() => resolve(result));
      } catch {
        resolve(result);
      }
    };
    const fail = (kind: TftpFetchErrorKind, message: string, serverError?: TftpFetchFailure['serverError']): void =>
      finish({ ok: false, kind, message, ...(serverError === undefined ? {} : { serverError }) });
    const sendToServer = (packet: Buffer, afterSend?: () => void): void => {
      socket.send(packet, server?.port ?? options.port, server?.address ?? options.host, afterSend);
    };
    const acknowledge = (block: number): void => {
      receivedSinceAck = 0;
      sendToServer(encodeTftpAcknowledgement(block));
    };
    const onTimeout = (): void => {
      if (done) return;
      if (retries >= maxRetries) return fail('timeout', `no answer after ${retries} retries`);
      retries += 1;
      // Before any answer, ask again; after, say which block came last in order (RFC 7440).
      if (server === undefined) sendToServer(request);
      else acknowledge(expected - 1);
      timer.refresh();
    };
    const timer = setTimeout(onTimeout, retryTimeoutMs);
    const onAbort = (): void => {
      if (server === undefined) return fail('aborted', 'aborted');
      // Tell the server, so that its transfer ends now rather than after its retransmissions.
      socket.send(encodeTftpError('not-defined', 'aborted by the client'), server.port, server.address, () => fail('aborted', 'aborted'));
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort);

    const onData = (block: number, data: Buffer): void => {
      const absolute = expected + ((block - expected) & 0xffff);
      if (options.ignoreDataPacket?.(absolute) === true) return;
      dataPackets += 1;
      if (block !== (expected & 0xffff)) {
        // Out of order: say once where we are, so that the server resends from there (RFC 7440).
        if (!gapAcknowledged) {
          gapAcknowledged = true;
          acknowledge(expected - 1);
        }
        return;
      }
      if (data.length > blockSize) return fail('protocol-error', `DATA block ${block} longer than blksize ${blockSize}`);
      gapAcknowledged = false;
      retries = 0;
      timer.refresh();
      chunks.push(data);
      expected += 1;
      receivedSinceAck += 1;
      if (data.length < blockSize) {
        const complete = (): void => {
          const raw = Buffer.concat(chunks);
          finish({
            ok: true,
            bytes: mode === 'netascii' ? decodeNetascii(raw) : raw,
            blockSize,
            windowSize,
            announcedSize,
            acknowledgedOptions,
            dataPackets,
            durationMs: performance.now() - started,
          });
        };
        sendToServer(encodeTftpAcknowledgement(block), complete);
        return;
      }
      if (receivedSinceAck >= windowSize) acknowledge(block);
    };

    socket.on('error', (error) => fail('socket-error', error.message));
    socket.on('message', (message: Buffer, remote: RemoteInfo) => {
      if (done) return;
      if (server !== undefined && (remote.address !== server.address || remote.port !== server.port)) {
        socket.send(encodeTftpError('unknown-transfer-id', 'unknown transfer ID'), remote.port, remote.address);
        return;
      }
      const decoded = decodeTftpPacket(message);
      if (!decoded.ok) return fail('protocol-error', `malformed packet from the server: ${decoded.problem.message}`);
      const packet = decoded.packet;
      const firstAnswer = server === undefined;
      server ??= { address: remote.address, port: remote.port };
      switch (packet.type) {
        case 'error':
          return fail('server-error', packet.message, { code: packet.code, kind: packet.kind });
        case 'option-acknowledgement': {
          if (!firstAnswer) return; // a resent OACK: our ACK 0 is resent on our own timeout
          const problem = acceptOptionAcknowledgement(packet.options, requested);
          if (problem !== undefined) {
            socket.send(encodeTftpError('option-negotiation-refused', problem), remote.port, remote.address);
            return fail('protocol-error', problem);
          }
          acknowledgedOptions = packet.options;
          for (const { name, value } of packet.options) {
            if (name === 'blksize') blockSize = Number(value);
            if (name === 'windowsize') windowSize = Number(value);
            if (name === 'tsize') announcedSize = Number(value);
          }
          retries = 0;
          timer.refresh();
          acknowledge(0);
          return;
        }
        case 'data':
          return onData(packet.block, packet.data);
        default:
          return fail('protocol-error', `unexpected ${packet.type} packet from the server`);
      }
    });
    socket.bind(0, () => {
      if (done) return;
      try {
        sendToServer(request);
      } catch (error) {
        fail('socket-error', error instanceof Error ? error.message : String(error));
      }
    });
  });
}

/** RFC 2347: the server may only acknowledge options that were asked for, blksize and windowsize no larger. */
function acceptOptionAcknowledgement(acknowledged: TftpOption[], requested: TftpOption[]): string | undefined {
  for (const { name, value } of acknowledged) {
    const asked = requested.find((option) => option.name === name);
    if (asked === undefined) return `server acknowledged option "${name}", which was not requested`;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) return `server sent an invalid value for "${name}": ${value}`;
    if ((name === 'blksize' || name === 'windowsize') && (number > Number(asked.value) || number < 1)) {
      return `server answered ${name} ${value} to a request for ${asked.value}`;
    }
  }
  return undefined;
}
