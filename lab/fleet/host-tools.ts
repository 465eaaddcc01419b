// What the lab needs on this machine, each with the Debian package that brings it, so that a fresh machine
// hears "install X" instead of a stack trace. scripts/setup/vm-lab.sh and scripts/setup/power-lab.sh install them all.
import { existsSync } from 'node:fs';

export interface MissingLabTool {
  tool: string;
  debianPackage: string;
  message: string;
}

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const REQUIRED: ReadonlyArray<{ tool: string; debianPackage: string; path?: string }> = [
  { tool: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' },
  { tool: 'the iPXE ROM of the virtio NIC', debianPackage: 'ipxe-qemu', path: '/usr/lib/ipxe/qemu/efi-virtio.rom' },
  { tool: 'ipmi_sim', debianPackage: 'openipmi' },
  { tool: 'ipmitool', debianPackage: 'ipmitool' },
  { tool: 'busybox (static)', debianPackage: 'busybox-static', path: '/bin/busybox' },
  { tool: 'dropbear', debianPackage: 'dropbear-bin' },
  { tool: 'e2fsck.static', debianPackage: 'e2fsck-static', path: '/sbin/e2fsck.static' },
  { tool: 'debugfs', debianPackage: 'e2fsprogs' },
  { tool: 'depmod', debianPackage: 'kmod' },
];

function onPath(tool: string): boolean {
  const directories = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  return directories.some((directory) => existsSync(`${directory}/${tool}`));
}

export function missingLabTools(): MissingLabTool[] {
  const missing = REQUIRED.filter((entry) => !(entry.path ? existsSync(entry.path) : onPath(entry.tool)));
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((entry) => entry.debianPackage))].join(' ');
  return missing.map((entry) => ({
    tool: entry.tool,
    debianPackage: entry.debianPackage,
    message: `${entry.tool} is missing (Debian package ${entry.debianPackage}): run  sudo apt-get install -y ${packages}  (or sudo scripts/setup/vm-lab.sh && sudo scripts/setup/power-lab.sh)`,
  }));
}
