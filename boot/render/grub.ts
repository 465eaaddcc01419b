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

export function renderGrubConfig(target: BootTarget, urls: BootUrls): string {
  if (target.kind === 'local') {
    return [`# ${target.system ?? 'unknown machine'}: boot from local disk`, 'set timeout=0', 'exit 1', ''].join('\n');
  }
  return [
    `# ${target.system} (${target.mac}): ${target.kind} ${target.label}`,
    'set timeout=0',
    `menuentry ${quote(`${target.kind}: ${target.label}`)} {`,
    `  linux ${grubHttpPath(bootFileUrl(target.kernel, urls, target.mac))} ${target.append}`.trimEnd(),
    `  initrd ${grubHttpPath(bootFileUrl(target.initrd, urls, target.mac))}`,
    '}',
    '',
  ].join('\n');
}

export function renderGrubMenu(profiles: Array<{ name: string; kernel: string; initrd: string; append: string }>, urls: BootUrls): string {
  const lines = ['# rescued: machines without their own config', 'set timeout=20', 'set default=local', "menuentry 'local disk' --id local {", '  exit 1', '}'];
  for (const profile of profiles) {
    lines.push(
      `menuentry ${quote(profile.name)} {`,
      `  linux ${grubHttpPath(bootFileUrl(profile.kernel, urls))} ${profile.append}`.trimEnd(),
      `  initrd ${grubHttpPath(bootFileUrl(profile.initrd, urls))}`,
      '}',
    );
  }
  lines.push('');
  return lines.join('\n');
}
