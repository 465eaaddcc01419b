// The guard's state in the database: settings and pause, maintenance windows, incidents, the decision log,
// the queue of deferred rescues and the slots of admitted ones. Admission runs in one transaction under an
// advisory lock (and, within this process, a mutex), so concurrent deliveries are decided one at a time
// against the same facts: race-free on PostgreSQL across processes, and on PGlite's single connection.
import { and, asc, desc, eq, gt, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { guardDecisions, guardIncidents, guardSettings, maintenanceWindows, rescueQueue, rescueRuns, rescueSlots, systems } from '../schema.js';
import { notFound } from '../../inventory/errors.js';
import { recordEvent } from './events.js';
import { effectiveGuardSettings, type GuardPause, type GuardSettings } from '../../triggers/guard-settings.js';
import type { FleetFacts, MachineFacts, MaintenanceWindowFact } from '../../triggers/guard-decision.js';
import type { AdmissionDecisionKind, AdmissionSource } from '../../triggers/admission.js';

const ADMISSION_LOCK = 7133010;
/** Requests by automation are recorded with requestedBy "automation:<source>"; operators' are not. */
export const AUTOMATIC_REQUESTER_PREFIX = 'automation:';
const UNSUCCESSFUL_OUTCOMES = ['failed', 'needs-attention'];

export interface MaintenanceWindowView {
  id: number;
  system: string | null;
  label: string | null;
  startsAt: string;
  endsAt: string;
  reason: string;
  createdBy: string;
  active: boolean;
}

export interface IncidentView {
  id: number;
  group: string;
  systems: string[];
  reason: string;
  openedAt: string;
  closedAt: string | null;
  closedBy: string | null;
}

export interface DecisionView {
  id: number;
  at: string;
  system: string;
  source: string;
  phase: string;
  decision: string;
  reason: string;
  workflowId: string | null;
}

export interface QueueEntryView {
  id: number;
  system: string;
  source: string;
  reason: string;
  enqueuedAt: string;
  notBefore: string;
  state: string;
  lastReason: string;
  workflowId: string | null;
}

export interface QueueEntry {
  id: number;
  system: string;
  source: AdmissionSource;
  reason: string;
  alertId: string | null;
  enqueuedAt: string;
  notBefore: string;
}

/** Serialises this process's admissions; the advisory lock does it across processes. */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  };
}

function windowScope(row: typeof maintenanceWindows.$inferSelect): string {
  return row.systemName !== null ? `system ${row.systemName}` : `label ${row.labelKey}=${row.labelValue}`;
}

function windowView(row: typeof maintenanceWindows.$inferSelect, now: Date): MaintenanceWindowView {
  return {
    id: row.id,
    system: row.systemName,
    label: row.labelKey !== null ? `${row.labelKey}=${row.labelValue}` : null,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    reason: row.reason,
    createdBy: row.createdBy,
    active: row.startsAt <= now && row.endsAt > now,
  };
}

