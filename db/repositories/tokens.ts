// API bearer tokens. Only a hash is stored; the token is shown once, when it is created.
import { randomBytes } from 'node:crypto';
import { tokenHash as hashToken } from '../../secrets/tokens.js';
import { and, asc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import type { Database } from '../client.js';
import { apiTokens } from '../schema.js';
import { InventoryError, notFound } from '../../inventory/errors.js';
import { mapWriteErrors, type Actor } from './named-objects.js';
import { recordEvent } from './events.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAllows(granted: Role, needed: Role): boolean {
  return ROLES.indexOf(granted) >= ROLES.indexOf(needed);
}

/** A token's last use is recorded to the minute: one UPDATE a minute per token at most, not one per request. */
const LAST_USE_RESOLUTION_MS = 60_000;

export interface TokenView {
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
}

export function createTokenRepository(db: Database) {
  return {
    async create(input: { name: string; role: Role }, actor: Actor): Promise<TokenView & { token: string }> {
      const token = `rsd_${randomBytes(32).toString('base64url')}`;
      const [row] = await mapWriteErrors('token', input.name, () =>
        db.transaction(async (tx) => {
          const inserted = await tx.insert(apiTokens).values({ name: input.name, role: input.role, tokenHash: hashToken(token) }).returning();
          await recordEvent(tx as unknown as Database, { kind: 'token.created', objectType: 'token', objectName: input.name, actor: actor.name, detail: { role: input.role } });
          return inserted;
        }),
      );
      return { name: row!.name, role: row!.role as Role, createdAt: row!.createdAt.toISOString(), lastUsedAt: null, token };
    },
    /** One page of tokens, by name (never the tokens themselves). */
    async page(request: PageRequest): Promise<Page<TokenView>> {
      const limit = pageLimit(request);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, ['string'] as const)[0];
      const rows = await db
        .select()
        .from(apiTokens)
        .where(after === undefined ? undefined : gt(apiTokens.name, after))
        .orderBy(asc(apiTokens.name))
        .limit(limit + 1);
      return pageOf(rows, limit, (r) => [r.name], (r) => ({ name: r.name, role: r.role as Role, createdAt: r.createdAt.toISOString(), lastUsedAt: r.lastUsedAt?.toISOString() ?? null }));
    },
    async remove(name: string, actor: Actor): Promise<void> {
      const deleted = await db.delete(apiTokens).where(eq(apiTokens.name, name)).returning({ id: apiTokens.id });
      if (deleted.length === 0) throw notFound('token', name);
      await recordEvent(db, { kind: 'token.removed', objectType: 'token', objectName: name, actor: actor.name });
    },
    /** The token's name and role, or undefined when no such token exists. */
    /** The token's name and role, or undefined. Its last use is written at most once a minute, not per request. */
    async authenticate(token: string): Promise<{ name: string; role: Role } | undefined> {
      if (!/^rsd_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const [row] = await db.select({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, lastUsedAt: apiTokens.lastUsedAt }).from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))).limit(1);
      if (row === undefined) return undefined;
      if (row.lastUsedAt === null || Date.now() - row.lastUsedAt.getTime() >= LAST_USE_RESOLUTION_MS) {
        await db
          .update(apiTokens)
          .set({ lastUsedAt: sql`now()` })
          .where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, sql`now() - interval '1 minute'`))));
      }
      return { name: row.name, role: row.role as Role };
    },
    async count(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(apiTokens);
      return row?.count ?? 0;
    },
  };
}

export function assertRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new InventoryError('invalid', `role: "${value}" is not a role (viewer, operator or admin)`, 'role');
}

export type TokenRepository = ReturnType<typeof createTokenRepository>;
