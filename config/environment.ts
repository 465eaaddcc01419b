// The server's configuration, read once from the environment. Every setting is documented in the README.
import { resolve } from 'node:path';
import { formatDuration, parseDuration } from './duration.js';
import { parseAlertLabelRules } from '../triggers/alert-labels.js';
import { DEFAULT_TEMPORAL_METRICS_ADDRESS } from '../observability/temporal-metrics.js';
import { parseAlertmanagerMatcher, splitAlertmanagerFilter, urlHasCredentials } from '../triggers/alertmanager-settings.js';
import { withoutUrlCredentials } from '../secrets/redact.js';

/** Where `npm run worker` serves its /metrics unless RESCUED_WORKER_METRICS_ADDRESS says otherwise. */
export const DEFAULT_WORKER_METRICS_ADDRESS = '0.0.0.0:9465';
import { loadTemporalConnectionSettings, TemporalSettingsError, type TemporalConnectionSettings } from '../temporal/connection-settings.js';

export interface RescuedConfig {
  /** Folder for the embedded database, the Temporal SQLite file, the key file and the admin token. */
  dataDir: string;
  apiHost: string;
  apiPort: number;
  /** Public base URL of the API as machines and the CLI reach it. */
  publicUrl: string;
  /** How to reach Temporal: TEMPORAL_* variables and temporal.toml profiles, read by Temporal's own loader. */
  temporal: TemporalConnectionSettings;
  /** temporal.address: set, connect to this Temporal frontend; unset, start the embedded dev server. */
  temporalAddress: string | undefined;
  /** temporal.namespace. */
  temporalNamespace: string;
  temporalTaskQueue: string;
  embeddedTemporalPort: number;
  embeddedTemporalUiPort: number;
  /** Set: use this PostgreSQL. Unset: embedded PGlite in the data folder. */
  databaseUrl: string | undefined;
  /** Key for encrypting BMC passwords at rest; unset: generated into a 0600 file in the data folder. */
  secretKey: string | undefined;
  /** RESCUED_PAYLOAD_KEYS / RESCUED_PAYLOAD_KEYS_FILE: the history's encryption keys (temporal/payload-codec.ts); neither: derived from the secret key. */
  payloadKeys: { keys: string | undefined; file: string | undefined };
  /** RESCUED_CODEC_CORS_ORIGINS: the browser origins (Temporal UIs) allowed to call /codec; default the embedded UI's. */
  codecCorsOrigins: string[];
  logLevel: string;
  /** Folder the TFTP server and /boot/files/ serve (boot loaders, kernels, initrds). */
  tftpRoot: string;
  tftpHost: string;
  /** Unset: 69 as root, else 6969; 0 picks a free port. */
  tftpPort: number | undefined;
  /** RESCUED_TFTP_PORT=off: no TFTP server in this process (another tftpd serves the root). */
  tftpEnabled: boolean;
  /** The base URL machines use for HTTP boot routes (iPXE, GRUB, autoinstall, callbacks). */
  bootHttpUrl: string;
  /** An install that has not been heard from for this long is "stalled". */
  installStallMs: number;
  /** How often the scheduled fleet audit runs; null (RESCUED_AUDIT_EVERY=off): no schedule. */
  auditEveryMs: number | null;
  /** How long an install's status token works after the machine first fetched its autoinstall file. */
  installTokenLifetimeMs: number;
  /** Boot fetches older than this are pruned; 0: kept forever. */
  bootFetchRetentionMs: number;
  /** Events older than this are pruned; 0: kept forever. */
  eventRetentionMs: number;
  /** RESCUED_ALERT_RETENTION_DAYS: received alerts older than this are pruned; 0: kept forever. */
  alertRetentionMs: number;
  /** How often the worker prunes. */
  pruneIntervalMs: number;
  /** SSH sessions to rescue environments one worker holds at once; the rest wait their turn, heartbeating. */
  maxSshSessions: number;
  /** PostgreSQL: how long to wait for a connection, how long a statement or an idle transaction may last. */
  databaseTimeouts: { connectMs: number; statementMs: number; idleInTransactionMs: number };
  /** How often rescue runs are reconciled with Temporal (besides at start and before a rescue start). */
  reconcileIntervalMs: number;
  /** RESCUED_ALERT_LABELS: the alert labels that may name a machine, tried in order. */
  alertLabels: string[];
  /** RESCUED_ALERTMANAGER_URL: the Alertmanager the poller asks for active alerts (no credentials in it); unset: no poller. */
  alertmanagerUrl: string | undefined;
  /** RESCUED_ALERTMANAGER_POLL: seconds between polls. */
  alertmanagerPollMs: number;
  /** RESCUED_ALERTMANAGER_FILTER: matchers (separated by ";"), each checked against Alertmanager's matcher syntax, sent as the API's filter parameters. */
  alertmanagerFilter: string[];
  /** RESCUED_ADMISSION_INTERVAL: seconds between looks at the queue of deferred rescues. */
  admissionIntervalMs: number;
  /** RESCUED_LOG_FORMAT: pretty lines or JSON; unset: pretty when standard output is a terminal. */
  logFormat: LogFormat | undefined;
  /** RESCUED_METRICS_PUBLIC=true: /metrics answers without a token (else a viewer token). */
  metricsPublic: boolean;
  /** RESCUED_TEMPORAL_METRICS_ADDRESS: where the Temporal SDK's Prometheus exporter listens in a process with a worker; undefined: off. */
  temporalMetrics: ListenAddress | undefined;
  /** RESCUED_WORKER_METRICS_ADDRESS: where `npm run worker` serves its own /metrics; undefined: off. */
  workerMetrics: ListenAddress | undefined;
}

