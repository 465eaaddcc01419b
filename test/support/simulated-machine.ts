// A machine for rescue tests, acting through the same protocols a real one uses. It watches its BMC
// (a real ipmi_sim, or an in-process Redfish emulator) and, at each power-on: from the network it fetches
// its iPXE script from our HTTP route; a rescue script makes it "boot the rescue environment" (install the
// SSH key it was given into a real sshd, phone home with that sshd's host key); an install script makes it
// run the autoinstall's status callbacks. From disk it "boots its OS": a TCP port answers when the OS is
// healthy.
import { appendFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { ChassisEvent } from '../../lab/bmc/ipmi-sim.js';
import type { TestSshd } from './sshd.js';

export interface MachineBehaviour {
  /** Whether the rescue environment phones home (false: a machine whose network boot goes nowhere). */
  phonesHome: boolean;
  /** Whether the installed OS comes up when booted from disk. */
  osHealthy: () => boolean;
  /** What an install does: finish, fail, or hang. */
  install: 'success' | 'failed' | 'hang';
}

export interface SimulatedMachine {
  /** What happened, in order: "pxe:rescue", "pxe:install", "disk:os-up", ... */
  readonly boots: string[];
  /** The port the installed OS answers on when healthy (for label rescued.verify=tcp:127.0.0.1:PORT). */
  readonly osPort: number;
  readonly phoneHomes: number;
  /**
   * Resolves once the machine has acted on every chassis event its BMC holds now. It watches the BMC every
   * 150 ms, as a machine boots some time after its power-on, so a workflow can end before the last boot is in
   * `boots` (a rescue whose outcome waits for no OS, for one).
   */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/** The OS ports handed out in this process: free when probed, but listened on only once each OS is up. */
const reservedPorts = new Set<number>();

/**
 * A port for the OS to listen on whenever it is up, below Linux's ephemeral range (32768-60999 by default):
 * there no outgoing connection can take it while the OS is down (with hundreds of machines and their SSH and
 * HTTP traffic, one did: EADDRINUSE at the next boot).
 */
async function reservePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    // Free now, but its machine listens only once its OS is up: never given to two machines of this process.
    if (reservedPorts.has(port)) continue;
    const probe = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => probe.close(resolve));
      reservedPorts.add(port);
      return port;
    }
    if (attempt > 50) throw new Error('simulated machine: no free port below 32000 for its OS');
  }
}

/** What the machine watches: its BMC's chassis events (a real ipmi_sim's, or test/support/emulated-redfish-bmc.ts's). */
export interface ChassisEventSource {
  readEvents(): ChassisEvent[];
}

