// Kernel command lines merge as in Cobbler: distro < profile (ancestors first) < system, later layers
// overriding earlier ones key by key. "!key" in a later layer removes the key.

export type KernelOptions = Map<string, string | null>;

/**
 * "console=ttyS0 quiet ip=dhcp" → ordered key → value (null for flags). Quotes keep spaces inside values; a
 * quote left open runs to the end of the line, as in the kernel's own parser (next_arg), so that no character
 * is dropped and no word is split off: `h"#a` stays one word, never a word `#a` that iPXE reads as a comment.
 */
export function parseKernelOptions(line: string): KernelOptions {
  const options: KernelOptions = new Map();
  const tokens = line.match(/(?:[^\s"]+|"[^"]*(?:"|$))+/g) ?? [];
  for (const token of tokens) {
    const at = token.indexOf('=');
    if (at < 0) options.set(token, null);
    else options.set(token.slice(0, at), token.slice(at + 1));
  }
  return options;
}

export function mergeKernelOptions(...layers: string[]): KernelOptions {
  const merged: KernelOptions = new Map();
  for (const layer of layers) {
    for (const [key, value] of parseKernelOptions(layer)) {
      if (key.startsWith('!')) merged.delete(key.slice(1));
      else merged.set(key, value);
    }
  }
  return merged;
}

export function formatKernelOptions(options: KernelOptions): string {
  return [...options].map(([key, value]) => (value === null ? key : `${key}=${value}`)).join(' ');
}

/**
 * Why a kernel command line cannot go into a boot config as it is, or undefined. pxelinux, GRUB and iPXE
 * each read a config line by line, so a line break (or any control character) would start a new command.
 * GRUB's words are quoted by its renderer (boot/render/grub.ts); iPXE has no quoting at all, and ends a
 * command at a word "||", "&&" or ";", or comments out the rest of the line at a word starting with "#"
 * (iPXE's command line syntax, https://ipxe.org/scripting), so such words are refused.
 */
export function kernelCommandLineProblem(line: string): string | undefined {
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(line);
  if (control !== null) return `must be on one line, without control characters (found ${JSON.stringify(control[0])})`;
  for (const word of line.split(/\s+/)) {
    if (word === '||' || word === '&&' || word === ';') return `the word "${word}" would end the kernel command in an iPXE script`;
    if (word.startsWith('#')) return `the word "${word}" would comment out the rest of the kernel command in an iPXE script`;
  }
  return undefined;
}
