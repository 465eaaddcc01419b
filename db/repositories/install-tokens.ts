// Install status tokens, one per install: opened when a system's netboot is enabled or a reinstall pushes
// its boot config, rendered into the autoinstall file, presented by the installer's status callbacks, and
// closed when the install finishes or fails (or netboot is turned off). Random; stored as a hash (to find
// it) and encrypted (to render the same file again); the clock starts when the machine first fetches it.
import { and, eq, isNull, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { installTokens, systems } from '../schema.js';
import { notFound } from '../../inventory/errors.js';
import type { SecretCipher } from '../../secrets/cipher.js';
import { randomToken, tokenHash } from '../../secrets/tokens.js';

export interface InstallTokenRecord {
  id: number;
  system: string;
  openedBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  installId: number | null;
  closedAt: Date | null;
  closedReason: string | null;
}

/** Opens a new install token for a system, closing the one it had (inside the caller's transaction). */
export async function openInstallToken(db: Database, cipher: SecretCipher, systemId: number, openedBy: string): Promise<void> {
  await closeInstallTokens(db, systemId, `superseded (${openedBy})`);
  const token = randomToken(24);
  await db.insert(installTokens).values({ systemId, tokenHash: tokenHash(token), tokenEncrypted: cipher.encrypt(token), openedBy });
}

/** Closes the system's open install token, if it has one. */
export async function closeInstallTokens(db: Database, systemId: number, reason: string): Promise<void> {
  await db
    .update(installTokens)
    .set({ closedAt: new Date(), closedReason: reason })
    .where(and(eq(installTokens.systemId, systemId), isNull(installTokens.closedAt)));
}

export function createInstallTokenRepository(db: Database, cipher: SecretCipher) {
  async function systemId(name: string): Promise<number> {
    const [row] = await db.select({ id: systems.id }).from(systems).where(eq(systems.name, name)).limit(1);
    if (row === undefined) throw notFound('system', name);
    return row.id;
  }

  return {
    async open(system: string, openedBy: string): Promise<void> {
      const id = await systemId(system);
      await db.transaction(async (tx) => openInstallToken(tx as unknown as Database, cipher, id, openedBy));
    },
    async close(system: string, reason: string): Promise<void> {
      await closeInstallTokens(db, await systemId(system), reason);
    },
    /**
     * The system's open, unexpired install token as the machine gets it in its autoinstall file, or
     * undefined when no install is expected. The first fetch starts the token's lifetime.
     */
    async tokenForMachine(system: string, lifetimeMs: number): Promise<string | undefined> {
      const id = await systemId(system);
      const [row] = await db
        .update(installTokens)
        .set({ expiresAt: sql`coalesce(${installTokens.expiresAt}, now() + ${`${Math.round(lifetimeMs)} milliseconds`}::interval)` })
        .where(and(eq(installTokens.systemId, id), isNull(installTokens.closedAt), or(isNull(installTokens.expiresAt), sql`${installTokens.expiresAt} > now()`)))
        .returning({ tokenEncrypted: installTokens.tokenEncrypted });
      return row === undefined ? undefined : cipher.decrypt(row.tokenEncrypted);
    },
    /** The install token a callback presented, whatever its state (the caller decides), or undefined. */
    async find(token: string): Promise<InstallTokenRecord | undefined> {
      const [row] = await db
        .select({ token: installTokens, system: systems.name })
        .from(installTokens)
        .innerJoin(systems, eq(systems.id, installTokens.systemId))
        .where(eq(installTokens.tokenHash, tokenHash(token)))
        .limit(1);
      if (row === undefined) return undefined;
      const { token: t } = row;
      return { id: t.id, system: row.system, openedBy: t.openedBy, createdAt: t.createdAt, expiresAt: t.expiresAt, installId: t.installId, closedAt: t.closedAt, closedReason: t.closedReason };
    },
    /** Ties the token to the install-history row its "started" callback opened. */
    async linkInstall(id: number, installId: number): Promise<void> {
      await db.update(installTokens).set({ installId }).where(eq(installTokens.id, id));
    },
    /** Closes one token (its install finished or failed); false if it was already closed. */
    async closeToken(id: number, reason: string): Promise<boolean> {
      const closed = await db
        .update(installTokens)
        .set({ closedAt: new Date(), closedReason: reason })
        .where(and(eq(installTokens.id, id), isNull(installTokens.closedAt)))
        .returning({ id: installTokens.id });
      return closed.length > 0;
    },
    /** Deletes tokens closed or expired before `before`. */
    async prune(before: Date): Promise<number> {
      const deleted = await db
        .delete(installTokens)
        .where(or(and(isNotNull(installTokens.closedAt), lt(installTokens.closedAt, before)), and(isNotNull(installTokens.expiresAt), lt(installTokens.expiresAt, before))))
        .returning({ id: installTokens.id });
      return deleted.length;
    },
  };
}

export type InstallTokenRepository = ReturnType<typeof createInstallTokenRepository>;
