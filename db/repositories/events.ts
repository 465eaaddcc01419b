import { and, desc, eq, inArray, lt, type SQL } from 'drizzle-orm';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import type { Database } from '../client.js';
import { events } from '../schema.js';
import type { EventView } from '../../inventory/schemas.js';

export interface EventRecord {
  kind: string;
  objectType: string;
  objectName: string;
  actor: string;
  detail?: Record<string, unknown>;
}

export async function recordEvent(db: Database, event: EventRecord): Promise<void> {
  await db.insert(events).values({ ...event, detail: event.detail ?? {} });
}

/** Events, newest first, one page at a time. */
export async function listEvents(db: Database, filter: { objectType?: string | undefined; objectName?: string | undefined } & PageRequest): Promise<Page<EventView>> {
  const limit = pageLimit(filter);
  const conditions: SQL[] = [];
  if (filter.objectType) conditions.push(eq(events.objectType, filter.objectType));
  if (filter.objectName) conditions.push(eq(events.objectName, filter.objectName));
  if (filter.cursor !== undefined) conditions.push(lt(events.id, decodeCursor(filter.cursor, ['number'] as const)[0]));
  const rows = await db
    .select()
    .from(events)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(events.id))
    .limit(limit + 1);
  return pageOf(rows, limit, (row) => [row.id], (row) => ({ ...row, at: row.at.toISOString() }));
}

/** Deletes events older than `before`, in batches (a long delete would hold locks and hit the statement timeout). */
export async function pruneEvents(db: Database, before: Date, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await db
      .delete(events)
      .where(inArray(events.id, db.select({ id: events.id }).from(events).where(lt(events.at, before)).limit(batch)))
      .returning({ id: events.id });
    total += deleted.length;
    if (deleted.length < batch) return total;
  }
}
