// Tables for lists, "key : value" reports for one object (as `cobbler ... report` prints), JSON for scripts.
import Table from 'cli-table3';

export type Row = Record<string, unknown>;

const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text as a terminal shows it literally: control characters (line breaks, escape sequences) written as
 * \n, \x1b, ... so that a stored value can neither forge a line of a report nor drive the terminal.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => NAMED_ESCAPES[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map((v) => printable(typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? '-' : entries.map(([k, v]) => printable(`${k}=${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)).join(', ');
  }
  return printable(String(value));
}

export type Columns = Array<{ key: string; header: string; value?: (row: Row) => unknown }>;

export function printTable(rows: Row[], columns: Columns): void {
  console.log(formatTable(rows, columns));
}

export function formatTable(rows: Row[], columns: Columns): string {
  if (rows.length === 0) return '(none)';
  const table = new Table({
    head: columns.map((c) => c.header),
    style: { head: [], border: [] },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
  for (const row of rows) table.push(columns.map((c) => formatValue(c.value ? c.value(row) : row[c.key])));
  return table.toString().split('\n').map((line) => line.trimEnd().replace(/^ /, '')).join('\n');
}

export function printReport(object: Row, labels: Record<string, string> = {}): void {
  console.log(formatReport(object, labels));
}

export function formatReport(object: Row, labels: Record<string, string> = {}): string {
  const flat: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(object)) {
    const label = labels[key] ?? key.replace(/([A-Z])/g, ' $1').toLowerCase();
    if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object') {
      value.forEach((item, index) => {
        for (const [innerKey, innerValue] of Object.entries(item as Row)) {
          flat.push([`${label} [${index}] ${innerKey.replace(/([A-Z])/g, ' $1').toLowerCase()}`, formatValue(innerValue)]);
        }
      });
    } else flat.push([label, formatValue(value)]);
  }
  const width = Math.max(...flat.map(([label]) => label.length));
  return flat.map(([label, value]) => `${label.padEnd(width)} : ${value}`).join('\n');
}

const isScalar = (value: unknown) => value === null || value === undefined || typeof value !== 'object';

function labelOf(key: string): string {
  return key.replace(/([A-Z])/g, ' $1').toLowerCase();
}

/**
 * Any JSON value as indented lines a person reads: `key: value` for scalars and short lists, nested objects
 * and lists of objects indented under their key, multi-line text as an indented block. Never `[object Object]`.
 */
export function formatTree(value: unknown, indent = ''): string[] {
  if (isScalar(value)) return [`${indent}${formatValue(value)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}-`];
    if (value.every((item) => isScalar(item) && !String(item).includes('\n'))) return [`${indent}${formatValue(value)}`];
    return value.flatMap((item) => {
      const lines = formatTree(item, `${indent}  `);
      return [`${indent}- ${lines[0]?.slice(indent.length + 2) ?? ''}`, ...lines.slice(1)];
    });
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [`${indent}-`];
  return entries.flatMap(([key, member]) => {
    const label = `${indent}${labelOf(key)}:`;
    if (typeof member === 'string' && member.includes('\n')) return [label, ...member.split('\n').map((line) => `${indent}    ${printable(line)}`)];
    if (isScalar(member) || (Array.isArray(member) && member.every((item) => isScalar(item) && !String(item).includes('\n')))) return [`${label} ${formatValue(member)}`];
    return [label, ...formatTree(member, `${indent}  `)];
  });
}

export function printTree(value: unknown, indent = ''): void {
  console.log(formatTree(value, indent).join('\n'));
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
