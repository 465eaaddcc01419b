// The TFTP provider of generated boot files: per-MAC pxelinux and GRUB configs, the default menus and the
// iPXE chain script, rendered from the inventory at the moment a machine asks.
import { tftpBytesFile, type TftpFileProvider } from './tftp/index.js';
import { macInBootFileName } from './fetch-recorder.js';
import type { NetbootService } from './netboot.js';
import type { BootUrls } from './boot-target.js';
import { renderPxelinuxConfig, renderPxelinuxMenu } from './render/pxelinux.js';
import { renderGrubConfig, renderGrubMenu } from './render/grub.js';
import { renderIpxeChainScript } from './render/ipxe.js';

/** The generated file for a root-relative path, or undefined when it is not one of ours. */
export async function renderBootFile(path: string, netboot: NetbootService, urls: BootUrls): Promise<string | undefined> {
  const name = path.toLowerCase();
  if (name === 'boot.ipxe') return renderIpxeChainScript(urls);
  if (name === 'pxelinux.cfg/default') return renderPxelinuxMenu(await netboot.menuEntries());
  if (name === 'grub/grub.cfg' || name === 'grub.cfg') return renderGrubMenu(await netboot.menuEntries(), urls);
  const mac = macInBootFileName(name);
  if (mac === undefined) return undefined;
  if (/^pxelinux\.cfg\/01-[0-9a-f-]{17}$/.test(name)) return renderPxelinuxConfig(await netboot.targetForMac(mac));
  if (/^(grub\/)?grub\.cfg-01-[0-9a-f-]{17}$/.test(name)) return renderGrubConfig(await netboot.targetForMac(mac), urls);
  return undefined;
}

export function createBootFileProvider(netboot: NetbootService, urls: BootUrls): TftpFileProvider {
  return async (request) => {
    const rendered = await renderBootFile(request.path, netboot, urls);
    return rendered === undefined ? undefined : tftpBytesFile(rendered);
  };
}
