// pxelinux configs: per machine (pxelinux.cfg/01-<mac>) and the `default` menu for unknown machines.
import { bootFileTftpPath, type BootTarget } from '../boot-target.js';

const LOCAL_BOOT = ['LABEL local', '  MENU LABEL (local disk)', '  LOCALBOOT -1'];

export function renderPxelinuxConfig(target: BootTarget): string {
  if (target.kind === 'local') {
    return [`# ${target.system ?? 'unknown machine'}: boot from local disk`, 'DEFAULT local', 'PROMPT 0', 'TIMEOUT 0', ...LOCAL_BOOT, ''].join('\n');
  }
  return [
    `# ${target.system} (${target.mac}): ${target.kind} ${target.label}`,
    `DEFAULT ${target.kind}`,
    'PROMPT 0',
    'TIMEOUT 0',
    `LABEL ${target.kind}`,
    `  MENU LABEL ${target.label}`,
    `  KERNEL ${bootFileTftpPath(target.kernel)}`,
    `  INITRD ${bootFileTftpPath(target.initrd)}`,
    `  APPEND ${target.append}`.trimEnd(),
    '  IPAPPEND 2',
    '',
  ].join('\n');
}

/** The menu a machine without its own config sees: local disk by default, profiles to choose from. */
export function renderPxelinuxMenu(profiles: Array<{ name: string; kernel: string; initrd: string; append: string }>): string {
  const lines = ['# rescued: machines without their own config', 'DEFAULT menu.c32', 'PROMPT 0', 'TIMEOUT 200', 'ONTIMEOUT local', 'MENU TITLE rescued', ...LOCAL_BOOT];
  for (const profile of profiles) {
    lines.push(`LABEL ${profile.name}`, `  MENU LABEL ${profile.name}`, `  KERNEL ${bootFileTftpPath(profile.kernel)}`, `  INITRD ${bootFileTftpPath(profile.initrd)}`, `  APPEND ${profile.append}`.trimEnd());
  }
  lines.push('');
  return lines.join('\n');
}
