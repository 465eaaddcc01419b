// grub.cfg as far as the boot probe needs it: the menu entries (with their kernel and initrd) and which one
// boots by default; and grubenv, GRUB's 1024-byte environment block (saved_entry).

export interface GrubMenuEntry {
  title: string;
  /** `$menuentry_id_option 'gnulinux-...'` or `--id ...`, when given. */
  id: string | null;
  /** Index path as GRUB's `default` takes it: "0", "1>2" (entry 2 of the submenu at 1). */
  indexPath: string;
  /** Titles from the top, joined with ">" (GRUB also accepts this form). */
  titlePath: string;
  /** Per level from the top: index, id (null when none) and title, to match GRUB's `a>b` references. */
  levels: Array<{ index: string; id: string | null; title: string }>;
  kernel: string | null;
  /** The kernel command line after the kernel path on the `linux` line (root=..., ro, quiet). */
  kernelArguments: string;
  /** 1-based line number of the `linux` line, for a playbook that corrects it. */
  kernelLineNumber: number | null;
  initrd: string[];
}

export interface GrubDefaultSetting {
  /** The value as written, e.g. `0`, `${saved_entry}`, `gnulinux-advanced-...>gnulinux-6.1...`. */
  value: string;
  lineNumber: number;
}

export interface GrubConfig {
  entries: GrubMenuEntry[];
  /** Every `set default=...` line, in order. */
  defaultSettings: GrubDefaultSetting[];
}

function quotedWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

function entryHeader(line: string): { title: string; id: string | null } {
  const words = quotedWords(line.replace(/\{\s*$/, ''));
  const title = words[1] ?? '';
  let id: string | null = null;
  for (let index = 2; index < words.length; index += 1) {
    const word = words[index];
    if (word === '$menuentry_id_option' || word === '--id') id = words[index + 1] ?? null;
    else if (word?.startsWith('--id=')) id = word.slice('--id='.length);
  }
  return { title, id };
}

export function parseGrubConfig(text: string): GrubConfig {
  const entries: GrubMenuEntry[] = [];
  const defaultSettings: GrubDefaultSetting[] = [];
  // The stack of open blocks: submenus and menuentries carry their index, other blocks (if/function) do not.
  type Block = { kind: 'submenu' | 'menuentry' | 'other'; index: number; title: string; id: string | null; childCount: number; entry?: GrubMenuEntry };
  const stack: Block[] = [];
  let topLevelCount = 0;
  const lines = text.split('\n');

  lines.forEach((rawLine, lineIndex) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const menu = stack.filter((block) => block.kind === 'submenu' || block.kind === 'menuentry');
    const parentSubmenu = [...stack].reverse().find((block) => block.kind === 'submenu');

    if (/^(menuentry|submenu)\s/.test(line)) {
      const kind = line.startsWith('submenu') ? 'submenu' : 'menuentry';
      const { title, id } = entryHeader(line);
      const index = parentSubmenu ? parentSubmenu.childCount++ : topLevelCount++;
      const block: Block = { kind, index, title, id, childCount: 0 };
      if (kind === 'menuentry') {
        const ancestors = menu.filter((item) => item.kind === 'submenu');
        block.entry = {
          title,
          id,
          indexPath: [...ancestors.map((item) => String(item.index)), String(index)].join('>'),
          titlePath: [...ancestors.map((item) => item.title), title].join('>'),
          levels: [...ancestors, block].map((item) => ({ index: String(item.index), id: item.id, title: item.title })),
          kernel: null,
          kernelArguments: '',
          kernelLineNumber: null,
          initrd: [],
        };
        entries.push(block.entry);
      }
      if (line.endsWith('{')) stack.push(block);
      return;
    }
    const currentEntry = [...stack].reverse().find((block) => block.kind === 'menuentry')?.entry;
    if (currentEntry) {
      const kernel = /^(linux|linuxefi|linux16|kernel)\s+(\S+)\s*(.*)$/.exec(line);
      if (kernel?.[2]) {
        currentEntry.kernel = kernel[2];
        currentEntry.kernelArguments = kernel[3] ?? '';
        currentEntry.kernelLineNumber = lineIndex + 1;
      }
      const initrd = /^(initrd|initrdefi|initrd16)\s+(.+)$/.exec(line);
      if (initrd?.[2]) currentEntry.initrd = initrd[2].split(/\s+/);
    }
    const setDefault = /^set\s+default=(.*)$/.exec(line);
    if (setDefault?.[1] !== undefined && !currentEntry) {
      defaultSettings.push({ value: quotedWords(setDefault[1])[0] ?? '', lineNumber: lineIndex + 1 });
    }
    // Blocks: `if ...; then` / `fi`, `function x {` / `}`; only braces matter for the menu structure.
    if (/\{\s*$/.test(line)) stack.push({ kind: 'other', index: -1, title: '', id: null, childCount: 0 });
    else if (line === '}') stack.pop();
  });
  return { entries, defaultSettings };
}

export type DefaultEntryResolution =
  | { status: 'found'; entry: GrubMenuEntry; reference: string; via: 'grub.cfg' | 'grubenv' }
  | { status: 'not-found'; reference: string; via: 'grub.cfg' | 'grubenv' };

/**
 * The entry GRUB boots by default. Reads the last `set default=` that is not the one-shot `${next_entry}`;
 * `${saved_entry}` is looked up in grubenv (empty or absent: entry 0). A number is an index, anything else an
 * id or a title, optionally a path through submenus with ">".
 */
export function resolveDefaultEntry(config: GrubConfig, grubenv: ReadonlyMap<string, string> | null): DefaultEntryResolution {
  const settings = config.defaultSettings.filter((setting) => !setting.value.includes('next_entry'));
  let reference = settings.at(-1)?.value ?? '0';
  let via: 'grub.cfg' | 'grubenv' = 'grub.cfg';
  if (/\$\{?saved_entry\}?/.test(reference)) {
    reference = grubenv?.get('saved_entry') || '0';
    via = 'grubenv';
  }
  const entry = findEntry(config.entries, reference);
  return entry ? { status: 'found', entry, reference, via } : { status: 'not-found', reference, via };
}

/** The entry a GRUB `default` value names: per level (`a>b`), an index, an id or a title, as GRUB matches them. */
export function findEntry(entries: readonly GrubMenuEntry[], reference: string): GrubMenuEntry | null {
  const parts = (reference === '' ? '0' : reference).split('>');
  return entries.find((entry) => entry.levels.length === parts.length
    && entry.levels.every((level, index) => parts[index] === level.index || parts[index] === level.id || parts[index] === level.title)) ?? null;
}

/** What to write as the default for an entry: the ids of its levels when each has one, else its index path. */
export function defaultReferenceFor(entry: GrubMenuEntry): string {
  return entry.levels.every((level) => level.id !== null) ? entry.levels.map((level) => level.id).join('>') : entry.indexPath;
}

export const GRUBENV_SIZE = 1024;

export function parseGrubEnv(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals > 0) map.set(line.slice(0, equals), line.slice(equals + 1));
  }
  return map;
}

