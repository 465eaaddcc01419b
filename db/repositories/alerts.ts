// The record of every alert received, and the lookups that tie an alert to a machine.
import { and, desc, eq, getTableColumns, inArray, isNull, lt, sql } from 'drizzle-orm';
import { executeNamed, type Database } from '../client.js';
import { alerts, interfaces, systems } from '../schema.js';
import type { MachineKeys } from '../../triggers/alert-labels.js';
import { coalescedQuery } from '../coalesced-queries.js';

export const ALERT_DECISIONS = ['started', 'joined', 'deferred', 'refused', 'dry-run', 'unknown-machine', 'resolved'] as const;
export type AlertDecision = (typeof ALERT_DECISIONS)[number];

export interface AlertRecordInput {
  receiver: string;
  deliveredBy: string;
  fingerprint: string;
  status: string;
  alertName: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string | null;
  system: string | null;
  decision: AlertDecision;
  reason: string;
  workflowId: string | null;
}

export interface AlertView extends AlertRecordInput {
  id: number;
  receivedAt: string;
}

/**
 * Whether a row of the machine lookup is one that these values name (the lookup's WHERE, for one caller): system
 * and host names in any case, so that every system a name is in some case reaches the match (matchMachine
 * refuses to choose between two), IPs and MACs as stored.
 */
function namedBy(values: string[]): (keys: MachineKeys) => boolean {
  const exact = new Set(values);
  const lower = new Set(values.map((v) => v.toLowerCase()));
  return (k) => lower.has(k.system.toLowerCase()) || (k.hostname !== null && lower.has(k.hostname.toLowerCase())) || (k.ip !== null && exact.has(k.ip)) || (k.mac !== null && exact.has(k.mac));
}

/**
 * The most rows one INSERT into alerts carries. A statement has at most 65,535 bind parameters, and a row takes
 * one per column it sets (a delivery may hold 10,000 alerts, and several deliveries go together): the rows go
 * in statements of at most 30,000 parameters, counting every column of the table so that a new one cannot push
 * a statement over the limit.
 */
export const ALERT_ROWS_PER_INSERT = Math.floor(30_000 / Object.keys(getTableColumns(alerts)).length);

/** Inserts the rows in one statement; their ids and times in the order given (one INSERT numbers its rows in the order of its VALUES). */
async function insertAlertRows(db: Database, inputs: AlertRecordInput[]): Promise<Array<{ id: number; receivedAt: Date }>> {
  const rows = await db
    .insert(alerts)
    .values(inputs.map((input) => ({ ...input, systemName: input.system })))
    .returning({ id: alerts.id, receivedAt: alerts.receivedAt });
  return rows.sort((a, b) => a.id - b.id);
}

