// Reads a "newc" cpio archive (as cpio.ts writes it, and as the kernel unpacks it), possibly gzip'd: the
// entries in order, so that an image can be derived from another one (rescue-based-images.ts).
import { gunzipSync } from 'node:zlib';

export interface CpioReadEntry {
  path: string;
  /** st_mode: type and permission bits. */
  mode: number;
  data: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

export const CPIO_TYPE_MASK = 0o170000;
export const CPIO_DIRECTORY = 0o040000;
export const CPIO_REGULAR = 0o100000;
export const CPIO_SYMLINK = 0o120000;
export const CPIO_CHARACTER_DEVICE = 0o020000;

const HEADER_LENGTH = 110;
const align4 = (offset: number) => (offset + 3) & ~3;

/** The entries of one newc archive (gzip'd or not), up to its TRAILER!!!. */
export function readCpioEntries(archive: Buffer): CpioReadEntry[] {
  const data = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const entries: CpioReadEntry[] = [];
  let offset = 0;
  for (;;) {
    if (offset + HEADER_LENGTH > data.length) throw new Error(`cpio: archive ends inside a header at byte ${offset}`);
    const magic = data.toString('ascii', offset, offset + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`cpio: not a newc header at byte ${offset} (magic ${JSON.stringify(magic)})`);
    const field = (index: number) => Number.parseInt(data.toString('ascii', offset + 6 + index * 8, offset + 14 + index * 8), 16);
    const mode = field(1);
    const fileSize = field(6);
    const rdevMajor = field(9);
    const rdevMinor = field(10);
    const nameSize = field(11);
    const nameStart = offset + HEADER_LENGTH;
    const path = data.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = align4(nameStart + nameSize);
    if (path === 'TRAILER!!!') return entries;
    entries.push({ path, mode, data: data.subarray(dataStart, dataStart + fileSize), rdevMajor, rdevMinor });
    offset = align4(dataStart + fileSize);
  }
}