export type LogFormat = 'pretty' | 'json';

/** An address to listen on, and whether the operator chose it (a default that is taken is skipped, a chosen one is an error). */
export interface ListenAddress {
  address: string;
  configured: boolean;
}

/** The shortest interval a fleet audit may be scheduled at. */
export const MINIMUM_AUDIT_INTERVAL_MS = 10_000;

/** "off", or a duration (1h, 30m, 1h30m) of at least MINIMUM_AUDIT_INTERVAL_MS; else why not. */
export function parseAuditInterval(text: string): { ok: true; everyMs: number | null } | { ok: false; reason: string } {
  if (text.trim().toLowerCase() === 'off') return { ok: true, everyMs: null };
  const everyMs = parseDuration(text);
  if (everyMs === undefined) return { ok: false, reason: `"${text}" is not a duration like 30m, 1h or 1h30m, nor "off"` };
  if (everyMs < MINIMUM_AUDIT_INTERVAL_MS) return { ok: false, reason: `"${text}" is shorter than the minimum ${formatDuration(MINIMUM_AUDIT_INTERVAL_MS)}` };
  return { ok: true, everyMs };
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Environment = Record<string, string | undefined>;

function readPort(env: Environment, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigurationError(`${variable} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

function readPositiveNumber(env: Environment, variable: string, fallback: number, unit: string): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`${variable} must be a positive number of ${unit}, got "${raw}"`);
  return value;
}

function readWholeNumber(env: Environment, variable: string, fallback: number, unit: string): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigurationError(`${variable} must be a whole number of ${unit}, at least 1, got "${raw}"`);
  return value;
}

function readRetentionDays(env: Environment, variable: string, fallback: number): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback * 86_400_000;
  const days = Number(raw);
  if (!Number.isFinite(days) || days < 0) throw new ConfigurationError(`${variable} must be a number of days (0 keeps everything), got "${raw}"`);
  return days * 86_400_000;
}

function readSeconds(env: Environment, variable: string, fallback: number): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) throw new ConfigurationError(`${variable} must be a number of seconds (more than 0, at most 86400), got "${raw}"`);
  return Math.round(seconds * 1000);
}

/** An http(s) URL without credentials: fetch refuses a URL with user:password@, and the URL goes into logs. No message echoes a password. */
function readUrl(env: Environment, variable: string): string | undefined {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return undefined;
  const shown = withoutUrlCredentials(raw);
  if (urlHasCredentials(raw)) {
    throw new ConfigurationError(`${variable} must not hold credentials (user:password@), got "${shown}": fetch refuses such a URL, and the URL is shown in logs; give Alertmanager's URL without them`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`${variable} must be a URL such as http://alertmanager:9093, got "${shown}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigurationError(`${variable} must be an http or https URL, got "${shown}"`);
  return raw.replace(/\/+$/, '');
}

/** RESCUED_ALERTMANAGER_FILTER: each matcher checked now, so that a bad one is not a 400 from Alertmanager at every poll. */
function readAlertmanagerFilter(env: Environment, variable: string): string[] {
  const matchers = splitAlertmanagerFilter(nonEmpty(env[variable]) ?? '');
  for (const matcher of matchers) {
    const parsed = parseAlertmanagerMatcher(matcher);
    if (!parsed.ok) throw new ConfigurationError(`${variable}: "${matcher}" is not an Alertmanager matcher such as severity="critical" or instance=~"web.*": ${parsed.reason}`);
  }
  return matchers;
}

function readListenAddress(env: Environment, variable: string, fallback: string): ListenAddress | undefined {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return { address: fallback, configured: false };
  if (raw.toLowerCase() === 'off') return undefined;
  const match = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(raw);
  if (match === null || Number(match[1]) > 65535) throw new ConfigurationError(`${variable} must be host:port (such as 127.0.0.1:9464) or off, got "${raw}"`);
  return { address: raw, configured: true };
}

function readBoolean(env: Environment, variable: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[variable])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigurationError(`${variable} must be true or false, got "${env[variable]}"`);
}

function readLogFormat(env: Environment): LogFormat | undefined {
  const raw = nonEmpty(env.RESCUED_LOG_FORMAT)?.toLowerCase();
  if (raw === undefined) return undefined;
  if (raw === 'pretty' || raw === 'json') return raw;
  throw new ConfigurationError(`RESCUED_LOG_FORMAT must be pretty or json, got "${env.RESCUED_LOG_FORMAT}"`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readLogLevel(env: Environment): string {
  const raw = nonEmpty(env.RESCUED_LOG_LEVEL)?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(raw)) throw new ConfigurationError(`RESCUED_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.RESCUED_LOG_LEVEL}"`);
  return raw;
}

/** Browser origins (scheme://host[:port], no path), comma-separated. */
function readOrigins(env: Environment, variable: string, fallback: string[]): string[] {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback;
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new ConfigurationError(`${variable}: "${entry}" is not an origin such as https://temporal-ui.example.org`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/+$/, '')) {
        throw new ConfigurationError(`${variable}: "${entry}" is not an origin (http or https, host and port, no path) such as https://temporal-ui.example.org`);
      }
      return url.origin;
    });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The boot files folder the TFTP server and /boot/files/ serve: RESCUED_TFTP_ROOT, else <data dir>/tftpboot. */