export function createAlertRepository(db: Database) {
  // Deliveries that arrive together share their statements: one INSERT records all their alerts, and one
  // SELECT looks up the machines they name (each delivery gets back only the rows its own values select).
  // More rows than one INSERT may carry go in several, in one transaction: whatever fails, nothing is left
  // behind, so the coalescer's retry of each delivery alone, and the sender's retry of a delivery, find
  // none of it recorded.
  const recordDeliveries = coalescedQuery(async (deliveries: AlertRecordInput[][]) => {
    const inputs = deliveries.flat();
    if (inputs.length === 0) return deliveries.map(() => []);
    const ids =
      inputs.length <= ALERT_ROWS_PER_INSERT
        ? await insertAlertRows(db, inputs)
        : await db.transaction(async (transaction) => {
            const tx = transaction as unknown as Database;
            const inserted: Array<{ id: number; receivedAt: Date }> = [];
            for (let start = 0; start < inputs.length; start += ALERT_ROWS_PER_INSERT) inserted.push(...(await insertAlertRows(tx, inputs.slice(start, start + ALERT_ROWS_PER_INSERT))));
            return inserted;
          });
    let next = 0;
    return deliveries.map((delivery) => delivery.map((input) => ({ ...input, id: ids[next]!.id, receivedAt: ids[next++]!.receivedAt.toISOString() })));
  });
  const lookupMachines = coalescedQuery(async (lookups: string[][]) => {
    const values = [...new Set(lookups.flat())];
    const lower = [...new Set(values.map((v) => v.toLowerCase()))];
    // Each key through its own index, then the machines found with all their interfaces: one OR over the
    // joined tables would read the whole fleet for every delivery. The values go as array parameters, so the
    // statement's text is the same for every call: it is parsed once per connection, and planned once, with a
    // generic plan (its planning took as long as it runs, 0.14 ms in the webhook bench). PostgreSQL would not
    // choose that plan by itself: it costs arrays of unknown length as ten values each. `offset 0` keeps each
    // machine's row and interfaces a lookup by id, so that the generic plan cannot become a scan of the fleet.
    const rows = await executeNamed<{ system: string; hostname: string | null; ip: string | null; mac: string | null }>(
      db,
      'alerts_machine_keys',
      sql`
      with found as (
        select ${systems.id} as id from ${systems} where lower(${systems.name}) = any(${sql.param(lower)}::text[])
        union select ${interfaces.systemId} from ${interfaces} where lower(${interfaces.hostname}) = any(${sql.param(lower)}::text[])
        union select ${interfaces.systemId} from ${interfaces} where ${interfaces.ip} = any(${sql.param(values)}::text[])
        union select ${interfaces.systemId} from ${interfaces} where ${interfaces.mac} = any(${sql.param(values)}::text[]))
      select machine.name as system, interface.hostname as hostname, interface.ip as ip, interface.mac as mac
      from found
        cross join lateral (select ${systems.name} from ${systems} where ${systems.id} = found.id offset 0) machine
        left join lateral (select ${interfaces.hostname}, ${interfaces.ip}, ${interfaces.mac} from ${interfaces} where ${interfaces.systemId} = found.id offset 0) interface on true`,
      { genericPlan: true },
    );
    const keys: MachineKeys[] = rows.map((r) => ({ system: r.system, hostname: r.hostname ?? null, ip: r.ip ?? null, mac: r.mac ?? null }));
    return lookups.map((lookup) => keys.filter(namedBy(lookup)));
  });
  return {
    /** Records the alerts of one delivery (with those of the deliveries that come with it, in one INSERT, or in one transaction when they are many), all or none; the views in the order given. */
    async recordAll(inputs: AlertRecordInput[]): Promise<AlertView[]> {
      if (inputs.length === 0) return [];
      return recordDeliveries(inputs);
    },
    /** Newest first; `cursor` is the id of the last alert of the previous page. */
    async list(filter: { system?: string | undefined; limit: number; cursor?: number | undefined }): Promise<{ alerts: AlertView[]; nextCursor: string | null }> {
      const rows = await db
        .select()
        .from(alerts)
        .where(and(filter.system ? eq(alerts.systemName, filter.system) : undefined, filter.cursor !== undefined ? lt(alerts.id, filter.cursor) : undefined))
        .orderBy(desc(alerts.id))
        .limit(filter.limit + 1);
      const page = rows.slice(0, filter.limit);
      return {
        alerts: page.map((r) => ({
          id: r.id,
          receivedAt: r.receivedAt.toISOString(),
          receiver: r.receiver,
          deliveredBy: r.deliveredBy,
          fingerprint: r.fingerprint,
          status: r.status,
          alertName: r.alertName,
          labels: r.labels,
          annotations: r.annotations,
          startsAt: r.startsAt,
          system: r.systemName,
          decision: r.decision as AlertDecision,
          reason: r.reason,
          workflowId: r.workflowId,
        })),
        nextCursor: rows.length > filter.limit ? String(page.at(-1)!.id) : null,
      };
    },
    /** An alert recorded with the guard's decision that Temporal's answer then changed (joined, or deferred). */
    async amendDecision(id: number, decision: { decision: AlertDecision; reason: string; workflowId: string | null }): Promise<void> {
      await db.update(alerts).set({ decision: decision.decision, reason: decision.reason, workflowId: decision.workflowId }).where(eq(alerts.id, id));
    },
    /** The deferred alerts of a machine learn the rescue that finally started for them. */
    async noteDeferredStarted(system: string, workflowId: string): Promise<void> {
      await db.update(alerts).set({ workflowId }).where(and(eq(alerts.systemName, system), eq(alerts.decision, 'deferred'), isNull(alerts.workflowId)));
    },
    /** The machine's alerts still waiting for its queue entry (deferred, no rescue learnt yet) learn that it was refused, and why. */
    async noteDeferredRefused(system: string, reason: string): Promise<void> {
      await db.update(alerts).set({ decision: 'refused', reason }).where(and(eq(alerts.systemName, system), eq(alerts.decision, 'deferred'), isNull(alerts.workflowId)));
    },
    /**
     * Which of these (fingerprint, startsAt) pairs have been received already, whatever was decided (an alert
     * naming no known machine too), as alertReceiptKey()s: the poller skips them. The start is compared as an
     * instant, not as text: the webhook and the API v2 write the same start differently.
     */
    async alreadyReceived(keys: Array<{ fingerprint: string; startsAt: string | null }>): Promise<Set<string>> {
      if (keys.length === 0) return new Set();
      const rows = await db
        .selectDistinct({ fingerprint: alerts.fingerprint, startsAt: alerts.startsAt })
        .from(alerts)
        .where(inArray(alerts.fingerprint, [...new Set(keys.map((k) => k.fingerprint))]));
      return new Set(rows.map((r) => alertReceiptKey(r.fingerprint, r.startsAt)));
    },
    /** Deletes the alerts received before this time, in batches (RESCUED_ALERT_RETENTION_DAYS); how many. */
    async prune(before: Date, batch = 5000): Promise<number> {
      let total = 0;
      for (;;) {
        const deleted = await db
          .delete(alerts)
          .where(inArray(alerts.id, db.select({ id: alerts.id }).from(alerts).where(lt(alerts.receivedAt, before)).limit(batch)))
          .returning({ id: alerts.id });
        total += deleted.length;
        if (deleted.length < batch) return total;
      }
    },
    /** Systems and interfaces any of these values could name. */
    async machineKeys(values: string[]): Promise<MachineKeys[]> {
      if (values.length === 0) return [];
      return lookupMachines(values);
    },
  };
}

