import { and, desc, eq, type SQL } from 'drizzle-orm';
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

export async function listEvents(
  db: Database,
  filter: { objectType?: string | undefined; objectName?: string | undefined; limit?: number | undefined },
): Promise<EventView[]> {
  const conditions: SQL[] = [];
  if (filter.objectType) conditions.push(eq(events.objectType, filter.objectType));
  if (filter.objectName) conditions.push(eq(events.objectName, filter.objectName));
  const rows = await db
    .select()
    .from(events)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(events.id))
    .limit(Math.min(filter.limit ?? 100, 1000));
  return rows.map((row) => ({ ...row, at: row.at.toISOString() }));
}
