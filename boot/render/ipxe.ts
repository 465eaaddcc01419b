// iPXE: a TFTP-served boot.ipxe that chains to the HTTP route for the machine's MAC, and the per-machine
// script that route returns.
import { bootFileUrl, type BootTarget, type BootUrls } from '../boot-target.js';

/** Served over TFTP to every machine: hands over to HTTP, where the server knows the machine by MAC. */
/**
 * boot.ipxe, the script every iPXE is pointed at first. An iPXE that fetched it has its address already (a NIC's
 * iPXE ROM, or undionly.kpxe with the PXE ROM's cached lease): a second DHCP there costs 3 s or more (iPXE waits
 * for ProxyDHCP offers), so it only runs when net0 has no address.
 */
export function renderIpxeChainScript(urls: BootUrls): string {
  return ['#!ipxe', 'isset ${net0/ip} || dhcp || goto failed', `chain ${urls.httpBase}/boot/ipxe/\${net0/mac} || goto failed`, 'exit', ':failed', 'echo rescued: network boot failed, booting from disk', 'sleep 3', 'exit 1', ''].join('\n');
}

export function renderIpxeScript(target: BootTarget, urls: BootUrls): string {
  if (target.kind === 'local') {
    return ['#!ipxe', `echo rescued: ${target.system ?? 'unknown machine'} boots from local disk`, 'exit 1', ''].join('\n');
  }
  return [
    '#!ipxe',
    `echo rescued: ${target.kind} ${target.label} for ${target.system}`,
    `kernel ${bootFileUrl(target.kernel, urls, target.mac)} initrd=initrd ${target.append}`.trimEnd(),
    `initrd --name initrd ${bootFileUrl(target.initrd, urls, target.mac)}`,
    'boot',
    '',
  ].join('\n');
}