/** The block as GRUB writes it: header, key=value lines, padded with '#' to exactly 1024 bytes. */
export function renderGrubEnv(values: ReadonlyMap<string, string>): string {
  let body = '# GRUB Environment Block\n';
  for (const [key, value] of values) body += `${key}=${value}\n`;
  if (Buffer.byteLength(body) > GRUBENV_SIZE) throw new Error('grubenv would be larger than 1024 bytes');
  return body + '#'.repeat(GRUBENV_SIZE - Buffer.byteLength(body));
}

/** Orders kernel versions the way people mean them: 6.1.0-18-amd64 after 6.1.0-9-amd64. */
export function compareKernelVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** `vmlinuz-6.1.0-18-amd64` → `6.1.0-18-amd64`; null for names that are not kernels. */
export function kernelVersionOf(fileName: string): string | null {
  const match = /^(?:vmlinuz|vmlinux|bzImage|kernel)-(.+)$/.exec(fileName);
  return match?.[1] && !match[1].endsWith('.old') ? match[1] : null;
}

/** `initrd.img-V`, `initramfs-V.img` → V. Rescue/kdump initramfs images are not counted. */
export function initramfsVersionOf(fileName: string): string | null {
  const debian = /^initrd\.img-(.+)$/.exec(fileName);
  if (debian?.[1]) return debian[1];
  const redHat = /^initramfs-(.+?)\.img$/.exec(fileName);
  if (redHat?.[1] && !/kdump$/.test(redHat[1])) return redHat[1];
  return null;
}

/** The `root=` a kernel command line names (`UUID=...`, `/dev/vda1`, `LABEL=...`), or null. */
export function kernelRootArgument(kernelArguments: string): string | null {
  return /(?:^|\s)root=(\S+)/.exec(kernelArguments)?.[1] ?? null;
}
