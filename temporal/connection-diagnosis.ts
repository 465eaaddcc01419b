// Why a Temporal connection failed, in words. gRPC reports every refusal (no listener, a TLS server reached in
// plaintext, a client certificate refused) as "Failed to connect before the deadline"; one plain TCP or TLS
// handshake with the same settings tells them apart, and whether waiting can help: a server that is not there
// may come, one that refuses our settings will go on refusing them.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { describeTemporalConnection, type TemporalConnectionSettings } from './connection-settings.js';
import { grpcCodeOf } from './unavailable.js';

/** `unreachable`: nothing answered (yet); `refused`: a server answered and refused our settings. */
export type TemporalConnectionFailure = 'unreachable' | 'refused';

export interface TemporalConnectionDiagnosis {
  reason: string;
  failure: TemporalConnectionFailure;
}

export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';
  constructor(
    message: string,
    readonly failure: TemporalConnectionFailure,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

const PROBE_TIMEOUT_MS = 3000;
const EXPECTS_TLS: TemporalConnectionDiagnosis = {
  reason: 'the server answered a plaintext connection with a TLS alert, so it expects TLS: set TEMPORAL_TLS=true or the TEMPORAL_TLS_* variables',
  failure: 'refused',
};
/**
 * A hang-up says less: a TLS server does it (Go's, Temporal's, without an alert), and so does a TCP proxy (HAProxy,
 * a port forward) whose Temporal is not there yet. Waiting may help, so the process starts and tries again.
 */
const HUNG_UP: TemporalConnectionDiagnosis = {
  reason: 'the server hung up on a plaintext connection: it expects TLS (set TEMPORAL_TLS=true or the TEMPORAL_TLS_* variables), or it is a proxy whose Temporal is not there yet',
  failure: 'unreachable',
};
/** A TLS record of type "alert" (RFC 8446 §5.1): what a TLS server answers to a plaintext HTTP/2 preface. */
const TLS_ALERT_RECORD = 0x15;

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

const TLS_REASONS: Array<[RegExp, string]> = [
  [/CERTIFICATE_REQUIRED/, 'the server requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or a profile\'s client_cert_path, client_key_path)'],
  [/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|ALERT_ACCESS_DENIED/, 'the server refused our client certificate (not signed by a CA it trusts, or not for client authentication)'],
  [/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT/, "we do not trust the server's certificate: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it"],
  [/ERR_TLS_CERT_ALTNAME_INVALID/, "the server's certificate is not for this name: set TEMPORAL_TLS_SERVER_NAME to a name it holds"],
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/, 'the server does not speak TLS: unset the TEMPORAL_TLS_* variables (or set TEMPORAL_TLS=false)'],
];

function explainSocketError(error: NodeJS.ErrnoException): TemporalConnectionDiagnosis {
  if (error.code === 'ECONNREFUSED') return { reason: 'nothing listens there (connection refused)', failure: 'unreachable' };
  const code = `${error.code ?? ''} ${error.message}`;
  for (const [pattern, reason] of TLS_REASONS) if (pattern.test(code)) return { reason, failure: 'refused' };
  return { reason: `${error.code ?? error.message}`, failure: 'unreachable' };
}

function settle(
  socket: Socket,
  run: (finish: (diagnosis: TemporalConnectionDiagnosis | undefined) => void) => void,
): Promise<TemporalConnectionDiagnosis | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (diagnosis: TemporalConnectionDiagnosis | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(diagnosis);
    };
    const timer = setTimeout(() => finish(undefined), PROBE_TIMEOUT_MS);
    socket.once('error', (error: NodeJS.ErrnoException) => finish(explainSocketError(error)));
    run(finish);
  });
}

/** Why `address` refused us, in one sentence, or undefined when the probe sees nothing wrong. */
export async function diagnoseTemporalConnection(settings: TemporalConnectionSettings, address: string): Promise<TemporalConnectionDiagnosis | undefined> {
  const { host, port } = splitAddress(address);
  if (!settings.tls) {
    const socket = connectTcp({ host, port });
    return settle(socket, (finish) => {
      socket.once('connect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      // A gRPC server answers the HTTP/2 preface with its SETTINGS; a TLS server sends an alert or hangs up.
      socket.once('data', (chunk: Buffer) => finish(chunk[0] === TLS_ALERT_RECORD ? EXPECTS_TLS : undefined));
      socket.once('end', () => finish(HUNG_UP));
    });
  }
  const tls = settings.tls;
  const socket = connectTls({
    host,
    port,
    servername: tls.serverNameOverride ?? host,
    ALPNProtocols: ['h2'],
    ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
    ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
  });
  return settle(socket, (finish) => {
    // With TLS 1.3 the server judges our certificate after the handshake: its refusal comes as an alert
    // on the first read, so wait a moment after "connected" before calling the handshake good.
    socket.once('secureConnect', () => setTimeout(() => finish(undefined), 500));
  });
}

/** gRPC codes of a server that answered and refused our credentials (an API key, a token in the metadata). */
const GRPC_UNAUTHENTICATED = 16;
const GRPC_PERMISSION_DENIED = 7;

/** The error to show for a connection that failed: where, how we tried, and why (diagnosed), the SDK's error as cause. */
export async function temporalConnectionError(settings: TemporalConnectionSettings, address: string, error: unknown): Promise<TemporalConnectionError> {
  const diagnosis = await diagnoseTemporalConnection(settings, address).catch(() => undefined);
  const code = grpcCodeOf(error)?.code;
  const failure = diagnosis?.failure ?? (code === GRPC_UNAUTHENTICATED || code === GRPC_PERMISSION_DENIED ? 'refused' : 'unreachable');
  return new TemporalConnectionError(`cannot connect to Temporal at ${describeTemporalConnection(settings, address)}: ${diagnosis?.reason ?? (error as Error).message}`, failure, { cause: error });
}
