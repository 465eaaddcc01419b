// The real Temporal server (go.temporal.io/server, built into .tools/bin/temporal-server) with mutual TLS
// on its frontend, for the connection-settings test: the dev server (`temporal server start-dev`) has no TLS
// options. A test CA, a server certificate for 127.0.0.1/localhost and a client certificate are made with
// openssl; persistence is the server's own in-memory SQLite (its config/development-sqlite.yaml, ports
// and TLS adjusted), so nothing touches the disk outside a temporary folder.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect as connectTls } from 'node:tls';
import { TOOLS_BIN_DIR, isExecutable } from '../../temporal/cli-binary.js';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

export interface TestCertificates {
  folder: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by another CA: the server must refuse it. */
  strangerCert: string;
  strangerKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileAsync('openssl', args, { cwd });
}

/** A CA, a server certificate (127.0.0.1, localhost), a client certificate, and one from a stranger CA. */
export async function makeTestCertificates(folder: string): Promise<TestCertificates> {
  await mkdir(folder, { recursive: true });
  const days = ['-days', '2'];
  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], folder);
  for (const ca of ['ca', 'stranger-ca']) {
    await key(ca);
    await openssl(['req', '-x509', '-new', '-key', `${ca}.key`, '-subj', `/CN=rescued test ${ca}`, ...days, '-out', `${ca}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], folder);
  }
  const leaf = async (name: string, ca: string, subject: string, extensions: string) => {
    await key(name);
    await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], folder);
    await writeFile(join(folder, `${name}.ext`), extensions);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', ...days, '-extfile', `${name}.ext`, '-out', `${name}.pem`], folder);
  };
  await leaf('server', 'ca', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await leaf('client', 'ca', '/CN=rescued-worker', 'extendedKeyUsage=clientAuth\n');
  await leaf('stranger', 'stranger-ca', '/CN=stranger', 'extendedKeyUsage=clientAuth\n');
  const at = (name: string) => join(folder, name);
  return {
    folder,
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
  };
}

export interface TlsTemporalServer {
  /** host:port of the frontend, mTLS only. */
  address: string;
  certificates: TestCertificates;
  logFile: string;
  stop(): Promise<void>;
}

export async function locateTemporalServer(): Promise<string> {
  const path = process.env.RESCUED_TEMPORAL_SERVER ?? join(TOOLS_BIN_DIR, 'temporal-server');
  if (!(await isExecutable(path))) throw new Error(`no Temporal server at ${path}: build it (scripts/install-temporal-server.ts, go.temporal.io/server/cmd/server@v1.29.1) or set RESCUED_TEMPORAL_SERVER`);
  return path;
}

function sqliteStore(): string {
  return `      sql:
        pluginName: "sqlite"
        databaseName: "default"
        connectAddr: "localhost"
        connectProtocol: "tcp"
        connectAttributes:
          mode: "memory"
          cache: "private"
        maxConns: 1
        maxIdleConns: 1
        maxConnLifetime: "1h"
`;
}

function tlsHandshake(port: number, certificates: TestCertificates): Promise<void> {
  return Promise.all([readFile(certificates.ca), readFile(certificates.clientCert), readFile(certificates.clientKey)]).then(
    ([ca, cert, key]) =>
      new Promise<void>((resolve, reject) => {
        const socket = connectTls({ host: '127.0.0.1', port, ca, cert, key, servername: 'localhost', ALPNProtocols: ['h2'], timeout: 3000 }, () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
        socket.once('timeout', () => {
          socket.destroy();
          reject(new Error('timeout'));
        });
      }),
  );
}

/** Starts the server with mTLS required on the frontend; resolves once it accepts a TLS handshake. */
export async function startTlsTemporalServer(): Promise<TlsTemporalServer> {
  const binary = await locateTemporalServer();
  const folder = await mkdtemp(join(tmpdir(), 'temporal-tls-'));
  const certificates = await makeTestCertificates(join(folder, 'certs'));
  const [frontend, frontendMembership, frontendHttp, history, historyMembership, matching, matchingMembership, worker, workerMembership, metrics, pprof] = await Promise.all(
    Array.from({ length: 11 }, () => freePort()),
  );
  const service = (name: string, grpc: number, membership: number, extra = '') =>
    `  ${name}:\n    rpc:\n      grpcPort: ${grpc}\n      membershipPort: ${membership}\n      bindOnLocalHost: true\n${extra}`;
  const config = `log:
  stdout: true
  level: warn
persistence:
  defaultStore: sqlite-default
  visibilityStore: sqlite-visibility
  numHistoryShards: 1
  datastores:
    sqlite-default:
${sqliteStore()}    sqlite-visibility:
${sqliteStore()}global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: ${pprof}
  metrics:
    prometheus:
      framework: "tally"
      listenAddress: "127.0.0.1:${metrics}"
  tls:
    frontend:
      server:
        certFile: ${certificates.serverCert}
        keyFile: ${certificates.serverKey}
        requireClientAuth: true
        clientCaFiles: [${certificates.ca}]
      client:
        serverName: localhost
        rootCaFiles: [${certificates.ca}]
    systemWorker:
      certFile: ${certificates.clientCert}
      keyFile: ${certificates.clientKey}
      client:
        serverName: localhost
        rootCaFiles: [${certificates.ca}]
services:
${service('frontend', frontend!, frontendMembership!, `      httpPort: ${frontendHttp}\n`)}${service('history', history!, historyMembership!)}${service('matching', matching!, matchingMembership!)}${service('worker', worker!, workerMembership!)}clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "localhost:${frontend}"
      httpAddress: "localhost:${frontendHttp}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "${join(folder, 'config', 'dynamic.yaml')}"
  pollInterval: "10s"
`;
  await mkdir(join(folder, 'config'), { recursive: true });
  await writeFile(join(folder, 'config', 'tls.yaml'), config);
  await writeFile(join(folder, 'config', 'dynamic.yaml'), 'system.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n');
  const logFile = join(folder, 'server.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(binary, ['--root', folder, '--config', 'config', '--env', 'tls', '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    await rm(folder, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  const address = `127.0.0.1:${frontend}`;
  // Ready when a TLS handshake with the client certificate succeeds on the frontend port.
  for (;;) {
    if (child.exitCode !== null) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      throw new Error(`temporal-server exited with ${child.exitCode}: ${text.split('\n').slice(-15).join('\n')}`);
    }
    try {
      await tlsHandshake(frontend!, certificates);
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal-server did not accept TLS on ${address} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { address, certificates, logFile, stop };
}
