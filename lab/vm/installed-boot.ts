// Boots a (repaired) lab disk the way the machine would after the rescue: GRUB's part is read from the disk on this
// machine (grub.cfg's default entry, whose kernel and initramfs files must be there and not empty, as GRUB needs
// them), and the rest runs in QEMU: the lab kernel stands in for the disk's placeholder kernel, with the entry's
// kernel command line, and lab/images/installed/init stands in for its initramfs (root= found, fsck, mounted,
// fstab resolved). Only ext2/3/4 disks: the files are read with debugfs.
import { runCommand } from './commands.js';
import { readFileFromDiskImage } from './disks.js';
import { ensureLabBootImages } from './initramfs.js';
import { startLabVm } from './qemu.js';
import { parseGrubConfig, resolveDefaultEntry } from '../../shell/grub.js';

export interface InstalledBootOutcome {
  booted: boolean;
  /** The boot's last word: "booted root=... from /dev/vda (ext4)", GRUB's "file not found", the ALERT line... */
  message: string;
  kernelArguments: string | null;
}

async function fileSize(imagePath: string, pathInside: string): Promise<number | null> {
  const { stdout } = await runCommand('debugfs', ['-R', `stat "${pathInside}"`, imagePath]);
  const size = /Size:\s*(\d+)/.exec(stdout)?.[1];
  return /Inode:\s*\d+/.test(stdout) && size !== undefined ? Number(size) : null;
}

export async function bootInstalledDisk(imagePath: string, options: { timeoutMs?: number } = {}): Promise<InstalledBootOutcome> {
  // GRUB's ext2 driver reads the primary superblock only: without it the disk is an "unknown filesystem".
  const readable = await runCommand('dumpe2fs', ['-h', imagePath]).then(() => true, () => false);
  if (!readable) return { booted: false, message: 'GRUB: error: unknown filesystem (no valid primary superblock)', kernelArguments: null };
  let grubText: string;
  try {
    grubText = await readFileFromDiskImage(imagePath, '/boot/grub/grub.cfg');
  } catch (error) {
    return { booted: false, message: `GRUB: cannot read /boot/grub/grub.cfg: ${error instanceof Error ? error.message : String(error)}`, kernelArguments: null };
  }
  const config = parseGrubConfig(grubText);
  const resolution = resolveDefaultEntry(config, null);
  const entry = resolution.status === 'found' ? resolution.entry : config.entries[0];
  if (!entry?.kernel) return { booted: false, message: 'GRUB: no menu entry with a linux line', kernelArguments: null };
  for (const path of [entry.kernel, ...entry.initrd]) {
    const size = await fileSize(imagePath, path);
    if (size === null) return { booted: false, message: `GRUB: error: file \`${path}' not found.`, kernelArguments: entry.kernelArguments };
    if (size === 0) return { booted: false, message: `GRUB: ${path} is empty: the kernel cannot load`, kernelArguments: entry.kernelArguments };
  }
  const images = await ensureLabBootImages();
  const vm = await startLabVm({
    disks: [{ path: imagePath, snapshot: true }],
    boot: { kind: 'kernel', kernelPath: images.kernel.vmlinuzPath, initrdPath: images.installed.path, kernelArguments: `console=ttyS0 ${entry.kernelArguments}` },
  });
  try {
    const match = await vm.waitForSerial(/RESCUED-INSTALLED: (booted[^\r\n]*|failed[^\r\n]*)/, options.timeoutMs ?? 120_000);
    const message = match[1] ?? '';
    return { booted: message.startsWith('booted'), message, kernelArguments: entry.kernelArguments };
  } finally {
    await vm.stop();
  }
}
