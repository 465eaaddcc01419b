// A QEMU machine booted straight into the lab's rescue image with the given disks attached, and an SSH session to
// it, as the rescue workflow would have one: the image phones home to a one-shot HTTP server on 127.0.0.1 with its
// host key, and the session pins that key. For the zoo (bench and tests) that needs many disks diagnosed and
// repaired inside one VM's kernel, without the whole Temporal rescue around it.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import ssh2 from 'ssh2';
import { freeTcpPort } from '../bmc/ports.js';
import { openSession, type ShellSession } from '../../shell/index.js';
import type { RescueHost } from '../../shell/rescue-host.js';
import { parseRescuePhoneHome, rescueKernelArguments, type RescuePhoneHome } from './contract.js';
import { ensureLabBootImages } from './initramfs.js';
import { startLabVm, type LabVm, type LabVmDisk } from './qemu.js';

/**
 * How many times the lab stretches a deadline that the product's probes and playbooks name (blkid's 30 s, for
 * one), on the rescue machine's one emulated CPU: TCG, for KVM does not work here (LAB-NOTES), on a host whose
 * two cores the rest of the suite shares. The product's deadlines are set for real machines. Measured in a CI run
 * of the VM lane beside the main lane on a slower host (2026-12-03): the installed-Debian classes took 114-141 s
 * each, against 29-41 s on the earlier host, and the product's blkid of one disk ran out of its 30 s with the
 * guest's load at 2. A command that hangs still fails, four times later.
 */
export const EMULATED_DEADLINE_SCALE = 4;

/** `host` with every deadline that a caller names multiplied by `scale`; the session's own default is the lab's already. */
export function withStretchedDeadlines(host: RescueHost, scale: number): RescueHost {
  return {
    name: host.name,
    exec: (command, options = {}) => host.exec(command, options.timeoutMs === undefined ? options : { ...options, timeoutMs: options.timeoutMs * scale }),
    writeFile: (path, content, options) => host.writeFile(path, content, options),
  };
}

export interface RescueMachine {
  vm: LabVm;
  session: ShellSession;
  /** The session as the product's probes and playbooks are given it here: their deadlines stretched by EMULATED_DEADLINE_SCALE. */
  host: RescueHost;
  phoneHome: RescuePhoneHome;
  /** Milliseconds from QEMU's start to the phone-home. */
  bootMs: number;
  stop(): Promise<void>;
}

export interface StartRescueMachineOptions {
  disks: LabVmDisk[];
  /** Default 512: xfs_repair and LVM want some room. */
  memoryMiB?: number;
  bootTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** An HTTP server on 127.0.0.1 that takes one rescue phone-home with `token` (the contract's callback). */
export async function phoneHomeServer(token: string): Promise<{ server: Server; port: number; received: Promise<RescuePhoneHome> }> {
  let deliver: (body: RescuePhoneHome) => void = () => {};
  const received = new Promise<RescuePhoneHome>((resolve) => (deliver = resolve));
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk.slice(0, 4096)));
    request.on('end', () => {
      try {
        const parsed = parseRescuePhoneHome(JSON.parse(body));
        if (parsed.token !== token) throw new Error('wrong token');
        response.writeHead(204).end();
        deliver(parsed);
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  const port = await freeTcpPort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port, received };
}

/** Boots the rescue image with `disks` (/dev/vda, /dev/vdb, ...) and opens an SSH session to it. */
export async function startRescueMachine(options: StartRescueMachineOptions): Promise<RescueMachine> {
  const images = await ensureLabBootImages();
  const token = `zoo-${randomBytes(8).toString('hex')}`;
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const publicKey = keys.public.trim().split(/\s+/).slice(0, 2).join(' ');
  const phoneHome = await phoneHomeServer(token);
  const sshHostPort = await freeTcpPort();
  let vm: LabVm | undefined;
  try {
    const started = Date.now();
    vm = await startLabVm({
      sshHostPort,
      memoryMiB: options.memoryMiB ?? 512,
      disks: options.disks,
      boot: {
        kind: 'kernel', kernelPath: images.kernel.vmlinuzPath, initrdPath: images.rescue.path,
        // no_timer_check: a starved emulated CPU otherwise fails the kernel's IO-APIC timer check and panics.
        kernelArguments: rescueKernelArguments({ callbackUrl: `http://10.0.2.2:${phoneHome.port}/ready`, token, sshPublicKey: publicKey, extra: ['no_timer_check'] }),
      },
    });
    const timeoutMs = options.bootTimeoutMs ?? 180_000;
    const runningVm = vm;
    const body = await Promise.race([
      phoneHome.received,
      runningVm.waitForSerial(/RESCUED-RESCUE: phone home failed/, timeoutMs).then(() => { throw new Error('the rescue image could not phone home'); }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no phone-home within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; serial log:\n${runningVm.serialLog().slice(-3000)}`);
    });
    const bootMs = Date.now() - started;
    // Keepalives 20 s apart (the session gives up after 3 unanswered, 60 s): a TCG guest whose one emulated CPU
    // runs update-initramfs on a loaded host leaves them unanswered for more than the default 15 s. Measured with
    // 7 busy processes beside the zoo's installed-Debian classes on 2 cores: "error: Not connected" at the
    // class after update-initramfs with the default; both classes repaired with these.
    const session = await openSession({
      host: '127.0.0.1', port: sshHostPort, privateKey: keys.private, hostKey: body.sshHostKey,
      connectTimeoutMs: 20_000, commandTimeoutMs: options.commandTimeoutMs ?? 300_000, keepaliveIntervalMs: 20_000,
    });
    return {
      vm, session, host: withStretchedDeadlines(session, EMULATED_DEADLINE_SCALE), phoneHome: body, bootMs,
      async stop() {
        await session.close().catch(() => undefined);
        await runningVm.stop();
      },
    };
  } catch (error) {
    await vm?.stop();
    throw error;
  } finally {
    phoneHome.server.closeAllConnections();
    phoneHome.server.close();
  }
}
