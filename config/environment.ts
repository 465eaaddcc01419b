// The server's configuration, read once from the environment. Every setting is documented in the README.
import { resolve } from 'node:path';
import { parseAlertLabelRules } from '../triggers/alert-labels.js';

export interface RescuedConfig {
  /** Folder for the embedded database, the Temporal SQLite file, the key file and the admin token. */
  dataDir: string;
  apiHost: string;
  apiPort: number;
  /** Public base URL of the API as machines and the CLI reach it. */
  publicUrl: string;
  /** Set: connect to this Temporal frontend. Unset: start the embedded dev server. */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  temporalTaskQueue: string;
  embeddedTemporalPort: number;
  embeddedTemporalUiPort: number;
  /** Set: use this PostgreSQL. Unset: embedded PGlite in the data folder. */
  databaseUrl: string | undefined;
  /** Key for encrypting BMC passwords at rest; unset: generated into a 0600 file in the data folder. */
  secretKey: string | undefined;
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
  /** RESCUED_ALERT_LABELS: the alert labels that may name a machine, tried in order. */
  alertLabels: string[];
  /** RESCUED_ALERTMANAGER_URL: the Alertmanager the poller asks for active alerts; unset: no poller. */
  alertmanagerUrl: string | undefined;
  /** RESCUED_ALERTMANAGER_POLL: seconds between polls. */
  alertmanagerPollMs: number;
  /** RESCUED_ALERTMANAGER_FILTER: matchers (separated by ";") sent as the API's filter parameters. */
  alertmanagerFilter: string[];
  /** RESCUED_ADMISSION_INTERVAL: seconds between looks at the queue of deferred rescues. */
  admissionIntervalMs: number;
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

function readSeconds(env: Environment, variable: string, fallback: number): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) throw new ConfigurationError(`${variable} must be a number of seconds (more than 0, at most 86400), got "${raw}"`);
  return Math.round(seconds * 1000);
}

function readUrl(env: Environment, variable: string): string | undefined {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`${variable} must be a URL such as http://alertmanager:9093, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigurationError(`${variable} must be an http or https URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
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
  return {
    dataDir,
    apiHost,
    apiPort,
    publicUrl,
    temporalAddress: nonEmpty(env.TEMPORAL_ADDRESS),
    temporalNamespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? 'default',
    temporalTaskQueue: nonEmpty(env.RESCUED_TASK_QUEUE) ?? 'rescued',
    embeddedTemporalPort: readPort(env, 'RESCUED_TEMPORAL_PORT', 7233),
    embeddedTemporalUiPort: readPort(env, 'RESCUED_TEMPORAL_UI_PORT', 8233),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    secretKey: nonEmpty(env.RESCUED_SECRET_KEY),
    logLevel: nonEmpty(env.RESCUED_LOG_LEVEL) ?? 'info',
    tftpRoot: resolve(nonEmpty(env.RESCUED_TFTP_ROOT) ?? resolve(dataDir, 'tftpboot')),
    tftpHost: nonEmpty(env.RESCUED_TFTP_HOST) ?? '0.0.0.0',
    tftpPort: env.RESCUED_TFTP_PORT?.trim() && env.RESCUED_TFTP_PORT.trim() !== 'off' ? readPort(env, 'RESCUED_TFTP_PORT', 0) : undefined,
    tftpEnabled: env.RESCUED_TFTP_PORT?.trim() !== 'off',
    bootHttpUrl: (nonEmpty(env.RESCUED_BOOT_URL) ?? publicUrl).replace(/\/+$/, ''),
    installStallMs: stallMinutes * 60_000,
    alertLabels: parseAlertLabelRules(env.RESCUED_ALERT_LABELS),
    alertmanagerUrl: readUrl(env, 'RESCUED_ALERTMANAGER_URL'),
    alertmanagerPollMs: readSeconds(env, 'RESCUED_ALERTMANAGER_POLL', 60),
    alertmanagerFilter: (nonEmpty(env.RESCUED_ALERTMANAGER_FILTER) ?? '').split(';').map((m) => m.trim()).filter(Boolean),
    admissionIntervalMs: readSeconds(env, 'RESCUED_ADMISSION_INTERVAL', 5),
  };
}
