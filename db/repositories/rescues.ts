// Rescue runs (the durable record of every rescue, beside Temporal's history) and their boot handshakes.
// Everything a run stores goes through safeJson first: tool output in a diagnosis or an error message must
// never make the write fail (jsonb refuses \u0000, text refuses NUL bytes).
import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Database } from '../client.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import { rescueHandshakes, rescueRuns, systems } from '../schema.js';
import { InventoryError } from '../../inventory/errors.js';
import { UNIQUE_VIOLATION, sqlStateOf } from '../errors.js';
import type { SecretCipher } from '../../secrets/cipher.js';
import { tokenHash, type HandshakeSecrets } from '../../rescue/handshake.js';
import { safeJson, safeText } from '../../shell/safe-text.js';

type RunRow = typeof rescueRuns.$inferSelect;

export interface RescueRunView {
  id: number;
  workflowId: string;
  runId: string;
  system: string;
  reason: string;
  requestedBy: string;
  state: string;
  outcome: string | null;
  environment: string | null;
  startedAt: string;
  finishedAt: string | null;
  steps: RunRow['steps'];
  /** The latest diagnosis report: after the repair when one ran. */
  diagnosis: RunRow['diagnosis'];
  /** The diagnosis the repair worked from; null when no repair ran. */
  diagnosisBeforeRepair: RunRow['diagnosisBeforeRepair'];
  /** What each playbook did (status, actions, evidence). */
  repairs: RunRow['repairs'];
  evidence: RunRow['evidence'];
  error: string | null;
}

function toView(row: RunRow): RescueRunView {
  return {
    id: row.id,
    workflowId: row.workflowId,
    runId: row.runId,
    system: row.systemName,
    reason: row.reason,
    requestedBy: row.requestedBy,
    state: row.state,
    outcome: row.outcome,
    environment: row.environment,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    steps: row.steps,
    diagnosis: row.diagnosis,
    diagnosisBeforeRepair: row.diagnosisBeforeRepair ?? null,
    repairs: row.repairs,
    evidence: row.evidence,
    error: row.error,
  };
}

export interface HandshakeRecord {
  id: string;
  workflowId: string;
  system: string;
  mac: string;
  expiresAt: Date;
  bootScriptFetchedFrom: string | null;
  phonedHomeAt: Date | null;
  phoneHomeSource: string | null;
  hostKey: string | null;
}

export interface PhonedHome {
  ip: string;
  hostKey: string;
  sshPort: number;
}

