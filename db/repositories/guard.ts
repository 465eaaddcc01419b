// The guard's state in the database: settings and pause, maintenance windows, incidents, the decision log,
// the queue of deferred rescues and the slots of admitted ones. Admission runs in one transaction under an
// advisory lock (and, within this process, a mutex), so concurrent deliveries are decided one at a time
// against the same facts: race-free on PostgreSQL across processes, and on PGlite's single connection.
import { and, asc, desc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import { commitWithoutFlush, executeNamed, lockedTransactionOn, rowsOf, type Database, type LockedTransaction } from '../client.js';
import { alerts, guardBrokenMachines, guardDecisions, guardIncidents, guardSettings, maintenanceWindows, rescueQueue, rescueRuns, rescueSlots, systems } from '../schema.js';
import { notFound } from '../../inventory/errors.js';
import { recordEvent } from './events.js';
import { DEFAULT_GUARD_SETTINGS, effectiveGuardSettings, type GuardPause, type GuardSettings } from '../../triggers/guard-settings.js';
import type { FleetFacts, MachineFacts, MaintenanceWindowFact, PowerCycleCount } from '../../triggers/guard-decision.js';
import type { AdmissionDecisionKind, AdmissionSource } from '../../triggers/admission.js';

const ADMISSION_LOCK = 7133010;
const HOUR_MS = 3_600_000;
/** Requests by automation are recorded with requestedBy "automation:<source>"; operators' are not. */
export const AUTOMATIC_REQUESTER_PREFIX = 'automation:';

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

/** A machine's open automatic request: what a resolved alert may end. */
export interface OpenRequest {
  /** Who asked for it: an alert receiver, or the audit. */
  source: AdmissionSource;
  /** Its rescue was admitted: it runs, or its start is on its way to Temporal. */
  slotOpen: boolean;
  /** Its waiting queue entry, when it has not been admitted yet. */
  waitingId: number | null;
  /** When it was admitted or queued. */
  since: Date;
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

/** The row of the admission facts statement (JSON built by the database; timestamps as ISO text). */
interface AdmissionFactsRow {
  settings: { settings: Record<string, unknown>; paused: boolean; paused_by: string | null; paused_reason: string | null; paused_at: string | null } | null;
  fleet_size: number;
  window_ms: number;
  in_flight_count: number;
  /** Labels of the systems in flight that carry a group label. */
  in_flight_labels: Record<string, Record<string, string>>;
  /** Power cycles of automatic rescues since an hour ago, and their rescues admitted since that have not cycled yet. */
  power_cycles_made: number;
  power_cycles_reserved: number;
  recently_broken_count: number;
  /** The groups of the machines broken lately that have any. */
  broken_groups: Record<string, Record<string, string>>;
  incidents: Array<{ id: number; label: string; value: string; systems: string[] }>;
  ready_queue: Array<{ id: number; system: string; source: string; reason: string; alertId: string | null; enqueuedAt: string; notBefore: string }>;
  windows: Array<{ id: number; systemName: string | null; labelKey: string | null; labelValue: string | null; endsAt: string; reason: string }>;
  machines: Array<{ system: string; labels: Record<string, string>; inFlightWorkflowId: string | null; endedAt: string | null; failures: number | string; recentlyBroken: boolean; waiting: { id: number; enqueuedAt: string } | null }>;
}

export interface AdmissionFacts {
  fleet: FleetFacts;
  /** Deferred requests that are due, in arrival order. */
  queue: QueueEntry[];
  /** The waiting queue entries of the requested machines. */
  waiting: Map<string, { id: number; enqueuedAt: string }>;
  /** Facts of the requested and queued machines the inventory knows. */
  machines: Map<string, MachineFacts>;
}

const iso = (text: string) => new Date(text).toISOString();

/** The queue's order: when each request arrived, then the order it was written in. */
const arrivalOrder = [asc(rescueQueue.enqueuedAt), asc(rescueQueue.id)];

function admissionFactsOf(row: AdmissionFactsRow, now: Date): AdmissionFacts {
  const settings = effectiveGuardSettings(row.settings?.settings);
  const pause: GuardPause = { paused: row.settings?.paused ?? false, by: row.settings?.paused_by ?? null, reason: row.settings?.paused_reason ?? null, at: row.settings?.paused_at ? iso(row.settings.paused_at) : null };
  const windows = row.windows.map((w) => ({ id: w.id, systemName: w.systemName, labelKey: w.labelKey, labelValue: w.labelValue, endsAt: iso(w.endsAt), reason: w.reason }));
  const machines = new Map<string, MachineFacts>();
  const waiting = new Map<string, { id: number; enqueuedAt: string }>();
  for (const m of row.machines) {
    const window = windows.find((w) => w.systemName === m.system || (w.labelKey !== null && m.labels[w.labelKey] === w.labelValue));
    machines.set(m.system, {
      system: m.system,
      labels: m.labels,
      inFlightWorkflowId: m.inFlightWorkflowId,
      lastAutomaticEndedAt: m.endedAt === null ? null : iso(m.endedAt),
      consecutiveFailures: Number(m.failures),
      maintenance: window === undefined ? null : { id: window.id, endsAt: window.endsAt, reason: window.reason, scope: window.systemName !== null ? `system ${window.systemName}` : `label ${window.labelKey}=${window.labelValue}` },
      recentlyBroken: m.recentlyBroken,
    });
    if (m.waiting !== null) waiting.set(m.system, { id: m.waiting.id, enqueuedAt: iso(m.waiting.enqueuedAt) });
  }
  return {
    fleet: {
      now,
      settings,
      pause,
      fleetSize: row.fleet_size,
      inFlight: { count: row.in_flight_count, grouped: Object.entries(row.in_flight_labels).map(([system, labels]) => ({ system, labels })) },
      powerCyclesLastHour: { made: row.power_cycles_made, reserved: row.power_cycles_reserved },
      recentlyBroken: { count: row.recently_broken_count, grouped: Object.entries(row.broken_groups).map(([system, groups]) => ({ system, groups })) },
      openIncidents: new Map(row.incidents.map((i) => [`${i.label}=${i.value}`, { id: i.id, systems: [...i.systems] }])),
    },
    queue: row.ready_queue.map((q) => ({ id: q.id, system: q.system, source: q.source as AdmissionSource, reason: q.reason, alertId: q.alertId, enqueuedAt: iso(q.enqueuedAt), notBefore: iso(q.notBefore) })),
    waiting,
    machines,
  };
}

/**
 * Two columns, `power_cycles_made` and `power_cycles_reserved`: the power cycles of automatic rescues since
 * `since`, and their rescues admitted since that have not cycled yet, from the buckets migration 0009 keeps:
 * the whole 10-second buckets, and the rows of the bucket `since` cuts, counted through the index on their time.
 */
function powerCyclesSince(since: Date) {
  const cut = sql`guard_count_bucket(${since}) + interval '10 seconds'`;
  return sql`
    (select coalesce(sum(n), 0)::int from guard_count_buckets where kind = 'power_cycles' and bucket >= ${cut})
      + (select count(*)::int from guard_power_cycles where at > ${since} and at < ${cut}) as power_cycles_made,
    (select coalesce(sum(n), 0)::int from guard_count_buckets where kind = 'reserved_cycles' and bucket >= ${cut})
      + (select count(*)::int from rescue_slots where admitted_at > ${since} and admitted_at < ${cut} and first_power_cycle_at is null) as power_cycles_reserved`;
}

/** `admissions`: where admissions run their locked transactions (a connection of their own on PostgreSQL). */
export function createGuardRepository(db: Database, admissions: LockedTransaction = lockedTransactionOn(db)) {
  const exclusive = createMutex();
  /** One transaction at a time, under the guard's lock: admissions, and every write that moves its counts (migration 0006). */
  const locked = <T>(run: (tx: Database) => Promise<T>): Promise<T> => exclusive(() => admissions(ADMISSION_LOCK, run));

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

  /** Machines reported broken (the latest firing request of each) within the window, with their groups. */
  async function recentlyBroken(tx: Database, now: Date, windowMs: number): Promise<Array<{ system: string; groups: Record<string, string> }>> {
    return tx
      .select({ system: guardBrokenMachines.systemName, groups: guardBrokenMachines.groups })
      .from(guardBrokenMachines)
      .where(gt(guardBrokenMachines.at, new Date(now.getTime() - windowMs)));
  }

  async function enqueueUnlessWaiting(tx: Database, entry: { system: string; source: AdmissionSource; reason: string; alertId: string | null; notBefore: Date; lastReason: string; enqueuedAt?: Date }): Promise<void> {
    await tx
      .insert(rescueQueue)
      .values({ systemName: entry.system, source: entry.source, reason: entry.reason, alertId: entry.alertId, notBefore: entry.notBefore, lastReason: entry.lastReason, ...(entry.enqueuedAt === undefined ? {} : { enqueuedAt: entry.enqueuedAt }) })
      .onConflictDoNothing();
  }

  return {
    /** Runs an admission: one at a time, in a transaction, under the guard's lock. */
    locked,

    /** The admission `tx` commits without waiting for the disk: see commitWithoutFlush. */
    commitWithoutFlush,

    /**
     * Everything one admission batch decides from, in one statement: the fleet's facts, the deferred requests
     * that are due, and the facts of the requested machines and of those queued (names the inventory does
     * not know get none: the guard refuses them). Run after the lock, so it reads what the last admission
     * committed. One round trip instead of a dozen: the lock is held for as short a time as it can be.
     */
    async admissionFacts(tx: Database, names: string[], now: Date): Promise<AdmissionFacts> {
      const hourAgo = new Date(now.getTime() - HOUR_MS);
      // The names as one array parameter: the statement's text is the same for every batch, so it is prepared once.
      const requested = sql`select unnest(${sql.param([...new Set(names)])}::text[])`;
      // The whole fleet's rescues in flight and machines broken lately come as counts; only those with a group
      // label come as rows (a system with a group label; a decision with groups), for per-group caps and
      // correlations: a storm of thousands of rescues costs a batch no more rows than a quiet day. The
      // correlation window is the stored one when it is a number, else the default.
      const [row] = await executeNamed<Record<string, unknown>>(tx, 'guard_admission_facts', sql`
        with s as (select settings, paused, paused_by, paused_reason, paused_at from guard_settings where id = 1),
        group_labels as (
          select jsonb_object_keys(case when jsonb_typeof((select settings->'maxPerGroup' from s)) = 'object' then (select settings->'maxPerGroup' from s) else ${JSON.stringify(DEFAULT_GUARD_SETTINGS.maxPerGroup)}::jsonb end) as label
        ),
        window_ms as (
          select coalesce((select case when jsonb_typeof(settings->'correlationWindowMs') = 'number' then (settings->>'correlationWindowMs')::numeric end from s), ${DEFAULT_GUARD_SETTINGS.correlationWindowMs}) as ms
        ),
        in_flight as (
          select system_name from rescue_slots where released_at is null
          union
          select system_name from rescue_runs where finished_at is null
        ),
        broken_since as (select ${now}::timestamptz - make_interval(secs => (select ms from window_ms) / 1000.0) as at),
        ready as (select id, system_name, source, reason, alert_id, enqueued_at, not_before from rescue_queue where state = 'waiting' and not_before <= ${now})
        select
          (select row_to_json(s) from s) as settings,
          (select ms from window_ms)::float8 as window_ms,
          -- The inventory's size from its shards (migration 0006), not a count of a fleet of thousands under the lock.
          (select coalesce(sum(systems), 0)::int from fleet_size_shards) as fleet_size,
          -- A machine has at most one open slot and one open run (unique indexes): the union, counted without it.
          -- The open slots, the last hour's power cycles and the machines broken lately are kept counted
          -- (migrations 0006, 0009): a storm's thousands cost a batch a few rows. A window's count: its whole 10-second buckets,
          -- and the rows of the bucket its start cuts, counted through the index on their time.
          coalesce((select n from guard_counts where name = 'open_slots'), 0)::int
            + (select count(*)::int from rescue_runs r where r.finished_at is null
                 and not exists (select 1 from rescue_slots k where k.system_name = r.system_name and k.released_at is null)) as in_flight_count,
          (select coalesce(json_object_agg(sy.name, sy.labels), '{}'::json) from systems sy
             where exists (select 1 from group_labels) and sy.name in (select system_name from in_flight) and sy.labels ?| array(select label from group_labels)) as in_flight_labels,
          ${powerCyclesSince(hourAgo)},
          -- The machines broken lately, each counted once (guard_broken_machines holds each one's latest request),
          -- and the groups of those that have any: through indexes on their time, not over a storm's decisions.
          (select coalesce(sum(n), 0)::int from guard_count_buckets where kind = 'broken' and bucket >= guard_count_bucket((select at from broken_since)) + interval '10 seconds')
            + (select count(*)::int from guard_broken_machines
                 where at > (select at from broken_since) and at < guard_count_bucket((select at from broken_since)) + interval '10 seconds') as recently_broken_count,
          (select coalesce(json_object_agg(system_name, groups), '{}'::json) from guard_broken_machines
             where at > (select at from broken_since) and groups <> '{}'::jsonb) as broken_groups,
          (select coalesce(json_agg(json_build_object('id', id, 'label', group_label, 'value', group_value, 'systems', systems)), '[]'::json)
             from guard_incidents where closed_at is null) as incidents,
          (select coalesce(json_agg(json_build_object('id', id, 'system', system_name, 'source', source, 'reason', reason, 'alertId', alert_id, 'enqueuedAt', enqueued_at, 'notBefore', not_before) order by enqueued_at, id), '[]'::json)
             from ready) as ready_queue,
          (select coalesce(json_agg(json_build_object('id', id, 'systemName', system_name, 'labelKey', label_key, 'labelValue', label_value, 'endsAt', ends_at, 'reason', reason) order by starts_at, id), '[]'::json)
             from maintenance_windows where starts_at <= ${now} and ends_at > ${now}) as windows,
          (select coalesce(json_agg(json_build_object(
               'system', sy.name,
               'labels', sy.labels,
               'inFlightWorkflowId', coalesce((select workflow_id from rescue_slots r where r.system_name = sy.name and r.released_at is null limit 1),
                                              (select workflow_id from rescue_runs r where r.system_name = sy.name and r.finished_at is null limit 1)),
               'endedAt', (select max(released_at) from rescue_slots r where r.system_name = sy.name and r.released_at is not null),
               'failures', (select count(*) from rescue_runs r where r.system_name = sy.name and r.finished_at is not null
                            and r.id > coalesce((select max(id) from rescue_runs k where k.system_name = sy.name and k.finished_at is not null
                                                 and not (left(k.requested_by, ${AUTOMATIC_REQUESTER_PREFIX.length}) = ${AUTOMATIC_REQUESTER_PREFIX} and k.outcome in ('failed', 'needs-attention'))), 0)),
               'recentlyBroken', exists(select 1 from guard_broken_machines b where b.system_name = sy.name and b.at > (select at from broken_since)),
               'waiting', (select json_build_object('id', q.id, 'enqueuedAt', q.enqueued_at) from rescue_queue q where q.system_name = sy.name and q.state = 'waiting' order by q.id limit 1))), '[]'::json)
             from systems sy where sy.name in (${requested} union select system_name from ready)) as machines
      `);
      if (row === undefined) throw new Error('the admission facts statement returned no row');
      const facts = admissionFactsOf(row as unknown as AdmissionFactsRow, now);
      // Stored settings that are invalid as a whole fall back to the defaults, window included: read again.
      if (facts.fleet.settings.correlationWindowMs !== Number(row.window_ms)) {
        const broken = await recentlyBroken(tx, now, facts.fleet.settings.correlationWindowMs);
        const names = new Set(broken.map((b) => b.system));
        facts.fleet.recentlyBroken = { count: broken.length, grouped: broken.filter((b) => Object.keys(b.groups).length > 0) };
        for (const machine of facts.machines.values()) machine.recentlyBroken = names.has(machine.system);
      }
      return facts;
    },

    async readyQueue(tx: Database, now: Date): Promise<QueueEntry[]> {
      const rows = await tx.select().from(rescueQueue).where(and(eq(rescueQueue.state, 'waiting'), lte(rescueQueue.notBefore, now))).orderBy(...arrivalOrder);
      return rows.map((r) => ({ id: r.id, system: r.systemName, source: r.source as AdmissionSource, reason: r.reason, alertId: r.alertId, enqueuedAt: r.enqueuedAt.toISOString(), notBefore: r.notBefore.toISOString() }));
    },
    async enqueue(tx: Database, entry: { system: string; source: AdmissionSource; reason: string; alertId: string | null; notBefore: Date; lastReason: string }): Promise<number> {
      const [row] = await tx
        .insert(rescueQueue)
        .values({ systemName: entry.system, source: entry.source, reason: entry.reason, alertId: entry.alertId, notBefore: entry.notBefore, lastReason: entry.lastReason })
        .returning({ id: rescueQueue.id });
      return row!.id;
    },
    /** As enqueue, unless a request of the machine is already waiting: that entry stands for both. */
    enqueueUnlessWaiting,
    /**
     * An admitted start Temporal did not take: its slot is given back and its request waits again, in the place
     * it took when it arrived (queued as of its admission), ahead of the requests that came after it.
     */
    async requeueRefusedStart(slotId: number, entry: { system: string; source: AdmissionSource; reason: string; alertId: string | null; notBefore: Date; lastReason: string }): Promise<void> {
      await locked(async (tx) => {
        const [slot] = await tx.delete(rescueSlots).where(eq(rescueSlots.id, slotId)).returning({ admittedAt: rescueSlots.admittedAt });
        await enqueueUnlessWaiting(tx, { ...entry, ...(slot === undefined ? {} : { enqueuedAt: slot.admittedAt }) });
      });
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
    /**
     * The machine's open automatic request, under the guard's lock: the slot of its rescue while that runs
     * (or its start is on the way), else its waiting queue entry; undefined when it has neither.
     */
    async openRequest(tx: Database, system: string): Promise<OpenRequest | undefined> {
      const [slot] = await tx.select({ source: rescueSlots.source, since: rescueSlots.admittedAt }).from(rescueSlots).where(and(eq(rescueSlots.systemName, system), isNull(rescueSlots.releasedAt)));
      const [waiting] = await tx.select({ id: rescueQueue.id, source: rescueQueue.source, since: rescueQueue.enqueuedAt }).from(rescueQueue).where(and(eq(rescueQueue.systemName, system), eq(rescueQueue.state, 'waiting')));
      if (slot === undefined && waiting === undefined) return undefined;
      return { source: (slot ?? waiting)!.source as AdmissionSource, slotOpen: slot !== undefined, waitingId: waiting?.id ?? null, since: (slot ?? waiting)!.since };
    },
    /**
     * The alerts (but those of `except`, fingerprints) that asked for a rescue of the machine (started, joined
     * or deferred one) since `since` and are still firing (no resolved record of theirs came after), at most 5.
     */
    async alertsStillAsking(tx: Database, system: string, options: { except: string[]; since: Date }): Promise<Array<{ fingerprint: string; name: string | null }>> {
      return rowsOf<{ fingerprint: string; name: string | null }>(
        await tx.execute(sql`
          select a.fingerprint, max(a.alert_name) as name from ${alerts} a
          where a.system_name = ${system} and a.status = 'firing' and a.decision in ('started', 'joined', 'deferred')
            and a.fingerprint not in (select jsonb_array_elements_text(${JSON.stringify(options.except)}::jsonb))
            and a.received_at > ${options.since.toISOString()}::timestamptz
            and not exists (select 1 from ${alerts} r where r.system_name = a.system_name and r.fingerprint = a.fingerprint and r.status = 'resolved' and r.id > a.id)
          group by a.fingerprint order by a.fingerprint limit 5`),
      );
    },
    /** Withdraws a waiting queue entry (the alerts that asked for it resolved), under the guard's lock. */
    async withdrawWaiting(tx: Database, id: number, reason: string): Promise<void> {
      await tx.update(rescueQueue).set({ state: 'withdrawn', lastReason: reason, decidedAt: sql`now()` }).where(and(eq(rescueQueue.id, id), eq(rescueQueue.state, 'waiting')));
    },

    async takeSlot(tx: Database, slot: { system: string; workflowId: string; source: AdmissionSource; groups: Record<string, string> }): Promise<number> {
      const [row] = await tx.insert(rescueSlots).values({ systemName: slot.system, workflowId: slot.workflowId, source: slot.source, groups: slot.groups }).returning({ id: rescueSlots.id });
      return row!.id;
    },
    /**
     * A start that did not happen gives its room back and leaves no trace that would count as a rescue. Under
     * the guard's lock, like every insert or delete of a slot: the counts it moves are written one
     * transaction at a time.
     */
    async dropSlot(id: number): Promise<void> {
      await locked((tx) => tx.delete(rescueSlots).where(eq(rescueSlots.id, id)));
    },
    /**
     * A power operation of a rescue that powered its machine up or restarted it. Counted when the rescue is an
     * automatic one (its workflow holds the machine's open slot); its slot's first one ends the reservation of
     * its first cycle. Under the guard's lock, as every write that moves the guard's counts (migration 0009).
     * Whether it was counted.
     */
    async countPowerCycle(cycle: { systemName: string; rescueWorkflowId: string; action: string }): Promise<boolean> {
      const rows = await locked(async (tx) =>
        rowsOf<{ id: number }>(
          await tx.execute(sql`
            with slot as (
              select id, first_power_cycle_at from rescue_slots
              where system_name = ${cycle.systemName} and workflow_id = ${cycle.rescueWorkflowId} and released_at is null
            ),
            first_cycle as (
              update rescue_slots k set first_power_cycle_at = now() from slot where k.id = slot.id and slot.first_power_cycle_at is null
            )
            insert into guard_power_cycles (system_name, workflow_id, action)
            select ${cycle.systemName}, ${cycle.rescueWorkflowId}, ${cycle.action} from slot
            returning id`),
        ),
      );
      return rows.length > 0;
    },
    /** The rescue ended (its run closed): its room is free and the machine's cooldown starts. */
    async releaseSlots(workflowId: string): Promise<void> {
      await db.update(rescueSlots).set({ releasedAt: sql`now()` }).where(and(eq(rescueSlots.workflowId, workflowId), isNull(rescueSlots.releasedAt)));
    },
    async openSlots(olderThan: Date): Promise<Array<{ id: number; system: string; workflowId: string; source: AdmissionSource; admittedAt: Date }>> {
      const rows = await db
        .select({ id: rescueSlots.id, system: rescueSlots.systemName, workflowId: rescueSlots.workflowId, source: rescueSlots.source, admittedAt: rescueSlots.admittedAt })
        .from(rescueSlots)
        .where(and(isNull(rescueSlots.releasedAt), lte(rescueSlots.admittedAt, olderThan)));
      return rows.map((row) => ({ ...row, source: row.source as AdmissionSource }));
    },
    /** A slot whose start never reached Temporal: gone, as if never taken (dropSlot, inside a locked transaction). */
    async deleteSlot(tx: Database, id: number): Promise<void> {
      await tx.delete(rescueSlots).where(and(eq(rescueSlots.id, id), isNull(rescueSlots.releasedAt)));
    },

    /**
     * An admission batch's writes in one statement: the slots it takes and its decisions; their ids in the
     * order given (a statement numbers the rows it inserts in the order it reads them). Prepared once per
     * connection, like the facts: both run while the guard's lock is held. The admission's last statement:
     * where the database allows, it commits the transaction in its round trip, and nothing may follow it.
     */
    async recordAdmissions(
      tx: Database,
      slots: Array<{ system: string; workflowId: string; source: AdmissionSource; groups: Record<string, string> }>,
      entries: Array<{ system: string; source: AdmissionSource; phase: 'intake' | 'queue'; alertId: string | null; groups: Record<string, string>; decision: AdmissionDecisionKind; reason: string; workflowId: string | null }>,
    ): Promise<{ slotIds: number[]; logIds: number[] }> {
      const [row] = await executeNamed<{ slot_ids: Array<number | string>; log_ids: Array<number | string> }>(tx, 'guard_record_admissions', sql`
        with slot_rows as (
          select * from rows from (jsonb_to_recordset(${JSON.stringify(slots)}::jsonb) as (system text, "workflowId" text, source text, groups jsonb)) with ordinality as r(system, "workflowId", source, groups, n)
        ),
        decision_rows as (
          select * from rows from (jsonb_to_recordset(${JSON.stringify(entries)}::jsonb) as (system text, source text, phase text, "alertId" text, groups jsonb, decision text, reason text, "workflowId" text)) with ordinality as r(system, source, phase, "alertId", groups, decision, reason, "workflowId", n)
        ),
        new_slots as (
          insert into rescue_slots (system_name, workflow_id, source, groups)
          select system, "workflowId", source, groups from slot_rows order by n
          returning id
        ),
        new_decisions as (
          insert into guard_decisions (system_name, source, phase, alert_id, groups, decision, reason, workflow_id)
          select system, source, phase, "alertId", groups, decision, reason, "workflowId" from decision_rows order by n
          returning id
        )
        select (select coalesce(json_agg(id order by id), '[]'::json) from new_slots) as slot_ids,
               (select coalesce(json_agg(id order by id), '[]'::json) from new_decisions) as log_ids
      `, { last: true });
      if (row === undefined) throw new Error('the admission writes statement returned no row');
      return { slotIds: row.slot_ids.map(Number), logIds: row.log_ids.map(Number) };
    },
    async logDecision(tx: Database, entry: { system: string; source: AdmissionSource; phase: 'intake' | 'queue'; alertId: string | null; groups: Record<string, string>; decision: AdmissionDecisionKind; reason: string; workflowId: string | null }): Promise<number> {
      const [row] = await tx.insert(guardDecisions).values({ systemName: entry.system, source: entry.source, phase: entry.phase, alertId: entry.alertId, groups: entry.groups, decision: entry.decision, reason: entry.reason, workflowId: entry.workflowId }).returning({ id: guardDecisions.id });
      return row!.id;
    },
    /** A decision Temporal's answer changed. Under the guard's lock: amending a request into a join moves the count of machines broken lately. */
    async amendDecision(id: number, change: { decision: AdmissionDecisionKind; reason: string; workflowId: string | null }): Promise<void> {
      await locked((tx) => tx.update(guardDecisions).set(change).where(eq(guardDecisions.id, id)));
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
    /**
     * Changes the settings: `change` gets the current ones and gives the new ones (or throws: nothing changes).
     * Under the guard's lock, so two changes at once each see the other's, and no admission decides halfway.
     */
    async changeSettings(change: (current: GuardSettings) => GuardSettings, actor: string): Promise<GuardSettings> {
      return locked(async (tx) => {
        const settings = change((await readSettings(tx)).settings);
        await tx
          .insert(guardSettings)
          .values({ id: 1, settings, updatedBy: actor })
          .onConflictDoUpdate({ target: guardSettings.id, set: { settings, updatedBy: actor, updatedAt: sql`now()` } });
        await recordEvent(tx, { kind: 'guard.settings-changed', objectType: 'guard', objectName: 'settings', actor, detail: settings });
        return settings;
      });
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
      const rows = await db.select().from(rescueQueue).where(options.waitingOnly ? eq(rescueQueue.state, 'waiting') : undefined).orderBy(...(options.waitingOnly ? arrivalOrder : [desc(rescueQueue.id)])).limit(options.limit);
      return rows.map((r) => ({ id: r.id, system: r.systemName, source: r.source, reason: r.reason, enqueuedAt: r.enqueuedAt.toISOString(), notBefore: r.notBefore.toISOString(), state: r.state, lastReason: r.lastReason, workflowId: r.workflowId }));
    },
    async counts(): Promise<{ inFlight: number; waiting: number; openIncidents: number; powerCyclesLastHour: PowerCycleCount }> {
      const inFlight = await inFlightRescues(db);
      const [waiting] = await db.select({ count: sql<number>`count(*)::int` }).from(rescueQueue).where(eq(rescueQueue.state, 'waiting'));
      const [incidents] = await db.select({ count: sql<number>`count(*)::int` }).from(guardIncidents).where(isNull(guardIncidents.closedAt));
      const [cycles] = rowsOf<{ power_cycles_made: number; power_cycles_reserved: number }>(await db.execute(sql`select ${powerCyclesSince(new Date(Date.now() - HOUR_MS))}`));
      return {
        inFlight: inFlight.size,
        waiting: waiting?.count ?? 0,
        openIncidents: incidents?.count ?? 0,
        powerCyclesLastHour: { made: cycles?.power_cycles_made ?? 0, reserved: cycles?.power_cycles_reserved ?? 0 },
      };
    },
  };
}

export type GuardRepository = ReturnType<typeof createGuardRepository>;
