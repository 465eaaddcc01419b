// Kernel command lines merge as in Cobbler: distro < profile (ancestors first) < system, later layers
// overriding earlier ones key by key. "!key" in a later layer removes the key.

export type KernelOptions = Map<string, string | null>;

/** "console=ttyS0 quiet ip=dhcp" → ordered key → value (null for flags). Quotes keep spaces inside values. */
export function parseKernelOptions(line: string): KernelOptions {
  const options: KernelOptions = new Map();
  const tokens = line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
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
