// API bearer tokens. Only a hash is stored; the token is shown once, when it is created.
import { randomBytes } from 'node:crypto';
import { tokenHash as hashToken } from '../../secrets/tokens.js';
import { and, asc, eq, gt, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { coalescedQuery } from '../coalesced-queries.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import type { Database } from '../client.js';
import { apiTokens } from '../schema.js';
import { InventoryError, notFound } from '../../inventory/errors.js';
import { mapWriteErrors, type Actor } from './named-objects.js';
import { recordEvent } from './events.js';
import type { SecretCipher } from '../../secrets/cipher.js';

export const ROLES = ['viewer', 'operator', 'admin', 'webhook'] as const;
export type Role = (typeof ROLES)[number];
/** viewer < operator < admin; `webhook` stands aside: it may deliver alerts and nothing else. */
const RANKED: readonly Role[] = ['viewer', 'operator', 'admin'];

export function roleAllows(granted: Role, needed: Role): boolean {
  if (needed === 'webhook') return granted === 'webhook' || granted === 'admin';
  if (granted === 'webhook') return false;
  return RANKED.indexOf(granted) >= RANKED.indexOf(needed);
}

/** A token's last use is recorded to the minute: one UPDATE a minute per token at most, not one per request. */
const LAST_USE_RESOLUTION_MS = 60_000;
/**
 * A valid token is remembered this long, so that a sender's every request (Alertmanager's webhook at hundreds
 * a second in a storm) does not cost a round trip to the database. A token removed through this process stops
 * at once; one removed through another API process stops within this time. Invalid tokens are never
 * remembered: a new token works at once.
 */
export const TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_ENTRIES = 1_000;

export interface TokenView {
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  /** Whether deliveries may be signed with an HMAC secret instead of the bearer token (webhook tokens). */
  hmac: boolean;
}

export function createTokenRepository(db: Database, cipher: SecretCipher) {
  // Requests that arrive together are authenticated by one SELECT.
  const tokenByHash = coalescedQuery(async (hashes: string[]) => {
    const rows = await db
      .select({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, lastUsedAt: apiTokens.lastUsedAt, tokenHash: apiTokens.tokenHash })
      .from(apiTokens)
      .where(inArray(apiTokens.tokenHash, [...new Set(hashes)]));
    return hashes.map((hash) => rows.find((r) => r.tokenHash === hash));
  });
  type KnownToken = { id: number; name: string; role: Role; lastUsedAt: Date | null; until: number };
  /** Valid tokens by hash, oldest first (a Map keeps insertion order). */
  const known = new Map<string, KnownToken>();
  function remember(hash: string, token: Omit<KnownToken, 'until'>): void {
    known.delete(hash);
    if (known.size >= TOKEN_CACHE_ENTRIES) known.delete(known.keys().next().value!);
    known.set(hash, { ...token, until: Date.now() + TOKEN_CACHE_MS });
  }
  return {
    async create(input: { name: string; role: Role; hmacSecret?: string | undefined }, actor: Actor): Promise<TokenView & { token: string }> {
      if (input.hmacSecret !== undefined && input.role !== 'webhook') throw new InventoryError('invalid', 'hmacSecret: only webhook tokens sign deliveries', 'hmacSecret');
      const token = `rsd_${randomBytes(32).toString('base64url')}`;
      const [row] = await mapWriteErrors('token', input.name, () =>
        db.transaction(async (tx) => {
          const inserted = await tx
            .insert(apiTokens)
            .values({ name: input.name, role: input.role, tokenHash: hashToken(token), hmacSecretEncrypted: input.hmacSecret === undefined ? null : cipher.encrypt(input.hmacSecret) })
            .returning();
          await recordEvent(tx as unknown as Database, { kind: 'token.created', objectType: 'token', objectName: input.name, actor: actor.name, detail: { role: input.role, hmac: input.hmacSecret !== undefined } });
          return inserted;
        }),
      );
      return { name: row!.name, role: row!.role as Role, createdAt: row!.createdAt.toISOString(), lastUsedAt: null, hmac: input.hmacSecret !== undefined, token };
    },
    /** One page of tokens, by name (never the tokens themselves, nor their HMAC secrets). */
    async page(request: PageRequest): Promise<Page<TokenView>> {
      const limit = pageLimit(request);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, ['string'] as const)[0];
      const rows = await db
        .select()
        .from(apiTokens)
        .where(after === undefined ? undefined : gt(apiTokens.name, after))
        .orderBy(asc(apiTokens.name))
        .limit(limit + 1);
      return pageOf(rows, limit, (r) => [r.name], (r) => ({ name: r.name, role: r.role as Role, createdAt: r.createdAt.toISOString(), lastUsedAt: r.lastUsedAt?.toISOString() ?? null, hmac: r.hmacSecretEncrypted !== null }));
    },
    async remove(name: string, actor: Actor): Promise<void> {
      const deleted = await db.delete(apiTokens).where(eq(apiTokens.name, name)).returning({ id: apiTokens.id });
      for (const [hash, token] of known) if (token.name === name) known.delete(hash);
      if (deleted.length === 0) throw notFound('token', name);
      await recordEvent(db, { kind: 'token.removed', objectType: 'token', objectName: name, actor: actor.name });
    },
    /** The token's name and role, or undefined. Its last use is written at most once a minute, not per request. */
    async authenticate(token: string): Promise<{ name: string; role: Role } | undefined> {
      if (!/^rsd_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const hash = hashToken(token);
      const cached = known.get(hash);
      let row: Omit<KnownToken, 'until'>;
      if (cached !== undefined && cached.until > Date.now()) row = cached;
      else {
        known.delete(hash);
        const stored = await tokenByHash(hash);
        if (stored === undefined) return undefined;
        row = { id: stored.id, name: stored.name, role: stored.role as Role, lastUsedAt: stored.lastUsedAt };
        remember(hash, row);
      }
      if (row.lastUsedAt === null || Date.now() - row.lastUsedAt.getTime() >= LAST_USE_RESOLUTION_MS) {
        // Remembered as written, so that the next requests do not write it again.
        const entry = known.get(hash);
        if (entry !== undefined) entry.lastUsedAt = new Date();
        await db
          .update(apiTokens)
          .set({ lastUsedAt: sql`now()` })
          .where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, sql`now() - interval '1 minute'`))));
      }
      return { name: row.name, role: row.role };
    },
    /** The HMAC secrets of webhook tokens, decrypted, to check a signed delivery against. */
    async webhookSecrets(): Promise<Array<{ name: string; secret: string }>> {
      const rows = await db.select({ name: apiTokens.name, secret: apiTokens.hmacSecretEncrypted }).from(apiTokens).where(and(eq(apiTokens.role, 'webhook'), isNotNull(apiTokens.hmacSecretEncrypted)));
      return rows.map((r) => ({ name: r.name, secret: cipher.decrypt(r.secret!) }));
    },
    async count(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(apiTokens);
      return row?.count ?? 0;
    },
  };
}

export function assertRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new InventoryError('invalid', `role: "${value}" is not a role (viewer, operator, admin or webhook)`, 'role');
}

export type TokenRepository = ReturnType<typeof createTokenRepository>;
