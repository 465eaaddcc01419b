// Network boot as one piece of a process: the services the HTTP boot routes and the TFTP server share.
import type { RescuedConfig } from '../config/environment.js';
import { createNetbootService, type NetbootService } from '../boot/netboot.js';
import { createInstallTracker, type InstallTracker } from '../boot/install-status.js';
import { createFetchRecorder, type FetchRecorder } from '../boot/fetch-recorder.js';
import { createBootFileProvider } from '../boot/tftp-boot-files.js';
import { createDiskFileProvider, createTftpServer, defaultTftpPort } from '../boot/tftp/index.js';
import type { BootUrls } from '../boot/boot-target.js';
import type { Runtime } from './runtime.js';
import type { Stopper } from './components.js';
import { mkdir } from 'node:fs/promises';
import type { ConsoleLog } from '../observability/console.js';

export interface Netboot {
  service: NetbootService;
  tracker: InstallTracker;
  recorder: FetchRecorder;
  urls: BootUrls;
  tftpRoot: string;
}

export function createNetboot(config: RescuedConfig, runtime: Runtime): Netboot {
  const urls = { httpBase: config.bootHttpUrl };
  const service = createNetbootService({ inventory: runtime.inventory, urls, installTokenLifetimeMs: config.installTokenLifetimeMs });
  return {
    service,
    tracker: createInstallTracker({ inventory: runtime.inventory, netboot: service, stallAfterMs: config.installStallMs }),
    recorder: createFetchRecorder(runtime.inventory),
    urls,
    tftpRoot: config.tftpRoot,
  };
}

/** Starts the TFTP server (generated per-MAC files first, then the TFTP root on disk). */
/** `log`: transfers at debug (machines fetch boot files all day), problems at warn. */
export async function startTftp(config: RescuedConfig, netboot: Netboot, log: Pick<ConsoleLog, 'debug' | 'warn'>): Promise<{ address: string; stop: Stopper } | undefined> {
  if (!config.tftpEnabled) return undefined;
  const port = config.tftpPort ?? defaultTftpPort();
  await mkdir(config.tftpRoot, { recursive: true });
  const server = createTftpServer({
    address: config.tftpHost,
    port,
    providers: [createBootFileProvider(netboot.service, netboot.urls), createDiskFileProvider(config.tftpRoot)],
    // Transfers on two worker threads: with many machines booting at once this beats tftpd-hpa (bench/tftp.ts).
    transferThreads: 2,
  });
  server.on('transfer-end', (report) => {
    const file = report.path ?? report.requestedPath;
    const outcome = report.outcome === 'complete' ? 'complete' : `${report.outcome}${report.error ? `: ${report.error.message}` : ''}`;
    log.debug(`tftp ${report.client.address}:${report.client.port} ${file} ${report.bytesTransferred} bytes in ${report.durationMs} ms: ${outcome}`);
    void netboot.recorder
      .record({ protocol: 'tftp', clientAddress: report.client.address, file, bytes: report.bytesTransferred, outcome })
      .catch((error: Error) => log.warn(`tftp: could not record a fetch: ${error.message}`));
  });
  server.on('socket-error', (error) => log.warn(`tftp: socket error: ${error.message}`));
  let bound;
  try {
    bound = await server.listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES' && port < 1024) {
      // Unprivileged: port 69 needs CAP_NET_BIND_SERVICE (README, "Running unprivileged"), not root.
      throw new Error(
        `TFTP cannot bind ${config.tftpHost}:${port} (EACCES): a port below 1024 needs CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep $(command -v node), or AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit), or set RESCUED_TFTP_PORT=6969 (or off)`,
      );
    }
    throw error;
  }
  return { address: `${bound.address}:${bound.port}`, stop: () => server.close() };
}
