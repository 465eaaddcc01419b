// GRUB configs for UEFI network boot. GRUB's net image looks up $prefix/grub.cfg-01-<mac> first, then
// grub.cfg; we serve both (the per-machine one and a menu).
import { bootFileUrl, type BootTarget, type BootUrls } from '../boot-target.js';

/** GRUB reaches HTTP as (http,host:port)/path. */
function grubHttpPath(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') return url;
  return `(http,${parsed.host})${parsed.pathname}${parsed.search}`;
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * One word of a GRUB command, as GRUB's shell-like lexer reads it: quoted unless plainly safe, since
 * ; | & $ < > { } # white space and quotes are syntax there (GRUB manual, "Shell-like scripting"); the
 * "(http,host:port)/path?mac=..." of a boot file stays as it is. Single quotes
 * keep everything literal; GRUB joins a command's words with spaces, so the kernel gets the same line.
 */
export function grubWord(value: string): string {
  return /^[A-Za-z0-9_.\/:=,@%+?()-]+$/.test(value) ? value : quote(value);
}

/** A kernel command line as GRUB words. */
function grubWords(line: string): string {
  return line.split(/\s+/).filter((word) => word.length > 0).map(grubWord).join(' ');
}

export function renderGrubConfig(target: BootTarget, urls: BootUrls): string {
  if (target.kind === 'local') {
    return [`# ${target.system ?? 'unknown machine'}: boot from local disk`, 'set timeout=0', 'exit 1', ''].join('\n');
  }
  return [
    `# ${target.system} (${target.mac}): ${target.kind} ${target.label}`,
    'set timeout=0',
    `menuentry ${quote(`${target.kind}: ${target.label}`)} {`,
    `  linux ${grubWord(grubHttpPath(bootFileUrl(target.kernel, urls, target.mac)))} ${grubWords(target.append)}`.trimEnd(),
    `  initrd ${grubWord(grubHttpPath(bootFileUrl(target.initrd, urls, target.mac)))}`,
    '}',
    '',
  ].join('\n');
}

export function renderGrubMenu(profiles: Array<{ name: string; kernel: string; initrd: string; append: string }>, urls: BootUrls): string {
  const lines = ['# rescued: machines without their own config', 'set timeout=20', 'set default=local', "menuentry 'local disk' --id local {", '  exit 1', '}'];
  for (const profile of profiles) {
    lines.push(
      `menuentry ${quote(profile.name)} {`,
      `  linux ${grubWord(grubHttpPath(bootFileUrl(profile.kernel, urls)))} ${grubWords(profile.append)}`.trimEnd(),
      `  initrd ${grubWord(grubHttpPath(bootFileUrl(profile.initrd, urls)))}`,
      '}',
    );
  }
  lines.push('');
  return lines.join('\n');
}