export function createRescueRepository(db: Database, cipher: SecretCipher) {
  async function runRow(workflowId: string, runId: string): Promise<RunRow> {
    const [row] = await db.select().from(rescueRuns).where(and(eq(rescueRuns.workflowId, workflowId), eq(rescueRuns.runId, runId))).limit(1);
    if (row === undefined) throw new InventoryError('not-found', `rescue ${workflowId} (run ${runId}) has no record`);
    return row;
  }

  return {
    /** Opens the run's record; the same run asking again (an activity retry) gets the same record. */
    async open(given: { workflowId: string; runId: string; system: string; reason: string; requestedBy: string }): Promise<RescueRunView> {
      const input = safeJson(given);
      const [existing] = await db.select().from(rescueRuns).where(and(eq(rescueRuns.workflowId, input.workflowId), eq(rescueRuns.runId, input.runId))).limit(1);
      if (existing !== undefined) return toView(existing);
      const [system] = await db.select({ id: systems.id }).from(systems).where(eq(systems.name, input.system)).limit(1);
      try {
        const [row] = await db
          .insert(rescueRuns)
          .values({ workflowId: input.workflowId, runId: input.runId, systemId: system?.id ?? null, systemName: input.system, reason: input.reason, requestedBy: input.requestedBy, state: 'identifying' })
          .returning();
        return toView(row!);
      } catch (error) {
        if (sqlStateOf(error)?.code !== UNIQUE_VIOLATION) throw error;
        const [open] = await db.select().from(rescueRuns).where(and(eq(rescueRuns.systemName, input.system), isNull(rescueRuns.finishedAt))).limit(1);
        throw new InventoryError('conflict', `system "${input.system}" is already being rescued (${open?.workflowId ?? 'another run'}, since ${open?.startedAt.toISOString() ?? '?'})`);
      }
    },
    async update(workflowId: string, runId: string, change: Partial<Pick<RunRow, 'state' | 'environment' | 'diagnosis' | 'diagnosisBeforeRepair' | 'repairs' | 'evidence' | 'steps' | 'error'>>): Promise<void> {
      await runRow(workflowId, runId);
      await db.update(rescueRuns).set(safeJson(change)).where(and(eq(rescueRuns.workflowId, workflowId), eq(rescueRuns.runId, runId)));
    },
    async close(workflowId: string, runId: string, outcome: string, error: string | null): Promise<RescueRunView> {
      const [row] = await db
        .update(rescueRuns)
        .set({ outcome: safeText(outcome), state: safeText(outcome), error: error === null ? null : safeText(error), finishedAt: sql`coalesce(${rescueRuns.finishedAt}, now())` })
        .where(and(eq(rescueRuns.workflowId, workflowId), eq(rescueRuns.runId, runId)))
        .returning();
      if (row === undefined) throw new InventoryError('not-found', `rescue ${workflowId} (run ${runId}) has no record`);
      return toView(row);
    },
    /** Runs with no end yet, oldest first: what the reconciler compares with Temporal. */
    async openRuns(): Promise<RescueRunView[]> {
      const rows = await db.select().from(rescueRuns).where(isNull(rescueRuns.finishedAt)).orderBy(rescueRuns.id);
      return rows.map(toView);
    },
    /** The machine's open run, if it has one (there is at most one). */
    async openRunOf(system: string): Promise<RescueRunView | undefined> {
      const [row] = await db.select().from(rescueRuns).where(and(eq(rescueRuns.systemName, system), isNull(rescueRuns.finishedAt))).limit(1);
      return row === undefined ? undefined : toView(row);
    },
    /** Closes a run only if it is still open; returns the closed run, or undefined when it was already closed. */
    async closeIfOpen(workflowId: string, runId: string, outcome: string, error: string | null): Promise<RescueRunView | undefined> {
      const [row] = await db
        .update(rescueRuns)
        .set({ outcome, state: outcome, error, finishedAt: sql`now()` })
        .where(and(eq(rescueRuns.workflowId, workflowId), eq(rescueRuns.runId, runId), isNull(rescueRuns.finishedAt)))
        .returning();
      return row === undefined ? undefined : toView(row);
    },
    async get(workflowId: string, runId: string): Promise<RescueRunView> {
      return toView(await runRow(workflowId, runId));
    },
    async list(filter: { system?: string | undefined; limit?: number | undefined } = {}): Promise<RescueRunView[]> {
      const rows = await db
        .select()
        .from(rescueRuns)
        .where(filter.system ? eq(rescueRuns.systemName, filter.system) : undefined)
        .orderBy(desc(rescueRuns.id))
        .limit(filter.limit ?? 50);
      return rows.map(toView);
    },

    /** Rescue runs, newest first, one page at a time. */
    async page(request: { system?: string | undefined } & PageRequest): Promise<Page<RescueRunView>> {
      const limit = pageLimit(request, 50);
      const rows = await db
        .select()
        .from(rescueRuns)
        .where(and(request.system ? eq(rescueRuns.systemName, request.system) : undefined, request.cursor !== undefined ? lt(rescueRuns.id, decodeCursor(request.cursor, ['number'] as const)[0]) : undefined))
        .orderBy(desc(rescueRuns.id))
        .limit(limit + 1);
      return pageOf(rows, limit, (row) => [row.id], toView);
    },

    async createHandshake(input: { workflowId: string; system: string; mac: string; secrets: HandshakeSecrets; expiresAt: Date }): Promise<string> {
      const id = randomUUID();
      await db.insert(rescueHandshakes).values({
        id,
        workflowId: input.workflowId,
        systemName: input.system,
        mac: input.mac,
        tokenHash: tokenHash(input.secrets.token),
        privateKeyEncrypted: cipher.encrypt(input.secrets.privateKeyPem),
        publicKey: input.secrets.publicKey,
        expiresAt: input.expiresAt,
      });
      return id;
    },
    /** The handshake a phone-home token belongs to (whatever its state: the caller decides), or undefined. */
    async handshakeForToken(token: string): Promise<HandshakeRecord | undefined> {
      const [row] = await db.select().from(rescueHandshakes).where(eq(rescueHandshakes.tokenHash, tokenHash(token))).limit(1);
      if (row === undefined) return undefined;
      return {
        id: row.id,
        workflowId: row.workflowId,
        system: row.systemName,
        mac: row.mac,
        expiresAt: row.expiresAt,
        bootScriptFetchedFrom: row.bootScriptFetchedFrom,
        phonedHomeAt: row.phonedHomeAt,
        phoneHomeSource: row.phoneHomeSource,
        hostKey: row.hostKey,
      };
    },
    /**
     * The first valid phone-home wins: records it only if none was recorded and the handshake is live.
     * Returns false when another call got there first (or the handshake ended meanwhile).
     */
    async claimPhoneHome(id: string, phonedHome: PhonedHome & { source: string }): Promise<boolean> {
      const claimed = await db
        .update(rescueHandshakes)
        .set({ phonedHomeAt: new Date(), phoneHomeSource: phonedHome.source, ip: phonedHome.ip, hostKey: phonedHome.hostKey, sshPort: phonedHome.sshPort })
        .where(and(eq(rescueHandshakes.id, id), isNull(rescueHandshakes.phonedHomeAt), gt(rescueHandshakes.expiresAt, new Date())))
        .returning({ id: rescueHandshakes.id });
      return claimed.length > 0;
    },
    /** Undoes a claim whose signal could not be delivered, so that the rescue environment's retry can succeed. */
    async releasePhoneHome(id: string, phonedHome: PhonedHome & { source: string }): Promise<void> {
      await db
        .update(rescueHandshakes)
        .set({ phonedHomeAt: null, phoneHomeSource: null, ip: null, hostKey: null, sshPort: null })
        .where(and(eq(rescueHandshakes.id, id), eq(rescueHandshakes.phoneHomeSource, phonedHome.source), eq(rescueHandshakes.hostKey, phonedHome.hostKey)));
    },
    /** Notes the first address that fetched the rescue boot script of this MAC while its handshake is live. */
    async noteBootScriptFetch(mac: string, address: string): Promise<void> {
      await db
        .update(rescueHandshakes)
        .set({ bootScriptFetchedFrom: address })
        .where(and(eq(rescueHandshakes.mac, mac), isNull(rescueHandshakes.bootScriptFetchedFrom), isNull(rescueHandshakes.phonedHomeAt), gt(rescueHandshakes.expiresAt, new Date())));
    },
    /** What an SSH session needs: where to connect, the pinned host key, the private key (decrypted). */
    async sshCredentials(id: string): Promise<{ ip: string; port: number; hostKey: string; privateKeyPem: string; system: string } | undefined> {
      const [row] = await db.select().from(rescueHandshakes).where(eq(rescueHandshakes.id, id)).limit(1);
      if (row === undefined || row.ip === null || row.hostKey === null) return undefined;
      return { ip: row.ip, port: row.sshPort ?? 22, hostKey: row.hostKey, privateKeyPem: cipher.decrypt(row.privateKeyEncrypted), system: row.systemName };
    },
    /** Deletes every handshake of a rescue that has ended, with its encrypted private key. */
    async deleteHandshakes(workflowId: string): Promise<number> {
      const deleted = await db.delete(rescueHandshakes).where(eq(rescueHandshakes.workflowId, workflowId)).returning({ id: rescueHandshakes.id });
      return deleted.length;
    },
    /** Deletes handshakes that expired before `before` (rescues whose cleanup never ran). */
    async pruneHandshakes(before: Date): Promise<number> {
      const deleted = await db.delete(rescueHandshakes).where(lt(rescueHandshakes.expiresAt, before)).returning({ id: rescueHandshakes.id });
      return deleted.length;
    },
  };
}

export type RescueRepository = ReturnType<typeof createRescueRepository>;
