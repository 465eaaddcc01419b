// Fleet audits: their runs (at most one open at a time, held by a lease that batches keep fresh, and fenced:
// a run whose lease was taken over finds out at its next heartbeat or record, AuditLeaseLostError), each
// machine's verdict, the guard's decision for the broken ones; and the inventory a batch of probes needs,
// loaded in a few queries for the whole batch.
import { and, asc, desc, eq, gt, inArray, isNull, lt, max, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { auditResults, auditRuns, installHistory, interfaces, powerSettings, rescueHandshakes, rescueRuns, systems } from '../schema.js';
import { InventoryError } from '../../inventory/errors.js';
import { UNIQUE_VIOLATION, sqlStateOf } from '../errors.js';
import { bmcKeysOf, type AuditTarget } from '../../triggers/audit-probe.js';

type RunRow = typeof auditRuns.$inferSelect;
type ResultRow = typeof auditResults.$inferSelect;

export type AuditTrigger = 'schedule' | 'manual';
export type AuditRunState = 'running' | 'finished' | 'failed' | 'skipped' | 'abandoned';

export interface AuditRunView {
  id: number;
  workflowId: string;
  trigger: AuditTrigger;
  requestedBy: string;
  state: AuditRunState;
  startedAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
  systemsTotal: number;
  probed: number;
  healthy: number;
  suspect: number;
  broken: number;
  note: string | null;
}

export interface AuditResultView {
  system: string;
  classification: string;
  reason: string;
  observation: Record<string, unknown>;
  probedAt: string;
  admission: string | null;
  admissionReason: string | null;
  rescueWorkflowId: string | null;
}

export interface AuditResultInput {
  system: string;
  classification: string;
  reason: string;
  observation: Record<string, unknown>;
}

/**
 * The run is no longer open (a later audit found its lease expired and closed it as abandoned, or it was
 * closed otherwise): whoever works for it must stop, and must not record or admit anything more for it.
 */
export class AuditLeaseLostError extends InventoryError {
  readonly auditId: number;
  readonly state: AuditRunState;
  constructor(run: { id: number; state: string; note: string | null }) {
    super('conflict', `audit ${run.id} no longer holds the audit lease: it was closed as ${run.state}${run.note ? ` (${run.note})` : ''}; this run stops and admits nothing more`);
    this.auditId = run.id;
    this.state = run.state as AuditRunState;
  }
}

export function isAuditLeaseLost(error: unknown): error is AuditLeaseLostError {
  return error instanceof AuditLeaseLostError;
}

function toRunView(row: RunRow): AuditRunView {
  return {
    id: row.id,
    workflowId: row.workflowId,
    trigger: row.trigger as AuditTrigger,
    requestedBy: row.requestedBy,
    state: row.state as AuditRunState,
    startedAt: row.startedAt.toISOString(),
    heartbeatAt: row.heartbeatAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    systemsTotal: row.systemsTotal,
    probed: row.probed,
    healthy: row.healthy,
    suspect: row.suspect,
    broken: row.broken,
    note: row.note,
  };
}

function toResultView(row: ResultRow): AuditResultView {
  return {
    system: row.systemName,
    classification: row.classification,
    reason: row.reason,
    observation: row.observation,
    probedAt: row.probedAt.toISOString(),
    admission: row.admission,
    admissionReason: row.admissionReason,
    rescueWorkflowId: row.rescueWorkflowId,
  };
}

export function createAuditRepository(db: Database) {
  async function openRun(): Promise<RunRow | undefined> {
    const [row] = await db.select().from(auditRuns).where(isNull(auditRuns.finishedAt)).limit(1);
    return row;
  }

  async function runRow(id: number, from: Pick<Database, 'select'> = db): Promise<RunRow> {
    const [row] = await from.select().from(auditRuns).where(eq(auditRuns.id, id)).limit(1);
    if (row === undefined) throw new InventoryError('not-found', `audit ${id} does not exist`);
    return row;
  }

  /** Still open: refreshes the lease; else throws AuditLeaseLostError (or not-found). The update locks the row. */
  async function holdLease(id: number, from: Pick<Database, 'select' | 'update'> = db, extra: { systemsTotal?: number } = {}): Promise<void> {
    const [held] = await from
      .update(auditRuns)
      .set({ heartbeatAt: new Date(), ...extra })
      .where(and(eq(auditRuns.id, id), eq(auditRuns.state, 'running'), isNull(auditRuns.finishedAt)))
      .returning({ id: auditRuns.id });
    if (held === undefined) throw new AuditLeaseLostError(await runRow(id, from));
  }

  return {
    /**
     * Opens a run unless one is open: then that one is returned as `running`. An open run whose lease ran out
     * (its workflow was terminated, its worker lost) is closed as abandoned first; should its workflow still
     * run, its next heartbeat or record fails with AuditLeaseLostError and it stops.
     */
    async open(input: { workflowId: string; trigger: AuditTrigger; requestedBy: string; leaseMs: number }): Promise<{ opened: AuditRunView } | { running: AuditRunView }> {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const current = await openRun();
        if (current !== undefined) {
          if (current.workflowId === input.workflowId) return { opened: toRunView(current) };
          if (current.heartbeatAt.getTime() >= Date.now() - input.leaseMs) return { running: toRunView(current) };
          await db
            .update(auditRuns)
            .set({ state: 'abandoned', finishedAt: new Date(), note: `no progress since ${current.heartbeatAt.toISOString()}: its workflow ${current.workflowId} was stopped or lost its worker; superseded by ${input.workflowId}` })
            .where(and(eq(auditRuns.id, current.id), isNull(auditRuns.finishedAt), lt(auditRuns.heartbeatAt, new Date(Date.now() - input.leaseMs))));
          continue;
        }
        try {
          const [row] = await db.insert(auditRuns).values({ workflowId: input.workflowId, trigger: input.trigger, requestedBy: input.requestedBy, state: 'running' }).returning();
          return { opened: toRunView(row!) };
        } catch (error) {
          // Another start won the race between our look and our insert: look again.
          if (sqlStateOf(error)?.code !== UNIQUE_VIOLATION) throw error;
        }
      }
      const current = await openRun();
      if (current !== undefined) return { running: toRunView(current) };
      throw new InventoryError('conflict', 'could not open an audit run: the open run kept changing');
    },
    /** A run that did not happen because another was open: recorded, closed at once. */
    async recordSkipped(input: { workflowId: string; trigger: AuditTrigger; requestedBy: string; note: string }): Promise<AuditRunView> {
      const now = new Date();
      const [row] = await db
        .insert(auditRuns)
        .values({ workflowId: input.workflowId, trigger: input.trigger, requestedBy: input.requestedBy, state: 'skipped', finishedAt: now, heartbeatAt: now, note: input.note })
        .returning();
      return toRunView(row!);
    },
    /** Refreshes the lease of an open run; throws AuditLeaseLostError when the run is no longer open. */
    async heartbeat(id: number): Promise<void> {
      await holdLease(id);
    },
    async setSystemsTotal(id: number, systemsTotal: number): Promise<void> {
      await holdLease(id, db, { systemsTotal });
    },
    async countSystems(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(systems);
      return row?.count ?? 0;
    },
    /**
     * Stores verdicts (a retried batch overwrites its own) and refreshes the run's counts from them; only while
     * the run is open (else AuditLeaseLostError, nothing stored). The run's row stays locked until the commit,
     * so that no other run can take the lease half-way.
     */
    async recordResults(id: number, results: AuditResultInput[]): Promise<AuditRunView> {
      return db.transaction(async (tx) => {
        await holdLease(id, tx);
        if (results.length > 0) {
          await tx
            .insert(auditResults)
            .values(results.map((r) => ({ auditId: id, systemName: r.system, classification: r.classification, reason: r.reason, observation: r.observation })))
            .onConflictDoUpdate({
              target: [auditResults.auditId, auditResults.systemName],
              set: { classification: sql`excluded.classification`, reason: sql`excluded.reason`, observation: sql`excluded.observation`, probedAt: sql`now()` },
            });
        }
        const counts = await tx
          .select({ classification: auditResults.classification, count: sql<number>`count(*)::int` })
          .from(auditResults)
          .where(eq(auditResults.auditId, id))
          .groupBy(auditResults.classification);
        const of = (name: string) => counts.find((c) => c.classification === name)?.count ?? 0;
        const [row] = await tx
          .update(auditRuns)
          .set({ probed: counts.reduce((sum, c) => sum + c.count, 0), healthy: of('healthy'), suspect: of('suspect'), broken: of('broken'), heartbeatAt: new Date() })
          .where(eq(auditRuns.id, id))
          .returning();
        if (row === undefined) throw new InventoryError('not-found', `audit ${id} does not exist`);
        return toRunView(row);
      });
    },
    /** Of these systems, the broken ones in this audit that have no admission decision yet. */
    async awaitingAdmission(id: number, systemNames: string[]): Promise<Array<{ system: string; reason: string }>> {
      if (systemNames.length === 0) return [];
      const rows = await db
        .select({ system: auditResults.systemName, reason: auditResults.reason })
        .from(auditResults)
        .where(and(eq(auditResults.auditId, id), inArray(auditResults.systemName, systemNames), eq(auditResults.classification, 'broken'), isNull(auditResults.admission)))
        .orderBy(asc(auditResults.systemName));
      return rows;
    },
    async recordAdmission(id: number, system: string, decision: { decision: string; reason: string; workflowId: string | null }): Promise<void> {
      await db
        .update(auditResults)
        .set({ admission: decision.decision, admissionReason: decision.reason, rescueWorkflowId: decision.workflowId })
        .where(and(eq(auditResults.auditId, id), eq(auditResults.systemName, system)));
    },
    /**
     * Closes an open run. A run already closed is returned as it is: an abandoned run never becomes finished
     * (its workflow lost the lease to another), and a retried close changes nothing.
     */
    async close(id: number, state: Exclude<AuditRunState, 'running' | 'skipped'>, note: string | null): Promise<AuditRunView> {
      const [row] = await db
        .update(auditRuns)
        .set({ state, note, finishedAt: new Date() })
        .where(and(eq(auditRuns.id, id), eq(auditRuns.state, 'running'), isNull(auditRuns.finishedAt)))
        .returning();
      return toRunView(row ?? (await runRow(id)));
    },
    async get(id: number): Promise<AuditRunView> {
      return toRunView(await runRow(id));
    },
    /** The open run, if there is one. */
    async running(): Promise<AuditRunView | undefined> {
      const row = await openRun();
      return row === undefined ? undefined : toRunView(row);
    },
    /** The newest run that probed something (running or done), else the newest of any kind. */
    async latest(): Promise<AuditRunView | undefined> {
      const [probing] = await db.select().from(auditRuns).where(inArray(auditRuns.state, ['running', 'finished', 'failed'])).orderBy(desc(auditRuns.id)).limit(1);
      if (probing !== undefined) return toRunView(probing);
      const [any] = await db.select().from(auditRuns).orderBy(desc(auditRuns.id)).limit(1);
      return any === undefined ? undefined : toRunView(any);
    },
    async list(limit = 20): Promise<AuditRunView[]> {
      const rows = await db.select().from(auditRuns).orderBy(desc(auditRuns.id)).limit(limit);
      return rows.map(toRunView);
    },
    /** Verdicts by system name, `limit` at a time after `after` (a name), of the classifications given (default all). */
    async results(id: number, filter: { classifications?: string[] | undefined; after?: string | undefined; limit?: number | undefined } = {}): Promise<AuditResultView[]> {
      await runRow(id);
      const rows = await db
        .select()
        .from(auditResults)
        .where(
          and(
            eq(auditResults.auditId, id),
            filter.classifications?.length ? inArray(auditResults.classification, filter.classifications) : undefined,
            filter.after !== undefined ? gt(auditResults.systemName, filter.after) : undefined,
          ),
        )
        .orderBy(asc(auditResults.systemName))
        .limit(filter.limit ?? 100_000);
      return rows.map(toResultView);
    },
    /**
     * Keeps the verdicts of the newest `keepResultsOfRuns` runs (an hourly audit of 10,000 machines writes
     * 240,000 a day) and the runs themselves, with their counts, for `keepRunsDays` days.
     */
    async prune(keep: { keepResultsOfRuns: number; keepRunsDays: number }): Promise<void> {
      const kept = db.select({ id: auditRuns.id }).from(auditRuns).orderBy(desc(auditRuns.id)).limit(keep.keepResultsOfRuns);
      await db.delete(auditResults).where(sql`${auditResults.auditId} not in ${kept}`);
      await db.delete(auditRuns).where(and(lt(auditRuns.startedAt, new Date(Date.now() - keep.keepRunsDays * 86_400_000)), sql`${auditRuns.finishedAt} is not null`));
    },

    /** The next `limit` systems after `after` (by name), with what their probes need. */
    async targetsAfter(after: string | null, limit: number): Promise<AuditTarget[]> {
      const rows = await db
        .select({ id: systems.id, name: systems.name, labels: systems.labels })
        .from(systems)
        .where(after === null ? undefined : gt(systems.name, after))
        .orderBy(asc(systems.name))
        .limit(limit);
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id);
      const names = rows.map((r) => r.name);
      const [nics, bmcs, installs, rescues, phoneHomes] = await Promise.all([
        db.select({ systemId: interfaces.systemId, ip: interfaces.ip, mac: interfaces.mac }).from(interfaces).where(inArray(interfaces.systemId, ids)).orderBy(asc(interfaces.name)),
        // Every BMC of the chain: the chain may contact each, so the per-BMC limit counts against each.
        db
          .select({ systemId: powerSettings.systemId, type: powerSettings.type, address: powerSettings.address, port: powerSettings.port })
          .from(powerSettings)
          .where(inArray(powerSettings.systemId, ids))
          .orderBy(asc(powerSettings.systemId), asc(powerSettings.position)),
        // The newest install of each system.
        db
          .selectDistinctOn([installHistory.systemId], { systemId: installHistory.systemId, outcome: installHistory.outcome, startedAt: installHistory.startedAt, finishedAt: installHistory.finishedAt })
          .from(installHistory)
          .where(inArray(installHistory.systemId, ids))
          .orderBy(installHistory.systemId, desc(installHistory.startedAt), desc(installHistory.id)),
        db.select({ system: rescueRuns.systemName, workflowId: rescueRuns.workflowId, state: rescueRuns.state, startedAt: rescueRuns.startedAt }).from(rescueRuns).where(and(inArray(rescueRuns.systemName, names), isNull(rescueRuns.finishedAt))),
        db.select({ system: rescueHandshakes.systemName, at: max(rescueHandshakes.phonedHomeAt) }).from(rescueHandshakes).where(inArray(rescueHandshakes.systemName, names)).groupBy(rescueHandshakes.systemName),
      ]);
      const nicsOf = new Map<number, Array<{ ip: string | null; mac: string }>>();
      for (const nic of nics) nicsOf.set(nic.systemId, [...(nicsOf.get(nic.systemId) ?? []), { ip: nic.ip, mac: nic.mac }]);
      const chainOf = new Map<number, typeof bmcs>();
      for (const bmc of bmcs) chainOf.set(bmc.systemId, [...(chainOf.get(bmc.systemId) ?? []), bmc]);
      const installOf = new Map(installs.map((i) => [i.systemId, i]));
      const rescueOf = new Map(rescues.map((r) => [r.system, r]));
      const phoneHomeOf = new Map(phoneHomes.map((p) => [p.system, p.at]));
      return rows.map((row) => {
        const install = installOf.get(row.id);
        const rescue = rescueOf.get(row.name);
        const phoneHome = phoneHomeOf.get(row.name);
        return {
          system: row.name,
          labels: row.labels,
          interfaces: nicsOf.get(row.id) ?? [],
          bmcKeys: bmcKeysOf(row.name, chainOf.get(row.id) ?? []),
          lastInstall: install ? { outcome: install.outcome, startedAt: install.startedAt.toISOString(), finishedAt: install.finishedAt?.toISOString() ?? null } : null,
          lastPhoneHome: phoneHome ? new Date(phoneHome).toISOString() : null,
          openRescue: rescue ? { workflowId: rescue.workflowId, state: rescue.state, startedAt: rescue.startedAt.toISOString() } : null,
        };
      });
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
