// The playbooks by id, in the order a repair runs them: the file system first (the others read and write it),
// then fstab and boot configuration, then space.
import type { PlaybookId } from '../findings.js';
import { bootloaderReinstallPlaybook } from './bootloader-reinstall.js';
import { filesystemRepairPlaybook } from './filesystem-repair.js';
import { freeSpacePlaybook } from './free-space.js';
import { fstabCorrectPlaybook } from './fstab-correct.js';
import { kernelPreviousDefaultPlaybook } from './kernel-previous-default.js';
import type { Playbook } from './types.js';

export const PLAYBOOKS: Readonly<Record<PlaybookId, Playbook>> = {
  'filesystem-repair': filesystemRepairPlaybook,
  'fstab-correct': fstabCorrectPlaybook,
  'kernel-previous-default': kernelPreviousDefaultPlaybook,
  'bootloader-reinstall': bootloaderReinstallPlaybook,
  'free-space': freeSpacePlaybook,
};

export const PLAYBOOK_ORDER: readonly PlaybookId[] = ['filesystem-repair', 'fstab-correct', 'kernel-previous-default', 'bootloader-reinstall', 'free-space'];

export { PlaybookContext, type Playbook, type PlaybookResult, type PlaybookStatus, type PlaybookTarget } from './types.js';
