// What a machine should boot when it network-boots: its installer (netboot enabled), its local disk
// (netboot disabled), or, during a rescue, a rescue environment. Renderers turn this into pxelinux, GRUB
// and iPXE configs.

export type BootTarget =
  | { kind: 'local'; system: string | undefined; mac: string | undefined }
  | {
      kind: 'install' | 'rescue';
      system: string;
      mac: string;
      /** Label shown in menus, e.g. the profile name or the rescue environment's name. */
      label: string;
      /** As the machine fetches them: URLs for iPXE/GRUB over HTTP, or TFTP-root paths. */
      kernel: string;
      initrd: string;
      append: string;
    };

export interface BootUrls {
  /** http://server:port, as machines reach it. */
  httpBase: string;
}

/**
 * A kernel or initrd as given in the inventory: an absolute URL is used as it is; anything else is a path
 * in the TFTP root, which the HTTP boot routes also serve under /boot/files/.
 */
export function bootFileUrl(path: string, urls: BootUrls, mac?: string): string {
  if (/^[a-z]+:\/\//i.test(path)) return path;
  // The MAC lets the fetch log attribute the download to the machine, even behind NAT.
  return `${urls.httpBase}/boot/files/${path.replace(/^\/+/, '')}${mac ? `?mac=${mac}` : ''}`;
}

/** For pxelinux, which fetches over TFTP: a path in the TFTP root, or an http URL (lpxelinux only). */
export function bootFileTftpPath(path: string): string {
  if (/^[a-z]+:\/\//i.test(path)) return path;
  return `/${path.replace(/^\/+/, '')}`;
}

/** A target that boots a kernel: an install or a rescue. */
export type KernelBootTarget = Exclude<BootTarget, { kind: 'local' }>;
