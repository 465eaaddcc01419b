// `rescuectl boot sync` (as `cobbler sync`): copies the network boot loaders from Debian's packages into
// the TFTP root, and says which package to install for each one that is missing.
import { copyFile, mkdir, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';

interface BootLoader {
  /** Where it goes in the TFTP root. */
  file: string;
  /** Where Debian installs it, in order of preference. */
  sources: string[];
  package: string;
  purpose: string;
}

export const BOOT_LOADERS: BootLoader[] = [
  { file: 'pxelinux.0', sources: ['/usr/lib/PXELINUX/pxelinux.0'], package: 'pxelinux', purpose: 'BIOS PXE boot loader' },
  { file: 'lpxelinux.0', sources: ['/usr/lib/PXELINUX/lpxelinux.0'], package: 'pxelinux', purpose: 'BIOS PXE boot loader with HTTP' },
  { file: 'ldlinux.c32', sources: ['/usr/lib/syslinux/modules/bios/ldlinux.c32'], package: 'syslinux-common', purpose: "pxelinux's core module" },
  { file: 'menu.c32', sources: ['/usr/lib/syslinux/modules/bios/menu.c32'], package: 'syslinux-common', purpose: 'pxelinux menu' },
  { file: 'libutil.c32', sources: ['/usr/lib/syslinux/modules/bios/libutil.c32'], package: 'syslinux-common', purpose: 'needed by menu.c32' },
  { file: 'undionly.kpxe', sources: ['/usr/lib/ipxe/undionly.kpxe'], package: 'ipxe', purpose: 'iPXE for BIOS (chains boot.ipxe)' },
  { file: 'ipxe.efi', sources: ['/usr/lib/ipxe/ipxe.efi'], package: 'ipxe', purpose: 'iPXE for UEFI (chains boot.ipxe)' },
  {
    file: 'grubx64.efi',
    sources: ['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed', '/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi'],
    package: 'grub-efi-amd64-signed',
    purpose: 'GRUB UEFI network image (reads grub/grub.cfg-01-<mac>)',
  },
];

export interface BootSyncReport {
  root: string;
  copied: Array<{ file: string; from: string }>;
  missing: Array<{ file: string; package: string; purpose: string; message: string }>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function syncBootLoaders(root: string, loaders: BootLoader[] = BOOT_LOADERS): Promise<BootSyncReport> {
  await mkdir(root, { recursive: true });
  const report: BootSyncReport = { root, copied: [], missing: [] };
  for (const loader of loaders) {
    let source: string | undefined;
    for (const candidate of loader.sources) {
      if (await exists(candidate)) {
        source = candidate;
        break;
      }
    }
    if (source === undefined) {
      report.missing.push({
        file: loader.file,
        package: loader.package,
        purpose: loader.purpose,
        message: `${loader.file} (${loader.purpose}) not found at ${loader.sources.join(' or ')}: apt-get install ${loader.package}`,
      });
      continue;
    }
    const target = join(root, loader.file);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(source, target);
    report.copied.push({ file: loader.file, from: source });
  }
  return report;
}