export function createGuardRepository(db: Database) {
  const exclusive = createMutex();

  async function readSettings(tx: Database): Promise<{ settings: GuardSettings; pause: GuardPause }> {
    const [row] = await tx.select().from(guardSettings).where(eq(guardSettings.id, 1)).limit(1);
    return {
      settings: effectiveGuardSettings(row?.settings),
      pause: { paused: row?.paused ?? false, by: row?.pausedBy ?? null, reason: row?.pausedReason ?? null, at: row?.pausedAt?.toISOString() ?? null },
    };
  }

  async function activeWindows(tx: Database, now: Date) {
    return tx.select().from(maintenanceWindows).where(and(lte(maintenanceWindows.startsAt, now), gt(maintenanceWindows.endsAt, now)));
  }

  function windowFor(windows: Array<typeof maintenanceWindows.$inferSelect>, system: string, labels: Record<string, string>): MaintenanceWindowFact | null {
    const row = windows.find((w) => w.systemName === system || (w.labelKey !== null && labels[w.labelKey] === w.labelValue));
    return row === undefined ? null : { id: row.id, endsAt: row.endsAt.toISOString(), reason: row.reason, scope: windowScope(row) };
  }

  async function inFlightRescues(tx: Database): Promise<Map<string, string>> {
    const slots = await tx.select({ system: rescueSlots.systemName, workflowId: rescueSlots.workflowId }).from(rescueSlots).where(isNull(rescueSlots.releasedAt));
    const runs = await tx.select({ system: rescueRuns.systemName, workflowId: rescueRuns.workflowId }).from(rescueRuns).where(isNull(rescueRuns.finishedAt));
    return new Map([...runs, ...slots].map((r) => [r.system, r.workflowId]));
  }

  async function labelsOf(tx: Database, names: string[]): Promise<Map<string, Record<string, string>>> {
    if (names.length === 0) return new Map();
    const rows = await tx.select({ name: systems.name, labels: systems.labels }).from(systems).where(inArray(systems.name, names));
    return new Map(rows.map((r) => [r.name, r.labels]));
  }

  return {
    /** Runs an admission: one at a time, in a transaction, under the guard's lock. */
    async locked<T>(run: (tx: Database) => Promise<T>): Promise<T> {
      return exclusive(() =>
        db.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          await tx.execute(sql`select pg_advisory_xact_lock(${ADMISSION_LOCK})`);
          return run(tx);
        }),
      );
    },

    async fleetFacts(tx: Database, now: Date): Promise<FleetFacts & { inFlightWorkflows: Map<string, string> }> {
      const { settings, pause } = await readSettings(tx);
      const [fleet] = await tx.select({ count: sql<number>`count(*)::int` }).from(systems);
      const inFlightWorkflows = await inFlightRescues(tx);
      const labels = await labelsOf(tx, [...inFlightWorkflows.keys()]);
      const [starts] = await tx.select({ count: sql<number>`count(*)::int` }).from(rescueSlots).where(gt(rescueSlots.admittedAt, new Date(now.getTime() - 3_600_000)));
      const broken = await tx
        .selectDistinctOn([guardDecisions.systemName], { system: guardDecisions.systemName, groups: guardDecisions.groups })
        .from(guardDecisions)
        .where(and(eq(guardDecisions.phase, 'intake'), gt(guardDecisions.at, new Date(now.getTime() - settings.correlationWindowMs)), sql`${guardDecisions.decision} <> 'joined'`))
        .orderBy(guardDecisions.systemName, desc(guardDecisions.id));
      const incidents = await tx.select().from(guardIncidents).where(isNull(guardIncidents.closedAt));
      return {
        now,
        settings,
        pause,
        fleetSize: fleet?.count ?? 0,
        inFlight: [...inFlightWorkflows.keys()].map((system) => ({ system, labels: labels.get(system) ?? {} })),
        inFlightWorkflows,
        automaticStartsLastHour: starts?.count ?? 0,
        recentlyBroken: broken,
        openIncidents: new Map(incidents.map((i) => [`${i.groupLabel}=${i.groupValue}`, { id: i.id, systems: [...i.systems] }])),
      };
    },

    /** What the guard needs to know of each machine, for many machines at once. */
    async machineFacts(tx: Database, names: string[], now: Date, inFlightWorkflows: Map<string, string>, settings: GuardSettings): Promise<Map<string, MachineFacts>> {
      const unique = [...new Set(names)];
      const labels = await labelsOf(tx, unique);
      const windows = await activeWindows(tx, now);
      const ended = unique.length === 0 ? [] : await tx
        .select({ system: rescueSlots.systemName, endedAt: sql<string>`max(${rescueSlots.releasedAt})` })
        .from(rescueSlots)
        .where(and(inArray(rescueSlots.systemName, unique), sql`${rescueSlots.releasedAt} is not null`))
        .groupBy(rescueSlots.systemName);
      const endedBy = new Map(ended.map((e) => [e.system, e.endedAt === null ? null : new Date(e.endedAt).toISOString()]));
      const history = unique.length === 0 ? [] : await tx
        .select({ system: rescueRuns.systemName, requestedBy: rescueRuns.requestedBy, outcome: rescueRuns.outcome })
        .from(rescueRuns)
        .where(and(inArray(rescueRuns.systemName, unique), sql`${rescueRuns.finishedAt} is not null`, sql`${rescueRuns.id} in (select id from rescue_runs r2 where r2.system_name = ${rescueRuns.systemName} order by id desc limit ${settings.maxFailures + 1})`))
        .orderBy(desc(rescueRuns.id));
      const failures = new Map<string, number>();
      const settled = new Set<string>();
      for (const run of history) {
        if (settled.has(run.system)) continue;
        if (run.requestedBy.startsWith(AUTOMATIC_REQUESTER_PREFIX) && UNSUCCESSFUL_OUTCOMES.includes(run.outcome ?? '')) failures.set(run.system, (failures.get(run.system) ?? 0) + 1);
        else settled.add(run.system);
      }
      const facts = new Map<string, MachineFacts>();
      for (const system of unique) {
        // A name the inventory does not know gets no facts: the guard refuses it.
        if (!labels.has(system)) continue;
        const systemLabels = labels.get(system)!;
        facts.set(system, {
          system,
          labels: systemLabels,
          inFlightWorkflowId: inFlightWorkflows.get(system) ?? null,
          lastAutomaticEndedAt: endedBy.get(system) ?? null,
          consecutiveFailures: failures.get(system) ?? 0,
          maintenance: windowFor(windows, system, systemLabels),
        });
      }
      return facts;
    },

    async readyQueue(tx: Database, now: Date): Promise<QueueEntry[]> {
      const rows = await tx.select().from(rescueQueue).where(and(eq(rescueQueue.state, 'waiting'), lte(rescueQueue.notBefore, now))).orderBy(asc(rescueQueue.id));
      return rows.map((r) => ({ id: r.id, system: r.systemName, source: r.source as AdmissionSource, reason: r.reason, alertId: r.alertId, enqueuedAt: r.enqueuedAt.toISOString(), notBefore: r.notBefore.toISOString() }));
    },
    /** The waiting queue entries of these systems. */
    async waitingEntries(tx: Database, names: string[]): Promise<Map<string, { id: number; enqueuedAt: string }>> {
      if (names.length === 0) return new Map();
      const rows = await tx.select({ system: rescueQueue.systemName, id: rescueQueue.id, enqueuedAt: rescueQueue.enqueuedAt }).from(rescueQueue).where(and(inArray(rescueQueue.systemName, [...new Set(names)]), eq(rescueQueue.state, 'waiting')));
      return new Map(rows.map((r) => [r.system, { id: r.id, enqueuedAt: r.enqueuedAt.toISOString() }]));
    },
    async enqueue(tx: Database, entry: { system: string; source: AdmissionSource; reason: string; alertId: string | null; notBefore: Date; lastReason: string }): Promise<number> {
      const [row] = await tx
        .insert(rescueQueue)
        .values({ systemName: entry.system, source: entry.source, reason: entry.reason, alertId: entry.alertId, notBefore: entry.notBefore, lastReason: entry.lastReason })
        .returning({ id: rescueQueue.id });
      return row!.id;
    },
    async settleQueueEntry(tx: Database, id: number, outcome: { state: 'started' | 'joined' | 'refused' | 'withdrawn'; reason: string; workflowId: string | null }): Promise<void> {
      await tx.update(rescueQueue).set({ state: outcome.state, lastReason: outcome.reason, workflowId: outcome.workflowId, decidedAt: sql`now()` }).where(eq(rescueQueue.id, id));
    },
    async noteQueueEntry(tx: Database, id: number, reason: string): Promise<void> {
      await tx.update(rescueQueue).set({ lastReason: reason }).where(eq(rescueQueue.id, id));
    },
    /** Puts an entry back to waiting (its start did not go through). */
    async requeue(id: number, reason: string, notBefore: Date): Promise<void> {
      await db.update(rescueQueue).set({ state: 'waiting', lastReason: reason, workflowId: null, decidedAt: null, notBefore }).where(eq(rescueQueue.id, id));
    },
    /** Withdraws a system's waiting entry (its alert resolved). Returns whether there was one. */
    async withdraw(system: string, reason: string): Promise<boolean> {
      const rows = await db.update(rescueQueue).set({ state: 'withdrawn', lastReason: reason, decidedAt: sql`now()` }).where(and(eq(rescueQueue.systemName, system), eq(rescueQueue.state, 'waiting'))).returning({ id: rescueQueue.id });
      return rows.length > 0;
    },

    async takeSlot(tx: Database, slot: { system: string; workflowId: string; source: AdmissionSource; groups: Record<string, string> }): Promise<number> {
      const [row] = await tx.insert(rescueSlots).values({ systemName: slot.system, workflowId: slot.workflowId, source: slot.source, groups: slot.groups }).returning({ id: rescueSlots.id });
      return row!.id;
    },
    /** A start that did not happen gives its room back and leaves no trace that would count as a rescue. */
    async dropSlot(id: number): Promise<void> {
      await db.delete(rescueSlots).where(eq(rescueSlots.id, id));
    },
    /** The rescue ended (its run closed): its room is free and the machine's cooldown starts. */
    async releaseSlots(workflowId: string): Promise<void> {
      await db.update(rescueSlots).set({ releasedAt: sql`now()` }).where(and(eq(rescueSlots.workflowId, workflowId), isNull(rescueSlots.releasedAt)));
    },
    async openSlots(olderThan: Date): Promise<Array<{ id: number; system: string; workflowId: string }>> {
      return db.select({ id: rescueSlots.id, system: rescueSlots.systemName, workflowId: rescueSlots.workflowId }).from(rescueSlots).where(and(isNull(rescueSlots.releasedAt), lte(rescueSlots.admittedAt, olderThan)));
    },

    async logDecision(tx: Database, entry: { system: string; source: AdmissionSource; phase: 'intake' | 'queue'; alertId: string | null; groups: Record<string, string>; decision: AdmissionDecisionKind; reason: string; workflowId: string | null }): Promise<number> {
      const [row] = await tx.insert(guardDecisions).values({ systemName: entry.system, source: entry.source, phase: entry.phase, alertId: entry.alertId, groups: entry.groups, decision: entry.decision, reason: entry.reason, workflowId: entry.workflowId }).returning({ id: guardDecisions.id });
      return row!.id;
    },
    async amendDecision(id: number, change: { decision: AdmissionDecisionKind; reason: string; workflowId: string | null }): Promise<void> {
      await db.update(guardDecisions).set(change).where(eq(guardDecisions.id, id));
    },
    async openIncident(tx: Database, incident: { label: string; value: string; systems: string[]; reason: string }): Promise<number> {
      const [row] = await tx.insert(guardIncidents).values({ groupLabel: incident.label, groupValue: incident.value, systems: incident.systems, reason: incident.reason }).returning({ id: guardIncidents.id });
      await recordEvent(tx, { kind: 'guard.incident-opened', objectType: 'incident', objectName: String(row!.id), actor: 'guard', detail: { group: `${incident.label}=${incident.value}`, systems: incident.systems } });
      return row!.id;
    },
    async joinIncident(tx: Database, id: number, system: string): Promise<void> {
      await tx.update(guardIncidents).set({ systems: sql`${guardIncidents.systems} || ${JSON.stringify([system])}::jsonb` }).where(eq(guardIncidents.id, id));
    },

    // ---- what operators read and set ----

    settings: () => readSettings(db),
    async updateSettings(settings: GuardSettings, actor: string): Promise<void> {
      await db
        .insert(guardSettings)
        .values({ id: 1, settings, updatedBy: actor })
        .onConflictDoUpdate({ target: guardSettings.id, set: { settings, updatedBy: actor, updatedAt: sql`now()` } });
      await recordEvent(db, { kind: 'guard.settings-changed', objectType: 'guard', objectName: 'settings', actor, detail: settings });
    },
    async setPause(tx: Database | undefined, pause: { paused: boolean; by: string; reason: string | null }): Promise<void> {
      const target = tx ?? db;
      const values = { paused: pause.paused, pausedBy: pause.paused ? pause.by : null, pausedReason: pause.paused ? pause.reason : null, pausedAt: pause.paused ? new Date() : null };
      const [current] = await target.select({ settings: guardSettings.settings }).from(guardSettings).where(eq(guardSettings.id, 1)).limit(1);
      await target
        .insert(guardSettings)
        .values({ id: 1, settings: current?.settings ?? {}, ...values })
        .onConflictDoUpdate({ target: guardSettings.id, set: { ...values, updatedAt: sql`now()` } });
      await recordEvent(target, { kind: pause.paused ? 'guard.paused' : 'guard.resumed', objectType: 'guard', objectName: 'automation', actor: pause.by, detail: pause.reason ? { reason: pause.reason } : {} });
    },
    async addMaintenance(window: { system: string | null; labelKey: string | null; labelValue: string | null; startsAt: Date; endsAt: Date; reason: string }, actor: string): Promise<MaintenanceWindowView> {
      const [row] = await db.insert(maintenanceWindows).values({ systemName: window.system, labelKey: window.labelKey, labelValue: window.labelValue, startsAt: window.startsAt, endsAt: window.endsAt, reason: window.reason, createdBy: actor }).returning();
      await recordEvent(db, { kind: 'guard.maintenance-added', objectType: 'maintenance', objectName: String(row!.id), actor, detail: { scope: windowScope(row!), endsAt: window.endsAt.toISOString() } });
      return windowView(row!, new Date());
    },
    async listMaintenance(options: { includeEnded: boolean }): Promise<MaintenanceWindowView[]> {
      const now = new Date();
      const rows = await db.select().from(maintenanceWindows).where(options.includeEnded ? undefined : gt(maintenanceWindows.endsAt, now)).orderBy(asc(maintenanceWindows.startsAt));
      return rows.map((r) => windowView(r, now));
    },
    async removeMaintenance(id: number, actor: string): Promise<void> {
      const rows = await db.delete(maintenanceWindows).where(eq(maintenanceWindows.id, id)).returning({ id: maintenanceWindows.id });
      if (rows.length === 0) throw notFound('maintenance window', String(id));
      await recordEvent(db, { kind: 'guard.maintenance-removed', objectType: 'maintenance', objectName: String(id), actor });
    },
    /** The active window that covers a system, if any (operators' own starts honour them too). */
    async maintenanceFor(system: string, labels: Record<string, string>): Promise<MaintenanceWindowFact | null> {
      return windowFor(await activeWindows(db, new Date()), system, labels);
    },
    async listIncidents(options: { open: boolean }): Promise<IncidentView[]> {
      const rows = await db.select().from(guardIncidents).where(options.open ? isNull(guardIncidents.closedAt) : undefined).orderBy(desc(guardIncidents.id)).limit(200);
      return rows.map((r) => ({ id: r.id, group: `${r.groupLabel}=${r.groupValue}`, systems: r.systems, reason: r.reason, openedAt: r.openedAt.toISOString(), closedAt: r.closedAt?.toISOString() ?? null, closedBy: r.closedBy }));
    },
    async closeIncident(id: number, actor: string): Promise<void> {
      const rows = await db.update(guardIncidents).set({ closedAt: sql`now()`, closedBy: actor }).where(and(eq(guardIncidents.id, id), isNull(guardIncidents.closedAt))).returning({ id: guardIncidents.id });
      if (rows.length === 0) throw notFound('open incident', String(id));
      await recordEvent(db, { kind: 'guard.incident-closed', objectType: 'incident', objectName: String(id), actor });
    },
    async listDecisions(filter: { system?: string | undefined; limit: number }): Promise<DecisionView[]> {
      const rows = await db.select().from(guardDecisions).where(filter.system ? eq(guardDecisions.systemName, filter.system) : undefined).orderBy(desc(guardDecisions.id)).limit(filter.limit);
      return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), system: r.systemName, source: r.source, phase: r.phase, decision: r.decision, reason: r.reason, workflowId: r.workflowId }));
    },
    async listQueue(options: { waitingOnly: boolean; limit: number }): Promise<QueueEntryView[]> {
      const rows = await db.select().from(rescueQueue).where(options.waitingOnly ? eq(rescueQueue.state, 'waiting') : undefined).orderBy(options.waitingOnly ? asc(rescueQueue.id) : desc(rescueQueue.id)).limit(options.limit);
      return rows.map((r) => ({ id: r.id, system: r.systemName, source: r.source, reason: r.reason, enqueuedAt: r.enqueuedAt.toISOString(), notBefore: r.notBefore.toISOString(), state: r.state, lastReason: r.lastReason, workflowId: r.workflowId }));
    },
    async counts(): Promise<{ inFlight: number; waiting: number; openIncidents: number }> {
      const inFlight = await inFlightRescues(db);
      const [waiting] = await db.select({ count: sql<number>`count(*)::int` }).from(rescueQueue).where(eq(rescueQueue.state, 'waiting'));
      const [incidents] = await db.select({ count: sql<number>`count(*)::int` }).from(guardIncidents).where(isNull(guardIncidents.closedAt));
      return { inFlight: inFlight.size, waiting: waiting?.count ?? 0, openIncidents: incidents?.count ?? 0 };
    },
  };
}

export type GuardRepository = ReturnType<typeof createGuardRepository>;