export type AlertRepository = ReturnType<typeof createAlertRepository>;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An alert's start as the instant it names, in milliseconds since the epoch; undefined when it is not an RFC
 * 3339 time. Alertmanager's webhook writes it in Go's RFC3339Nano ("10:00:00Z", ".123456789Z", ".5+02:00"),
 * its API v2 in milliseconds ("10:00:00.000Z", ".123Z", ".500+02:00"), which Go cuts from the nanoseconds, not
 * rounds: the fraction is cut to milliseconds here too, so that both name the same instant.
 */
export function alertStartInstant(startsAt: string): number | undefined {
  const parts = RFC3339.exec(startsAt);
  if (parts === null) return undefined;
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const milliseconds = Number((parts[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetMinutes = parts[9] === undefined ? 0 : (parts[9] === '-' ? -1 : 1) * (Number(parts[10]) * 60 + Number(parts[11]));
  const instant = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999 (Go's zero time is year 1).
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute, second, milliseconds);
  if (instant.getUTCDate() !== day) return undefined;
  return instant.getTime() - offsetMinutes * 60_000;
}

/** What identifies one firing of an alert: its fingerprint and the instant it started (the text itself when that is no time). */
export function alertReceiptKey(fingerprint: string, startsAt: string | null): string {
  if (startsAt === null) return `${fingerprint}@`;
  const instant = alertStartInstant(startsAt);
  return instant === undefined ? `${fingerprint}@text:${startsAt}` : `${fingerprint}@${instant}`;
}
