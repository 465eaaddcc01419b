// Keyset pagination for every list: a page is `limit` rows after the cursor, in the list's fixed order
// (names ascending, or newest first by ID); the cursor is the last row's key, opaque to callers
// (base64url JSON). A row added or removed between two pages never shifts the others: each row is seen once.
import { InventoryError } from '../inventory/errors.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null on the last one. */
  nextCursor: string | null;
}

type KeyPart = string | number;

export function encodeCursor(key: readonly KeyPart[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key a cursor carries, checked against the shape this list's cursors have. */
export function decodeCursor<Shape extends ReadonlyArray<'string' | 'number'>>(cursor: string, shape: Shape): { [I in keyof Shape]: Shape[I] extends 'string' ? string : number } {
  const refuse = () => new InventoryError('invalid', 'cursor: not a cursor of this list (pass the one the previous page gave, in its x-next-cursor header)', 'cursor');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(key) || key.length !== shape.length || !key.every((part, i) => typeof part === shape[i] && (typeof part !== 'number' || Number.isSafeInteger(part)))) throw refuse();
  return key as { [I in keyof Shape]: Shape[I] extends 'string' ? string : number };
}

/** The page size asked for, bounded: default DEFAULT_PAGE_LIMIT, at most MAX_PAGE_LIMIT. */
export function pageLimit(request: PageRequest, fallback = DEFAULT_PAGE_LIMIT): number {
  return Math.min(Math.max(1, Math.trunc(request.limit ?? fallback)), MAX_PAGE_LIMIT);
}

/** A page from rows fetched with `limit + 1`: the extra row only says that there is a next page. */
export function pageOf<Row, Item>(rows: Row[], limit: number, keyOf: (row: Row) => readonly KeyPart[], toItem: (row: Row) => Item): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(toItem), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
