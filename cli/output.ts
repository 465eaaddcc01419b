// Tables for lists, "key : value" reports for one object (as `cobbler ... report` prints), JSON for scripts.
import Table from 'cli-table3';

export type Row = Record<string, unknown>;

export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
  }
  return String(value);
}

export function printTable(rows: Row[], columns: Array<{ key: string; header: string; value?: (row: Row) => unknown }>): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const table = new Table({
    head: columns.map((c) => c.header),
    style: { head: [], border: [] },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
  for (const row of rows) table.push(columns.map((c) => formatValue(c.value ? c.value(row) : row[c.key])));
  console.log(table.toString().split('\n').map((line) => line.trimEnd().replace(/^ /, '')).join('\n'));
}

export function printReport(object: Row, labels: Record<string, string> = {}): void {
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
  for (const [label, value] of flat) console.log(`${label.padEnd(width)} : ${value}`);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
