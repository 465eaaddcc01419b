// Which profile each system ran, and when: the reinstall step picks the last finished one.
import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import type { Database } from '../client.js';
import { installHistory, profiles, systems } from '../schema.js';
import { notFound } from '../../inventory/errors.js';
import type { InstallRecordView } from '../../inventory/schemas.js';

export type InstallOutcome = 'in-progress' | 'success' | 'failed' | 'stalled';

function toView(system: string, row: typeof installHistory.$inferSelect): InstallRecordView {
  return {
    id: row.id,
    system,
    profile: row.profileName,
    distro: row.distroName,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    outcome: row.outcome,
  };
}

export function createInstallHistoryRepository(db: Database) {
  async function systemId(name: string): Promise<number> {
    const [row] = await db.select({ id: systems.id }).from(systems).where(eq(systems.name, name)).limit(1);
    if (row === undefined) throw notFound('system', name);
    return row.id;
  }
  return {
    /** The system's installs, newest first (IDs grow with start times: rows are only ever inserted at start). */
    async list(system: string): Promise<InstallRecordView[]> {
      const id = await systemId(system);
      const rows = await db.select().from(installHistory).where(eq(installHistory.systemId, id)).orderBy(desc(installHistory.id));
      return rows.map((r) => toView(system, r));
    },
    async page(system: string, request: PageRequest): Promise<Page<InstallRecordView>> {
      const id = await systemId(system);
      const limit = pageLimit(request);
      const rows = await db
        .select()
        .from(installHistory)
        .where(and(eq(installHistory.systemId, id), request.cursor !== undefined ? lt(installHistory.id, decodeCursor(request.cursor, ['number'] as const)[0]) : undefined))
        .orderBy(desc(installHistory.id))
        .limit(limit + 1);
      return pageOf(rows, limit, (row) => [row.id], (row) => toView(system, row));
    },
    /** Opens an install of the system's current profile (or the one given). */
    async start(system: string, profileName: string, distroName: string): Promise<InstallRecordView> {
      const id = await systemId(system);
      const [profile] = await db.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, profileName)).limit(1);
      const [row] = await db
        .insert(installHistory)
        .values({ systemId: id, profileId: profile?.id ?? null, profileName, distroName, outcome: 'in-progress' })
        .returning();
      return toView(system, row!);
    },
    /** Closes the system's open install, if there is one. */
    async finish(system: string, outcome: Exclude<InstallOutcome, 'in-progress'>): Promise<InstallRecordView | undefined> {
      const id = await systemId(system);
      const [open] = await db
        .select()
        .from(installHistory)
        .where(and(eq(installHistory.systemId, id), isNull(installHistory.finishedAt)))
        .orderBy(desc(installHistory.startedAt))
        .limit(1);
      if (open === undefined) return undefined;
      const [row] = await db.update(installHistory).set({ finishedAt: new Date(), outcome }).where(eq(installHistory.id, open.id)).returning();
      return toView(system, row!);
    },
    /** Closes one install, if it is still open (the one an install token started). */
    async finishInstall(system: string, installId: number, outcome: Exclude<InstallOutcome, 'in-progress'>): Promise<InstallRecordView | undefined> {
      const id = await systemId(system);
      const [row] = await db
        .update(installHistory)
        .set({ finishedAt: new Date(), outcome })
        .where(and(eq(installHistory.id, installId), eq(installHistory.systemId, id), isNull(installHistory.finishedAt)))
        .returning();
      return row === undefined ? undefined : toView(system, row);
    },
    /** The last install that finished well: what a reinstall puts back. */
    async lastSuccessful(system: string): Promise<InstallRecordView | undefined> {
      const id = await systemId(system);
      const [row] = await db
        .select()
        .from(installHistory)
        .where(and(eq(installHistory.systemId, id), eq(installHistory.outcome, 'success')))
        .orderBy(desc(installHistory.finishedAt))
        .limit(1);
      return row === undefined ? undefined : toView(system, row);
    },
  };
}

