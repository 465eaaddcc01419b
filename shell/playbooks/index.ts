// The playbooks by id, in the order a repair runs them: the file system first (the others read and write it),
// (the storage under it before that), then fstab and boot configuration, then space.
import type { PlaybookId } from '../findings.js';
import { bootloaderReinstallPlaybook } from './bootloader-reinstall.js';
import { filesystemRepairPlaybook } from './filesystem-repair.js';
import { freeSpacePlaybook } from './free-space.js';
import { fstabCorrectPlaybook } from './fstab-correct.js';
import { grubRootCorrectPlaybook } from './grub-root-correct.js';
import { initramfsRebuildPlaybook } from './initramfs-rebuild.js';
import { kernelPreviousDefaultPlaybook } from './kernel-previous-default.js';
import { raidAssembleDegradedPlaybook } from './raid-assemble-degraded.js';
import { xfsRepairPlaybook } from './xfs-repair.js';
import type { Playbook } from './types.js';

export const PLAYBOOKS: Readonly<Record<PlaybookId, Playbook>> = {
  'raid-assemble-degraded': raidAssembleDegradedPlaybook,
  'filesystem-repair': filesystemRepairPlaybook,
  'xfs-repair': xfsRepairPlaybook,
  'initramfs-rebuild': initramfsRebuildPlaybook,
  'grub-root-correct': grubRootCorrectPlaybook,
  'fstab-correct': fstabCorrectPlaybook,
  'kernel-previous-default': kernelPreviousDefaultPlaybook,
  'bootloader-reinstall': bootloaderReinstallPlaybook,
  'free-space': freeSpacePlaybook,
};

export const PLAYBOOK_ORDER: readonly PlaybookId[] = [
  'raid-assemble-degraded', 'filesystem-repair', 'xfs-repair', 'fstab-correct', 'kernel-previous-default', 'initramfs-rebuild', 'grub-root-correct',
  'bootloader-reinstall', 'free-space',
];

export { PlaybookContext, type RepairPolicy, type Playbook, type PlaybookResult, type PlaybookStatus, type PlaybookTarget } from './types.js';
