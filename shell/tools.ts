// Which tools the rescue environment has: one round trip at the start of a diagnosis or repair. Probes and
// playbooks check here instead of failing on "not found" (smartctl, xfs_repair, grub-install are often absent).
import { shellScript } from './quote.js';
import type { RescueHost } from './rescue-host.js';

export const KNOWN_TOOLS = [
  'e2fsck', 'tune2fs', 'dumpe2fs', 'debugfs', 'blkid', 'smartctl', 'xfs_repair', 'xfs_db', 'journalctl',
  'grub-install', 'mount', 'umount', 'df', 'stat', 'mktemp', 'tail', 'find', 'lvm', 'mdadm', 'chroot',
] as const;

export type ToolName = (typeof KNOWN_TOOLS)[number];

/** The Debian package that brings a tool, for findings that say what the rescue image lacks. */
export const TOOL_PACKAGES: Readonly<Partial<Record<ToolName, string>>> = {
  e2fsck: 'e2fsprogs', tune2fs: 'e2fsprogs', debugfs: 'e2fsprogs', xfs_repair: 'xfsprogs', xfs_db: 'xfsprogs',
  lvm: 'lvm2', mdadm: 'mdadm', smartctl: 'smartmontools', 'grub-install': 'grub-pc-bin', chroot: 'coreutils',
};

/** "the rescue image lacks lvm (lvm2)" for a finding or an action. */
export function lacking(tool: ToolName): string {
  const from = TOOL_PACKAGES[tool];
  return `the rescue image lacks ${tool}${from ? ` (${from})` : ''}`;
}

export interface ToolInventory {
  has(tool: ToolName): boolean;
  /** Tool name → path, JSON-plain. */
  readonly paths: Readonly<Record<string, string>>;
}

export function toolInventory(paths: Readonly<Record<string, string>>): ToolInventory {
  return { paths, has: (tool) => tool in paths };
}

export async function findTools(host: RescueHost): Promise<ToolInventory> {
  const script = 'for t in "$@"; do p=$(command -v "$t" 2>/dev/null) && printf "%s\\t%s\\n" "$t" "$p"; done; exit 0';
  const result = await host.exec(shellScript(script, ...KNOWN_TOOLS), { timeoutMs: 15_000 });
  const paths: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const [name, path] = line.split('\t');
    if (name && path) paths[name] = path;
  }
  return toolInventory(paths);
}
