// How every process of ours connects to Temporal, read once by Temporal's own loader (@temporalio/envconfig),
// so the variables and `temporal.toml` profiles mean what they mean to the `temporal` CLI: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*, TEMPORAL_CONFIG_FILE and
// TEMPORAL_PROFILE. No address anywhere means the embedded dev server. The settings hold secrets (an API key,
// a client key): describeTemporalConnection() is the only way they are shown, and it names no secret.
import { existsSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { fromTomlProfile, toClientOptions } from '@temporalio/envconfig';
// The raw profile keeps `disable_host_verification`, which the public loader drops (the SDK cannot honour it).
import { tomlLoadClientConfigProfile } from '@temporalio/envconfig/lib/envconfig-toml.js';

type Environment = Record<string, string | undefined>;

/** TLS as both Temporal connections take it; holds the client key, never printed. */
export interface TemporalTls {
  serverNameOverride?: string;
  serverRootCACertificate?: Uint8Array;
  clientCertPair?: { crt: Uint8Array; key: Uint8Array };
}

export interface TemporalConnectionSettings {
  /** Set by the variables or the profile; undefined: the embedded dev server. */
  address: string | undefined;
  namespace: string;
  /** undefined: plain gRPC. */
  tls: TemporalTls | undefined;
  apiKey: string | undefined;
  /** gRPC metadata (TEMPORAL_GRPC_META_*, a profile's grpc_meta). */
  metadata: Record<string, string>;
  /** Where the settings came from, for the start-up line. */
  source: { profile: string; file: string | undefined; clientCertFrom: string | undefined };
}

export class TemporalSettingsError extends Error {
  override readonly name = 'TemporalSettingsError';
}

const DEFAULT_NAMESPACE = 'default';

/** Blank variables count as unset, as everywhere else in our configuration (gRPC metadata keeps its "remove" meaning). */
function withoutBlanks(env: Environment): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value.trim() === '' && !name.startsWith('TEMPORAL_GRPC_META_')) continue;
    kept[name] = name.startsWith('TEMPORAL_GRPC_META_') ? value : value.trim();
  }
  return kept;
}

export function loadTemporalConnectionSettings(env: Environment = process.env): TemporalConnectionSettings {
  const vars = withoutBlanks(env);
  const file = vars.TEMPORAL_CONFIG_FILE;
  // The loader takes a missing file as "no file"; a file named on purpose that is not there is a mistake.
  if (file !== undefined && !existsSync(file)) throw new TemporalSettingsError(`TEMPORAL_CONFIG_FILE names "${file}", which does not exist`);
  let raw;
  try {
    raw = tomlLoadClientConfigProfile({ overrideEnvVars: vars });
  } catch (error) {
    throw new TemporalSettingsError(`Temporal connection settings${file ? ` (${file})` : ''}: ${(error as Error).message}`);
  }
  if (raw.tls?.disable_host_verification === true) {
    throw new TemporalSettingsError(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION (or a profile's disable_host_verification) is not supported by the Temporal TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME to the name in the server's certificate instead",
    );
  }
  const tlsRaw = raw.tls;
  if (tlsRaw && (tlsRaw.client_cert_path ?? tlsRaw.client_cert_data) !== undefined && (tlsRaw.client_key_path ?? tlsRaw.client_key_data) === undefined) {
    throw new TemporalSettingsError('a TLS client certificate is set (TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA) but no client key (TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA)');
  }
  if (tlsRaw && (tlsRaw.client_key_path ?? tlsRaw.client_key_data) !== undefined && (tlsRaw.client_cert_path ?? tlsRaw.client_cert_data) === undefined) {
    throw new TemporalSettingsError('a TLS client key is set (TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA) but no client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA)');
  }
  for (const [key, variable] of [
    ['client_cert_path', 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
    ['client_key_path', 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
    ['server_ca_cert_path', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'],
  ] as const) {
    const path = tlsRaw?.[key];
    if (path !== undefined && !existsSync(path)) throw new TemporalSettingsError(`${variable} (or the profile's ${key}) names "${path}", which does not exist`);
  }
  const profile = fromTomlProfile(raw);
  const { connectionOptions, namespace } = toClientOptions(profile);
  const tls = connectionOptions.tls;
  return {
    address: connectionOptions.address,
    namespace: namespace ?? DEFAULT_NAMESPACE,
    tls: tls === true ? {} : tls ? tls : undefined,
    apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
    metadata: { ...(profile.grpcMeta ?? {}) },
    source: {
      profile: vars.TEMPORAL_PROFILE ?? 'default',
      file,
      clientCertFrom: tlsRaw?.client_cert_path ? `client cert ${tlsRaw.client_cert_path}` : tlsRaw?.client_cert_data ? 'client cert given as data' : undefined,
    },
  };
}

/** One line for logs: where, which namespace, how secured. Never a key, a certificate or metadata values. */
export function describeTemporalConnection(settings: TemporalConnectionSettings, address: string): string {
  const security = [
    settings.tls ? (settings.tls.clientCertPair ? `mTLS (${settings.source.clientCertFrom ?? 'client cert'})` : 'TLS') : 'plaintext',
    ...(settings.tls?.serverNameOverride ? [`server name ${settings.tls.serverNameOverride}`] : []),
    ...(settings.tls?.serverRootCACertificate ? ['own CA'] : []),
    ...(settings.apiKey ? ['API key'] : []),
    ...(Object.keys(settings.metadata).length > 0 ? [`gRPC metadata ${Object.keys(settings.metadata).join(', ')}`] : []),
  ];
  return `${address}, namespace ${settings.namespace}, ${security.join(', ')}${settings.source.file ? `, profile ${settings.source.profile} of ${settings.source.file}` : ''}`;
}

/** Options for the client's Connection.connect. `address`: the settings' own, or the embedded server's. */
export function clientConnectionOptions(settings: TemporalConnectionSettings, address: string): ConnectionOptions {
  return {
    address,
    ...(settings.tls ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(Object.keys(settings.metadata).length > 0 ? { metadata: settings.metadata } : {}),
  };
}

/** Options for the worker's NativeConnection.connect. */
export function workerConnectionOptions(settings: TemporalConnectionSettings, address: string): NativeConnectionOptions {
  return {
    address,
    ...(settings.tls ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(Object.keys(settings.metadata).length > 0 ? { metadata: settings.metadata } : {}),
  };
}
