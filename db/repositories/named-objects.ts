// Create, read, list, update, remove for an inventory table whose rows are found by a unique name.
// Distros, repos and rescue environments are this and nothing more; profiles and systems build on the
// same error mapping.
import { asc, eq, gt } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../client.js';
import { FOREIGN_KEY_VIOLATION, RESTRICT_VIOLATION, UNIQUE_VIOLATION, sqlStateOf } from '../errors.js';
import { InventoryError, notFound } from '../../inventory/errors.js';
import { recordEvent } from './events.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';

export interface NamedTable extends PgTable {
  id: PgColumn;
  name: PgColumn;
  updatedAt: PgColumn;
}

export interface Actor {
  /** Who asked: the API token's name, or "system". Recorded in events. */
  name: string;
}

/** Runs a write and turns the database's refusals into inventory errors that name the object. */
export async function mapWriteErrors<T>(objectType: string, name: string, write: () => Promise<T>, usedBy?: () => Promise<string>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const state = sqlStateOf(error);
    if (state?.code === UNIQUE_VIOLATION) {
      if (state.constraint?.includes('mac')) throw new InventoryError('conflict', `a MAC address of ${objectType} "${name}" is already used by another system`, 'interfaces');
      throw new InventoryError('conflict', `${objectType} "${name}" already exists`, 'name');
    }
    if (state?.code === FOREIGN_KEY_VIOLATION || state?.code === RESTRICT_VIOLATION) {
      const users = usedBy ? await usedBy() : 'other objects';
      throw new InventoryError('in-use', `${objectType} "${name}" is used by ${users}; remove or change those first`);
    }
    throw error;
  }
}

export function changedFields(update: object): string[] {
  return Object.entries(update)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key);
}

export interface NamedObjectRepository<Create extends { name: string }, Update extends { name?: string | undefined }, View> {
  list(): Promise<View[]>;
  /** One page, by name. */
  page(request: PageRequest): Promise<Page<View>>;
  get(name: string): Promise<View>;
  create(input: Create, actor: Actor): Promise<View>;
  update(name: string, input: Update, actor: Actor): Promise<View>;
  remove(name: string, actor: Actor): Promise<void>;
}

export function createNamedObjectRepository<Table extends NamedTable, Create extends { name: string }, Update extends { name?: string | undefined }, View>(
  db: Database,
  spec: {
    objectType: string;
    table: Table;
    toView: (row: Table['$inferSelect']) => View;
    toInsert: (input: Create) => Table['$inferInsert'];
    toUpdate: (input: Update) => Partial<Table['$inferInsert']>;
    /** Names of the objects that refer to this one, for an "in use" message. */
    usedBy: (id: number) => Promise<string>;
  },
): NamedObjectRepository<Create, Update, View> {
  const { objectType, table } = spec;
  // drizzle's generic table types do not narrow through a type parameter; these casts stay in this file.
  const anyTable = table as unknown as PgTable & { id: PgColumn; name: PgColumn; updatedAt: PgColumn };

  async function findRow(name: string): Promise<Table['$inferSelect']> {
    const rows = (await db.select().from(anyTable).where(eq(anyTable.name, name)).limit(1)) as Table['$inferSelect'][];
    const row = rows[0];
    if (row === undefined) throw notFound(objectType, name);
    return row;
  }

  return {
    async list() {
      const rows = (await db.select().from(anyTable).orderBy(asc(anyTable.name))) as Table['$inferSelect'][];
      return rows.map(spec.toView);
    },
    async page(request) {
      const limit = pageLimit(request);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, ['string'] as const)[0];
      const rows = (await db
        .select()
        .from(anyTable)
        .where(after === undefined ? undefined : gt(anyTable.name, after))
        .orderBy(asc(anyTable.name))
        .limit(limit + 1)) as Table['$inferSelect'][];
      return pageOf(rows, limit, (row) => [(row as { name: string }).name], spec.toView);
    },
    async get(name) {
      return spec.toView(await findRow(name));
    },
    async create(input, actor) {
      return mapWriteErrors(objectType, input.name, async () =>
        db.transaction(async (tx) => {
          const [row] = (await tx.insert(anyTable).values(spec.toInsert(input)).returning()) as Table['$inferSelect'][];
          await recordEvent(tx as unknown as Database, { kind: `${objectType}.created`, objectType, objectName: input.name, actor: actor.name });
          return spec.toView(row!);
        }),
      );
    },
    async update(name, input, actor) {
      const existing = (await findRow(name)) as { id: number };
      return mapWriteErrors(objectType, input.name ?? name, async () =>
        db.transaction(async (tx) => {
          const [row] = (await tx
            .update(anyTable)
            .set({ ...spec.toUpdate(input), updatedAt: new Date() })
            .where(eq(anyTable.id, existing.id))
            .returning()) as Table['$inferSelect'][];
          await recordEvent(tx as unknown as Database, {
            kind: `${objectType}.updated`,
            objectType,
            objectName: input.name ?? name,
            actor: actor.name,
            detail: { fields: changedFields(input), ...(input.name && input.name !== name ? { renamedFrom: name } : {}) },
          });
          return spec.toView(row!);
        }),
      );
    },
    async remove(name, actor) {
      const existing = (await findRow(name)) as { id: number };
      await mapWriteErrors(
        objectType,
        name,
        async () =>
          db.transaction(async (tx) => {
            await tx.delete(anyTable).where(eq(anyTable.id, existing.id));
            await recordEvent(tx as unknown as Database, { kind: `${objectType}.removed`, objectType, objectName: name, actor: actor.name });
          }),
        () => spec.usedBy(existing.id),
      );
    },
  };
}
