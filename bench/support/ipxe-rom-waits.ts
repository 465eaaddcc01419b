// The network boot's fixed cost in this lab, which no change to rescued can remove: how long the NIC's iPXE ROM
// (Debian's ipxe-qemu, which QEMU loads for virtio-net) waits before it asks for its script. Measured on a VM of
// the lab's shape (SeaBIOS, virtio-net on QEMU's user-mode network) whose bootfile is a script on a server here,
// from the serial console (read every 0.1 s) and the server's clock:
//   - the "Press Ctrl-B for the iPXE command line..." prompt: iPXE's BANNER_TIMEOUT, compiled into the ROM (2 s
//     in Debian's build); iPXE reads no setting that skips it.
//   - its DHCP: with an offer in hand iPXE still waits for ProxyDHCP offers (DHCP_DISC_PROXY_TIMEOUT_SEC, also
//     compiled in) unless the offer carries iPXE's option 175.176 (no-pxedhcp), which QEMU's built-in DHCP
//     server cannot send.
// iPXE's source, to build a ROM without them, is not reachable from this machine (Debian's source package and
// the iPXE repository are not served here): the rescue bench prints these waits next to its ratio.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLabVm } from '../../lab/vm/qemu.js';

export interface IpxeRomWaits {
  /** From QEMU's start to the script's request. */
  toScriptMs: number;
  /** The Ctrl-B prompt: from its line on the console to the next one (DHCP starting). */
  promptMs: number;
  /** From "Configuring (net0 ...)" to its "ok". */
  dhcpMs: number;
}

export async function measureIpxeRomWaits(memoryMiB: number): Promise<IpxeRomWaits> {
  let asked!: (at: number) => void;
  const requested = new Promise<number>((resolve) => (asked = resolve));
  const server = createServer((_request, response) => {
    asked(performance.now());
    // `exit` hands the boot back to the BIOS; the VM is stopped as soon as the request came.
    response.end('#!ipxe\nexit\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const started = performance.now();
  const vm = await startLabVm({ boot: { kind: 'network', bootFileUrl: `http://10.0.2.2:${port}/rom-probe.ipxe` }, memoryMiB });
  try {
    await vm.waitForSerial(/Press Ctrl-B for the iPXE command line/, 60_000);
    const prompt = performance.now();
    await vm.waitForSerial(/Configuring \(net0/, 60_000);
    const configuring = performance.now();
    await vm.waitForSerial(/Configuring \(net0[^\n]*ok/, 60_000);
    const configured = performance.now();
    const script = await Promise.race([requested, sleep(30_000, undefined, { ref: false })]);
    if (script === undefined) throw new Error('the iPXE ROM did not ask for its script within 30 s of its DHCP');
    return { toScriptMs: script - started, promptMs: configuring - prompt, dhcpMs: configured - configuring };
  } finally {
    await vm.stop();
    server.close();
  }
}