export async function startSimulatedMachine(options: { apiUrl: string; bmc: ChassisEventSource; mac: string; sshd: TestSshd; behaviour: MachineBehaviour }): Promise<SimulatedMachine> {
  const { apiUrl, bmc, mac, sshd, behaviour } = options;
  const boots: string[] = [];
  const osPort = await reservePort();
  let osServer: Server | undefined;
  let seenEvents = bmc.readEvents().length;
  let phoneHomes = 0;
  let stopped = false;
  let busy = Promise.resolve();

  const osDown = async () => {
    const server = osServer;
    osServer = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  };
  const osUp = async () => {
    await osDown();
    const server = createServer((socket) => {
      // The verifier hangs up as soon as it is connected.
      socket.on('error', () => undefined);
      socket.end('SSH-2.0-simulated-os\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(osPort, '127.0.0.1', resolve);
    });
    osServer = server;
  };

  async function networkBoot(): Promise<void> {
    const response = await fetch(`${apiUrl}/boot/ipxe/${mac}`);
    const script = await response.text();
    const kernelLine = /^kernel (.*)$/m.exec(script)?.[1] ?? '';
    const callback = /rescued\.callback=(\S+)/.exec(kernelLine)?.[1];
    if (callback !== undefined) {
      boots.push('pxe:rescue');
      if (!behaviour.phonesHome) return;
      const publicKey = Buffer.from(/rescued\.sshkey=(\S+)/.exec(kernelLine)![1]!, 'base64url').toString();
      await appendFile(join(sshd.directory, 'authorized_keys'), `${publicKey}\n`);
      // As the rescue image's start script does (images/rescue/start: 30 tries, 2 s apart), a phone-home that
      // met a server error or no answer is tried again; a refusal (4xx) is final here, so tests count it once.
      const body = JSON.stringify({ token: /rescued\.token=(\S+)/.exec(kernelLine)?.[1], mac, ip: '127.0.0.1', sshHostKey: sshd.hostKey, sshPort: sshd.port });
      let reply: Response | undefined;
      for (let attempt = 1; attempt <= 30; attempt++) {
        reply = await fetch(callback, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
        if (reply !== undefined && reply.status < 500) break;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      if (reply === undefined) {
        boots.push('phone-home-unanswered');
        return;
      }
      if (reply.ok) phoneHomes += 1;
      else boots.push(`phone-home-refused:${reply.status}`);
      return;
    }
    const autoinstall = /(?:inst\.ks|url|autoyast|autoinstall)=(\S+\/boot\/autoinstall\/\S+)/.exec(kernelLine)?.[1];
    if (autoinstall !== undefined) {
      boots.push('pxe:install');
      const template = await (await fetch(autoinstall)).text();
      const started = /(\S+\/started\?token=[A-Za-z0-9_-]+)/.exec(template)?.[1];
      const finished = /(\S+\/finished\?token=[A-Za-z0-9_-]+)/.exec(template)?.[1];
      if (started) await fetch(started.replace(/^"|"$/g, ''));
      if (behaviour.install === 'success' && finished) await fetch(finished.replace(/^"|"$/g, ''), { method: 'POST' });
      if (behaviour.install === 'failed' && finished) await fetch(finished.replace(/^"|"$/g, '').replace('/finished?', '/failed?'), { method: 'POST' });
      return;
    }
    boots.push('pxe:local');
    await diskBoot();
  }

  async function diskBoot(): Promise<void> {
    if (behaviour.osHealthy()) {
      await osUp();
      boots.push('disk:os-up');
    } else boots.push('disk:os-broken');
  }

  const timer = setInterval(() => {
    busy = busy.then(async () => {
      if (stopped) return;
      const events = bmc.readEvents();
      for (const event of events.slice(seenEvents)) {
        if (event.action === 'power-off') await osDown();
        if (event.action === 'power-on' || event.action === 'reset') {
          await osDown();
          if (event.bootDevice === 'pxe') await networkBoot().catch((error: Error) => boots.push(`error:${error.message}`));
          else await diskBoot().catch((error: Error) => boots.push(`error:${error.message}`));
        }
      }
      seenEvents = events.length;
    });
  }, 150);

  return {
    boots,
    osPort,
    get phoneHomes() {
      return phoneHomes;
    },
    async caughtUp() {
      const held = bmc.readEvents().length;
      const deadline = Date.now() + 30_000;
      while (seenEvents < held && !stopped) {
        if (Date.now() > deadline) throw new Error(`simulated machine ${mac}: still acting on chassis events after 30 s (${seenEvents} of ${held} done)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await busy;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      await osDown();
    },
  };
}

/**
 * What a slow rescue environment does after the BMC boot has long passed: read its own kernel arguments
 * (here from the machine's iPXE script), install the SSH key, and phone home. Returns the HTTP status.
 */
export async function phoneHomeLate(options: { apiUrl: string; mac: string; sshd: TestSshd }): Promise<number> {
  const script = await (await fetch(`${options.apiUrl}/boot/ipxe/${options.mac}`)).text();
  const kernelLine = /^kernel (.*)$/m.exec(script)?.[1] ?? '';
  const key = /rescued\.sshkey=(\S+)/.exec(kernelLine)?.[1];
  const callback = /rescued\.callback=(\S+)/.exec(kernelLine)?.[1];
  if (key === undefined || callback === undefined) throw new Error(`no rescue boot config for ${options.mac}:\n${script}`);
  await appendFile(join(options.sshd.directory, 'authorized_keys'), `${Buffer.from(key, 'base64url').toString()}\n`);
  const reply = await fetch(callback, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mac: options.mac, ip: '127.0.0.1', sshHostKey: options.sshd.hostKey, sshPort: options.sshd.port }),
  });
  return reply.status;
}
