// Tool output made safe to store and to show. What a rescue environment prints comes from damaged disks:
// e2fsck repeats names out of corrupted directories, logs hold NULs where a crash cut them, terminals' escape
// sequences sit in boot logs. PostgreSQL's jsonb refuses "\u0000" and lone surrogates ("unsupported Unicode
// escape sequence"), terminals obey escape sequences, and a 1 MiB output bloats every row and reply. So every
// string that leaves shell/ as a finding, evidence, a playbook action or a failure message, and every string
// the rescue record stores, passes through here: NUL and invalid UTF-8 become U+FFFD, other control
// characters (but \n and \t) become visible escapes, lone surrogates go, and a long text keeps its head and
// tail with a note of how many bytes and lines were cut from the middle.

/** Characters kept of one piece of evidence output (the end is where tools say why, so 3/4 of it is tail). */
export const EVIDENCE_TEXT_LIMIT = 3000;
/** Characters kept of any other string stored or returned (a summary, an action, a message, a file written). */
export const STORED_TEXT_LIMIT = 16_000;

const REPLACEMENT = '\uFFFD';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** C0 controls but \t and \n, DEL, C1 controls, and the bidirectional overrides that reorder what a terminal shows. */
const CONTROL = /[\x01-\x08\x0B-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]/g;
const NAMED_ESCAPES: Record<string, string> = { '\r': '\\r', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\x1b': '\\e' };

function escapeControl(character: string): string {
  const named = NAMED_ESCAPES[character];
  if (named) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The characters made safe, the length untouched: NUL → U+FFFD, lone surrogates removed, controls escaped. */
export function cleanText(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .replace(/\0/g, REPLACEMENT)
    .replace(LONE_SURROGATE, '')
    .replace(CONTROL, escapeControl);
}

/** Bytes from a tool as text: invalid UTF-8 sequences become U+FFFD (as a WHATWG decoder does), then cleaned. */
export function textFromBytes(bytes: Uint8Array, options: { limit?: number } = {}): string {
  return safeText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), options);
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let lines = 1;
  for (let index = text.indexOf('\n'); index >= 0; index = text.indexOf('\n', index + 1)) lines += 1;
  return lines;
}

/** An index moved off the middle of a surrogate pair. */
function boundary(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0xdc00 && code <= 0xdfff ? index + 1 : index;
}

/** Room kept for the note: `\n… [cut 9007199254740991 bytes, 9007199254740991 lines] …\n` fits in it. */
const NOTE_ROOM = 64;

/**
 * At most `limit` characters, note included: the first quarter and the last three quarters of the text, and
 * between them `… [cut N bytes, M lines] …`. Text that fits comes back as it is, so capping twice cuts once.
 */
export function capText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const budget = Math.max(limit - NOTE_ROOM, 0);
  const headEnd = boundary(text, Math.floor(budget / 4));
  const tailStart = boundary(text, text.length - (budget - Math.floor(budget / 4)));
  const cut = text.slice(headEnd, tailStart);
  const lines = countLines(cut) - 1;
  const note = `… [cut ${Buffer.byteLength(cut, 'utf8')} bytes${lines > 0 ? `, ${lines} line${lines === 1 ? '' : 's'}` : ''}] …`;
  return `${text.slice(0, headEnd)}\n${note}\n${text.slice(tailStart)}`;
}

/** One string, safe to store and show: cleaned, then capped at `limit` characters (default STORED_TEXT_LIMIT). */
export function safeText(text: string, options: { limit?: number } = {}): string {
  return capText(cleanText(text), options.limit ?? STORED_TEXT_LIMIT);
}

/** Whether a string is already what safeText() makes of it (no cap applied): the property the tests check. */
export function isSafeText(text: string): boolean {
  return cleanText(text) === text;
}

/**
 * A JSON-plain value with every string in it (object keys too) made safe, as JSON.stringify would see it:
 * toJSON() is honoured (dates), undefined members dropped, non-finite numbers become null. What is stored in
 * jsonb columns and returned by the API goes through here, so no tool output can make a write fail.
 */
export function safeJson<T>(value: T, options: { limit?: number } = {}): T {
  return sanitize(value, options.limit ?? STORED_TEXT_LIMIT, 0) as T;
}

const MAX_DEPTH = 64;

function sanitize(value: unknown, limit: number, depth: number): unknown {
  if (typeof value === 'string') return safeText(value, { limit });
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return sanitize(withJson.toJSON(), limit, depth + 1);
  if (Array.isArray(value)) return value.map((item) => sanitize(item, limit, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const cleaned = sanitize(member, limit, depth + 1);
    if (cleaned !== undefined) out[safeText(key, { limit: 200 })] = cleaned;
  }
  return out;
}
