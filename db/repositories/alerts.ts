// The record of every alert received, and the lookups that tie an alert to a machine.
import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { alerts, interfaces, systems } from '../schema.js';
import type { MachineKeys } from '../../triggers/alert-labels.js';

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

export function createAlertRepository(db: Database) {
  return {
    /** Records the alerts of one delivery in one INSERT; the views in the order given. */
    async recordAll(inputs: AlertRecordInput[]): Promise<AlertView[]> {
      if (inputs.length === 0) return [];
      const rows = await db
        .insert(alerts)
        .values(inputs.map((input) => ({ ...input, systemName: input.system })))
        .returning({ id: alerts.id, receivedAt: alerts.receivedAt });
      const ids = rows.sort((a, b) => a.id - b.id);
      return inputs.map((input, index) => ({ ...input, id: ids[index]!.id, receivedAt: ids[index]!.receivedAt.toISOString() }));
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
    /** The deferred alerts of a machine learn the rescue that finally started for them. */
    async noteDeferredStarted(system: string, workflowId: string): Promise<void> {
      await db.update(alerts).set({ workflowId }).where(and(eq(alerts.systemName, system), eq(alerts.decision, 'deferred'), isNull(alerts.workflowId)));
    },
    /** Which of these (fingerprint, startsAt) pairs have been received already (the poller skips them). */
    async alreadyReceived(keys: Array<{ fingerprint: string; startsAt: string | null }>): Promise<Set<string>> {
      if (keys.length === 0) return new Set();
      const rows = await db
        .selectDistinct({ fingerprint: alerts.fingerprint, startsAt: alerts.startsAt })
        .from(alerts)
        .where(and(inArray(alerts.fingerprint, [...new Set(keys.map((k) => k.fingerprint))]), sql`${alerts.systemName} is not null`));
      return new Set(rows.map((r) => `${r.fingerprint}@${r.startsAt ?? ''}`));
    },
    /** Systems and interfaces any of these values could name. */
    async machineKeys(values: string[]): Promise<MachineKeys[]> {
      if (values.length === 0) return [];
      const rows = await db
        .select({ system: systems.name, hostname: interfaces.hostname, ip: interfaces.ip, mac: interfaces.mac })
        .from(systems)
        .leftJoin(interfaces, eq(interfaces.systemId, systems.id))
        .where(or(inArray(systems.name, values), inArray(sql`lower(${interfaces.hostname})`, values.map((v) => v.toLowerCase())), inArray(interfaces.ip, values), inArray(interfaces.mac, values)));
      return rows.map((r) => ({ system: r.system, hostname: r.hostname ?? null, ip: r.ip ?? null, mac: r.mac ?? null }));
    },
  };
}

export type AlertRepository = ReturnType<typeof createAlertRepository>;