export function bootFilesRoot(env: Environment = process.env): string {
  return resolve(nonEmpty(env.RESCUED_TFTP_ROOT) ?? resolve(nonEmpty(env.RESCUED_DATA_DIR) ?? './data', 'tftpboot'));
}

export function loadConfig(env: Environment = process.env): RescuedConfig {
  const apiHost = nonEmpty(env.RESCUED_API_HOST) ?? '0.0.0.0';
  const apiPort = readPort(env, 'RESCUED_API_PORT', 8080);
  const reachableHost = apiHost === '0.0.0.0' || apiHost === '::' ? '127.0.0.1' : apiHost;
  const dataDir = resolve(nonEmpty(env.RESCUED_DATA_DIR) ?? './data');
  const publicUrl = (nonEmpty(env.RESCUED_PUBLIC_URL) ?? `http://${reachableHost}:${apiPort}`).replace(/\/+$/, '');
  const stallMinutes = Number(nonEmpty(env.RESCUED_INSTALL_STALL_MINUTES) ?? '30');
  if (!Number.isFinite(stallMinutes) || stallMinutes <= 0) {
    throw new ConfigurationError(`RESCUED_INSTALL_STALL_MINUTES must be a positive number of minutes, got "${env.RESCUED_INSTALL_STALL_MINUTES}"`);
  }
  const auditInterval = parseAuditInterval(nonEmpty(env.RESCUED_AUDIT_EVERY) ?? '1h');
  if (!auditInterval.ok) throw new ConfigurationError(`RESCUED_AUDIT_EVERY: ${auditInterval.reason}`);
  const reconcileMinutes = Number(nonEmpty(env.RESCUED_RECONCILE_MINUTES) ?? '5');
  if (!Number.isFinite(reconcileMinutes) || reconcileMinutes <= 0) {
    throw new ConfigurationError(`RESCUED_RECONCILE_MINUTES must be a positive number of minutes, got "${env.RESCUED_RECONCILE_MINUTES}"`);
  }
  let temporal: TemporalConnectionSettings;
  try {
    temporal = loadTemporalConnectionSettings(env);
  } catch (error) {
    if (error instanceof TemporalSettingsError) throw new ConfigurationError(error.message);
    throw error;
  }
  const embeddedTemporalUiPort = readPort(env, 'RESCUED_TEMPORAL_UI_PORT', 8233);
  return {
    installTokenLifetimeMs: readPositiveNumber(env, 'RESCUED_INSTALL_TOKEN_HOURS', 6, 'hours') * 3600_000,
    bootFetchRetentionMs: readRetentionDays(env, 'RESCUED_BOOT_FETCH_RETENTION_DAYS', 14),
    eventRetentionMs: readRetentionDays(env, 'RESCUED_EVENT_RETENTION_DAYS', 90),
    alertRetentionMs: readRetentionDays(env, 'RESCUED_ALERT_RETENTION_DAYS', 90),
    pruneIntervalMs: readPositiveNumber(env, 'RESCUED_PRUNE_INTERVAL_MINUTES', 60, 'minutes') * 60_000,
    maxSshSessions: readWholeNumber(env, 'RESCUED_MAX_SSH_SESSIONS', 16, 'SSH sessions'),
    databaseTimeouts: {
      connectMs: readPositiveNumber(env, 'RESCUED_DB_CONNECT_TIMEOUT_SECONDS', 10, 'seconds') * 1000,
      statementMs: readPositiveNumber(env, 'RESCUED_DB_STATEMENT_TIMEOUT_SECONDS', 30, 'seconds') * 1000,
      idleInTransactionMs: readPositiveNumber(env, 'RESCUED_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS', 60, 'seconds') * 1000,
    },
    dataDir,
    apiHost,
    apiPort,
    publicUrl,
    temporal,
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    temporalTaskQueue: nonEmpty(env.RESCUED_TASK_QUEUE) ?? 'rescued',
    embeddedTemporalPort: readPort(env, 'RESCUED_TEMPORAL_PORT', 7233),
    embeddedTemporalUiPort,
    databaseUrl: nonEmpty(env.DATABASE_URL),
    secretKey: nonEmpty(env.RESCUED_SECRET_KEY),
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
    metricsPublic: readBoolean(env, 'RESCUED_METRICS_PUBLIC', false),
    temporalMetrics: readListenAddress(env, 'RESCUED_TEMPORAL_METRICS_ADDRESS', DEFAULT_TEMPORAL_METRICS_ADDRESS),
    workerMetrics: readListenAddress(env, 'RESCUED_WORKER_METRICS_ADDRESS', DEFAULT_WORKER_METRICS_ADDRESS),
    payloadKeys: { keys: nonEmpty(env.RESCUED_PAYLOAD_KEYS), file: nonEmpty(env.RESCUED_PAYLOAD_KEYS_FILE) },
    codecCorsOrigins: readOrigins(env, 'RESCUED_CODEC_CORS_ORIGINS', [`http://127.0.0.1:${embeddedTemporalUiPort}`, `http://localhost:${embeddedTemporalUiPort}`]),
    tftpRoot: bootFilesRoot(env),
    tftpHost: nonEmpty(env.RESCUED_TFTP_HOST) ?? '0.0.0.0',
    tftpPort: env.RESCUED_TFTP_PORT?.trim() && env.RESCUED_TFTP_PORT.trim() !== 'off' ? readPort(env, 'RESCUED_TFTP_PORT', 0) : undefined,
    tftpEnabled: env.RESCUED_TFTP_PORT?.trim() !== 'off',
    bootHttpUrl: (nonEmpty(env.RESCUED_BOOT_URL) ?? publicUrl).replace(/\/+$/, ''),
    installStallMs: stallMinutes * 60_000,
    auditEveryMs: auditInterval.everyMs,
    reconcileIntervalMs: reconcileMinutes * 60_000,
    alertLabels: parseAlertLabelRules(env.RESCUED_ALERT_LABELS),
    alertmanagerUrl: readUrl(env, 'RESCUED_ALERTMANAGER_URL'),
    alertmanagerPollMs: readSeconds(env, 'RESCUED_ALERTMANAGER_POLL', 60),
    alertmanagerFilter: readAlertmanagerFilter(env, 'RESCUED_ALERTMANAGER_FILTER'),
    admissionIntervalMs: readSeconds(env, 'RESCUED_ADMISSION_INTERVAL', 5),
  };
}
