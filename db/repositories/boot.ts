// Network boot state: one-time boot overrides (a rescue's config) and the log of files machines fetched.
import { and, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../client.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import { bootFetches, bootOverrides, interfaces, systems } from '../schema.js';
import { notFound } from '../../inventory/errors.js';
import type { SecretCipher } from '../../secrets/cipher.js';
import { redactSecrets } from '../../secrets/redact.js';
import { canonicalIp } from '../../inventory/ip.js';

export interface BootOverride {
  system: string;
  kind: 'rescue' | 'install';
  label: string;
  kernel: string;
  initrd: string;
  /** The kernel arguments as the machine gets them (with its tokens). */
  append: string;
  owner: string;
  expiresAt: Date;
}

/** An override as stored: what the machine boots, and the same with its secrets masked for operators. */
export interface StoredBootOverride extends BootOverride {
  /** The kernel arguments with the override's secrets masked: what previews and reports show. */
  shownAppend: string;
}

export interface BootFetch {
  at: string;
  system: string | null;
  mac: string | null;
  clientAddress: string;
  protocol: 'tftp' | 'http';
  file: string;
  bytes: number;
  outcome: string;
}

export function createBootRepository(db: Database, cipher: SecretCipher) {
  async function systemId(name: string): Promise<number> {
    const [row] = await db.select({ id: systems.id }).from(systems).where(eq(systems.name, name)).limit(1);
    if (row === undefined) throw notFound('system', name);
    return row.id;
  }

  /** Fetches of one system, newest first, one page at a time. */
  async function fetchPage(systemName: string, request: { since?: Date } & PageRequest): Promise<Page<BootFetch>> {
    const id = await systemId(systemName);
    const limit = pageLimit(request, 50);
    const rows = await db
      .select({ fetch: bootFetches, system: systems.name })
      .from(bootFetches)
      .leftJoin(systems, eq(systems.id, bootFetches.systemId))
      .where(
        and(
          eq(bootFetches.systemId, id),
          request.since ? gt(bootFetches.at, request.since) : undefined,
          request.cursor !== undefined ? lt(bootFetches.id, decodeCursor(request.cursor, ['number'] as const)[0]) : undefined,
        ),
      )
      .orderBy(desc(bootFetches.id))
      .limit(limit + 1);
    return pageOf(rows, limit, ({ fetch }) => [fetch.id], ({ fetch, system }) => ({
      at: fetch.at.toISOString(),
      system,
      mac: fetch.mac,
      clientAddress: fetch.clientAddress,
      protocol: fetch.protocol as BootFetch['protocol'],
      file: fetch.file,
      bytes: fetch.bytes,
      outcome: fetch.outcome,
    }));
  }

  return {
    fetchPage,
    /**
     * Sets the system's one-time boot config. `secrets` (a rescue's phone-home token) are kept out of the
     * row's plain columns: the kernel arguments are stored encrypted, and in plain text only masked.
     */
    async setOverride(override: BootOverride, secrets: readonly string[] = []): Promise<void> {
      const id = await systemId(override.system);
      const { system: _name, append, ...rest } = override;
      const masked = redactSecrets(append, secrets);
      const values = { ...rest, systemId: id, append: masked, appendEncrypted: masked === append ? null : cipher.encrypt(append) };
      await db.insert(bootOverrides).values(values).onConflictDoUpdate({ target: bootOverrides.systemId, set: { ...values, createdAt: new Date() } });
    },
    /** The override in force for a system (expired ones are ignored). */
    async override(systemName: string): Promise<StoredBootOverride | undefined> {
      const [row] = await db
        .select({ override: bootOverrides, system: systems.name })
        .from(bootOverrides)
        .innerJoin(systems, eq(systems.id, bootOverrides.systemId))
        .where(and(eq(systems.name, systemName), gt(bootOverrides.expiresAt, new Date())))
        .limit(1);
      if (row === undefined) return undefined;
      const { systemId: _id, createdAt: _created, appendEncrypted, append, ...rest } = row.override;
      return { ...rest, system: row.system, kind: rest.kind as BootOverride['kind'], append: appendEncrypted === null ? append : cipher.decrypt(appendEncrypted), shownAppend: append };
    },
    /** Removes the system's override; with an owner, only if that owner set it. Returns whether one was removed. */
    async clearOverride(systemName: string, owner?: string): Promise<boolean> {
      const id = await systemId(systemName);
      const removed = await db
        .delete(bootOverrides)
        .where(owner === undefined ? eq(bootOverrides.systemId, id) : and(eq(bootOverrides.systemId, id), eq(bootOverrides.owner, owner)))
        .returning({ id: bootOverrides.systemId });
      return removed.length > 0;
    },
    async recordFetch(fetch: Omit<BootFetch, 'at' | 'system'> & { systemId: number | null }): Promise<void> {
      await db.insert(bootFetches).values(fetch);
    },
    /** Fetches of one system, newest first (the latest `limit`, 50 by default). */
    async fetchesOf(systemName: string, options: { since?: Date; limit?: number } = {}): Promise<BootFetch[]> {
      return (await fetchPage(systemName, { limit: options.limit ?? 50, ...(options.since ? { since: options.since } : {}) })).items;
    },
    /** The latest fetch of every system that fetched anything. */
    async lastFetchPerSystem(): Promise<Map<string, BootFetch>> {
      const rows = await db.execute<{ system: string; at: Date | string; mac: string | null; client_address: string; protocol: string; file: string; bytes: number; outcome: string }>(sql`
        select distinct on (f.system_id) s.name as system, f.at, f.mac, f.client_address, f.protocol, f.file, f.bytes, f.outcome
        from ${bootFetches} f join ${systems} s on s.id = f.system_id
        order by f.system_id, f.id desc`);
      const list = rowsOf<Record<string, unknown>>(rows);
      return new Map(
        list.map((r) => [
          String(r.system),
          {
            at: new Date(r.at as string).toISOString(),
            system: String(r.system),
            mac: (r.mac as string | null) ?? null,
            clientAddress: String(r.client_address),
            protocol: r.protocol as BootFetch['protocol'],
            file: String(r.file),
            bytes: Number(r.bytes),
            outcome: String(r.outcome),
          },
        ]),
      );
    },
    /**
     * The system whose interface has this IP (TFTP clients are known by address, not MAC), in any spelling: a
     * dual-stack socket names an IPv4 client ::ffff:192.0.2.7, the inventory stores 192.0.2.7 (inventory/ip.ts).
     */
    async systemIdByIp(ip: string): Promise<number | undefined> {
      const [row] = await db.select({ id: interfaces.systemId }).from(interfaces).where(eq(interfaces.ip, canonicalIp(ip) ?? ip)).limit(1);
      return row?.id;
    },
    async systemIdByMac(mac: string): Promise<number | undefined> {
      const [row] = await db.select({ id: interfaces.systemId }).from(interfaces).where(eq(interfaces.mac, mac)).limit(1);
      return row?.id;
    },
    /** Keeps the log bounded: deletes fetches older than `before`, in batches. Returns how many. */
    async pruneFetches(before: Date, batch = 5000): Promise<number> {
      let total = 0;
      for (;;) {
        const deleted = await db
          .delete(bootFetches)
          .where(inArray(bootFetches.id, db.select({ id: bootFetches.id }).from(bootFetches).where(lt(bootFetches.at, before)).limit(batch)))
          .returning({ id: bootFetches.id });
        total += deleted.length;
        if (deleted.length < batch) return total;
      }
    },
  };
}

export type BootRepository = ReturnType<typeof createBootRepository>;
