// Systems: a machine with its NICs, its BMCs (an ordered chain of power settings, passwords encrypted at
// rest) and the profile it runs. Passwords go in through create/update and come out only through
// powerTargets(), which the power activities call; views carry "passwordSet" instead.
import { asc, eq, gt, inArray, and, ne, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../client.js';
import { interfaces, powerSettings, profiles, rescueEnvironments, systems } from '../schema.js';
import { InventoryError, notFound } from '../../inventory/errors.js';
import type { PowerInput, SystemCreate, SystemUpdate, SystemView } from '../../inventory/schemas.js';
import type { SecretCipher } from '../../secrets/cipher.js';
import { changedFields, mapWriteErrors, type Actor } from './named-objects.js';
import { recordEvent } from './events.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import { closeInstallTokens, openInstallToken } from './install-tokens.js';
import { timestamps } from './flat-objects.js';
import { normalizeMac } from '../../inventory/mac.js';
import { canonicalIp } from '../../inventory/ip.js';

type SystemRow = typeof systems.$inferSelect;
type InterfaceRow = typeof interfaces.$inferSelect;
type PowerRow = typeof powerSettings.$inferSelect;

/** One BMC of a machine with its password decrypted: for the power drivers only, never for a reply or a log. */
export interface PowerTarget {
  systemName: string;
  type: string;
  address: string;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  options: Record<string, string>;
}

export function createSystemRepository(db: Database, cipher: SecretCipher) {
  type InterfaceView = SystemView['interfaces'][number];
  type PowerView = SystemView['power'][number];
  const interfaceView = (n: InterfaceView): InterfaceView => ({ name: n.name, mac: n.mac, ip: n.ip, hostname: n.hostname, netmask: n.netmask, gateway: n.gateway });
  const powerView = (p: PowerRow): PowerView => ({ type: p.type, address: p.address, port: p.port, user: p.username, passwordSet: p.passwordEncrypted !== null, options: p.options });

  function view(row: SystemRow, related: { profile: string; rescueEnvironment: string | null; interfaces: InterfaceView[]; power: PowerView[] }): SystemView {
    return {
      name: row.name,
      profile: related.profile,
      interfaces: related.interfaces,
      arch: row.arch as SystemView['arch'],
      firmware: row.firmware as SystemView['firmware'],
      osFamily: row.osFamily,
      osVersion: row.osVersion,
      netbootEnabled: row.netbootEnabled,
      labels: row.labels,
      kernelOptions: row.kernelOptions,
      rescuePolicy: row.rescuePolicy as SystemView['rescuePolicy'],
      rescueEnvironment: related.rescueEnvironment,
      power: related.power,
      comment: row.comment,
      ...timestamps(row),
    };
  }

  async function assemble(rows: SystemRow[]): Promise<SystemView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [nicRows, powerRows, profileRows, environmentRows] = await Promise.all([
      db.select().from(interfaces).where(inArray(interfaces.systemId, ids)).orderBy(asc(interfaces.name)),
      db.select().from(powerSettings).where(inArray(powerSettings.systemId, ids)).orderBy(asc(powerSettings.position)),
      db.select({ id: profiles.id, name: profiles.name }).from(profiles),
      db.select({ id: rescueEnvironments.id, name: rescueEnvironments.name }).from(rescueEnvironments),
    ]);
    const profileNames = new Map(profileRows.map((p) => [p.id, p.name]));
    const environmentNames = new Map(environmentRows.map((e) => [e.id, e.name]));
    const nicsBySystem = groupBy(nicRows, (n) => n.systemId);
    const powerBySystem = groupBy(powerRows, (p) => p.systemId);
    return rows.map((row) =>
      view(row, {
        profile: profileNames.get(row.profileId) ?? '',
        rescueEnvironment: row.rescueEnvironmentId === null ? null : (environmentNames.get(row.rescueEnvironmentId) ?? null),
        interfaces: (nicsBySystem.get(row.id) ?? []).map(interfaceView),
        power: (powerBySystem.get(row.id) ?? []).map(powerView),
      }),
    );
  }

  /**
   * The one system whose id `systemId` selects, with everything its view needs, in one statement: the boot
   * path asks this for every MAC a machine fetches with, so it costs one round trip instead of two (a row, then
   * its interfaces, BMCs and names side by side). Written with the tables' own names: drizzle leaves a column
   * of the selected table unqualified, which a subquery would read as its own table's column.
   */
  async function findOne(systemId: SQL): Promise<SystemView | undefined> {
    const [row] = await db
      .select({
        system: systems,
        profile: sql<string | null>`(select p.name from profiles p where p.id = systems.profile_id)`,
        rescueEnvironment: sql<string | null>`(select e.name from rescue_environments e where e.id = systems.rescue_environment_id)`,
        interfaces: sql<InterfaceView[]>`coalesce((select json_agg(json_build_object('name', i.name, 'mac', i.mac, 'ip', i.ip, 'hostname', i.hostname, 'netmask', i.netmask, 'gateway', i.gateway) order by i.name) from interfaces i where i.system_id = systems.id), '[]'::json)`,
        power: sql<PowerView[]>`coalesce((select json_agg(json_build_object('type', p.type, 'address', p.address, 'port', p.port, 'user', p.username, 'passwordSet', p.password_encrypted is not null, 'options', p.options) order by p.position) from power_settings p where p.system_id = systems.id), '[]'::json)`,
      })
      .from(systems)
      .where(eq(systems.id, systemId))
      .limit(1);
    if (row === undefined) return undefined;
    const parsed = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
    return view(row.system, {
      profile: row.profile ?? '',
      rescueEnvironment: row.rescueEnvironment,
      interfaces: parsed(row.interfaces).map(interfaceView),
      power: parsed(row.power).map((p) => ({ ...p, options: p.options ?? {} })),
    });
  }

  async function findRow(name: string): Promise<SystemRow> {
    const [row] = await db.select().from(systems).where(eq(systems.name, name)).limit(1);
    if (row === undefined) throw notFound('system', name);
    return row;
  }

  async function referenceIds(input: SystemUpdate) {
    const values: Partial<typeof systems.$inferInsert> = {};
    if (input.profile !== undefined) {
      const [profile] = await db.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, input.profile)).limit(1);
      if (profile === undefined) throw new InventoryError('invalid', `profile: profile "${input.profile}" does not exist`, 'profile');
      values.profileId = profile.id;
    }
    if (input.rescueEnvironment !== undefined) {
      if (input.rescueEnvironment === null) values.rescueEnvironmentId = null;
      else {
        const [environment] = await db
          .select({ id: rescueEnvironments.id })
          .from(rescueEnvironments)
          .where(eq(rescueEnvironments.name, input.rescueEnvironment))
          .limit(1);
        if (environment === undefined) throw new InventoryError('invalid', `rescueEnvironment: rescue-env "${input.rescueEnvironment}" does not exist`, 'rescueEnvironment');
        values.rescueEnvironmentId = environment.id;
      }
    }
    return values;
  }

  async function assertMacsFree(macs: string[], exceptSystemId: number | undefined): Promise<void> {
    if (macs.length === 0) return;
    const taken = await db
      .select({ mac: interfaces.mac, system: systems.name })
      .from(interfaces)
      .innerJoin(systems, eq(systems.id, interfaces.systemId))
      .where(exceptSystemId === undefined ? inArray(interfaces.mac, macs) : and(inArray(interfaces.mac, macs), ne(interfaces.systemId, exceptSystemId)));
    const first = taken[0];
    if (first !== undefined) throw new InventoryError('conflict', `MAC ${first.mac} is already used by system "${first.system}"`, 'interfaces');
  }

  function powerRowsFor(systemId: number, power: PowerInput[], previous: PowerRow[]): Array<typeof powerSettings.$inferInsert> {
    return power.map((entry, position) => {
      const kept = previous.find((p) => p.position === position)?.passwordEncrypted ?? null;
      const passwordEncrypted = entry.password === undefined ? kept : entry.password === null ? null : cipher.encrypt(entry.password);
      return {
        systemId,
        position,
        type: entry.type,
        address: entry.address,
        port: entry.port ?? null,
        username: entry.user ?? null,
        passwordEncrypted,
        options: entry.options,
      };
    });
  }

  async function writeChildren(tx: Database, systemId: number, input: SystemUpdate): Promise<void> {
    if (input.interfaces !== undefined) {
      await tx.delete(interfaces).where(eq(interfaces.systemId, systemId));
      await tx.insert(interfaces).values(
        input.interfaces.map((n) => ({ systemId, name: n.name, mac: n.mac, ip: n.ip ?? null, hostname: n.hostname ?? null, netmask: n.netmask ?? null, gateway: n.gateway ?? null })),
      );
    }
    if (input.power !== undefined) {
      const previous = await tx.select().from(powerSettings).where(eq(powerSettings.systemId, systemId));
      await tx.delete(powerSettings).where(eq(powerSettings.systemId, systemId));
      const rows = powerRowsFor(systemId, input.power, previous);
      if (rows.length > 0) await tx.insert(powerSettings).values(rows);
    }
  }

  function scalarValues(input: SystemUpdate): Partial<typeof systems.$inferInsert> {
    const { name, arch, firmware, osFamily, osVersion, netbootEnabled, labels, kernelOptions, rescuePolicy, comment } = input;
    const values: Partial<typeof systems.$inferInsert> = { name, arch, firmware, osFamily, osVersion, netbootEnabled, labels, kernelOptions, rescuePolicy, comment };
    return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  }

  function powerTargetOf(systemName: string, row: PowerRow): PowerTarget {
    return {
      systemName,
      type: row.type,
      address: row.address,
      port: row.port ?? undefined,
      username: row.username ?? undefined,
      password: row.passwordEncrypted === null ? undefined : cipher.decrypt(row.passwordEncrypted),
      options: row.options,
    };
  }

  return {
    async list(filter: { profile?: string | undefined; label?: Record<string, string> | undefined } = {}): Promise<SystemView[]> {
      const rows = await db.select().from(systems).orderBy(asc(systems.name));
      const views = await assemble(rows);
      return views.filter(
        (v) =>
          (filter.profile === undefined || v.profile === filter.profile) &&
          Object.entries(filter.label ?? {}).every(([key, value]) => v.labels[key] === value),
      );
    },
    /** One page, by name, filtered in the database (profile, labels). */
    async page(request: { profile?: string | undefined; label?: Record<string, string> | undefined } & PageRequest): Promise<Page<SystemView>> {
      const limit = pageLimit(request);
      const conditions: SQL[] = [];
      if (request.cursor !== undefined) conditions.push(gt(systems.name, decodeCursor(request.cursor, ['string'] as const)[0]));
      if (request.profile !== undefined) conditions.push(inArray(systems.profileId, db.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, request.profile))));
      if (request.label !== undefined && Object.keys(request.label).length > 0) conditions.push(sql`${systems.labels} @> ${JSON.stringify(request.label)}::jsonb`);
      const rows = await db
        .select()
        .from(systems)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(asc(systems.name))
        .limit(limit + 1);
      const views = await assemble(rows.slice(0, limit));
      return pageOf(rows, limit, (row) => [row.name], (row) => views.find((v) => v.name === row.name)!);
    },
    async get(name: string): Promise<SystemView> {
      const [view] = await assemble([await findRow(name)]);
      return view!;
    },
    /** The system that owns this MAC (any accepted form), or undefined. */
    async findByMac(mac: string): Promise<SystemView | undefined> {
      return findOne(sql`(select i.system_id from interfaces i where i.mac = ${normalizeMac(mac)} limit 1)`);
    },
    /** The system that has this IP (any spelling: addresses are stored in one, inventory/ip.ts), or undefined. */
    async findByIp(ip: string): Promise<SystemView | undefined> {
      return findOne(sql`(select i.system_id from interfaces i where i.ip = ${canonicalIp(ip) ?? ip} limit 1)`);
    },
    async create(input: SystemCreate, actor: Actor): Promise<SystemView> {
      const references = await referenceIds(input);
      await assertMacsFree(input.interfaces.map((n) => n.mac), undefined);
      await mapWriteErrors('system', input.name, () =>
        db.transaction(async (tx) => {
          const [row] = await tx
            .insert(systems)
            .values({ ...(scalarValues(input) as typeof systems.$inferInsert), ...references, name: input.name, profileId: references.profileId! })
            .returning({ id: systems.id });
          await writeChildren(tx as unknown as Database, row!.id, input);
          // Netboot on means an install is expected: its status callbacks get a token of their own.
          if (input.netbootEnabled === true) await openInstallToken(tx as unknown as Database, cipher, row!.id, `netboot enabled by ${actor.name}`);
          await recordEvent(tx as unknown as Database, { kind: 'system.created', objectType: 'system', objectName: input.name, actor: actor.name });
        }),
      );
      return this.get(input.name);
    },
    async update(name: string, input: SystemUpdate, actor: Actor): Promise<SystemView> {
      const existing = await findRow(name);
      const references = await referenceIds(input);
      if (input.interfaces !== undefined) await assertMacsFree(input.interfaces.map((n) => n.mac), existing.id);
      const newName = input.name ?? name;
      await mapWriteErrors('system', newName, () =>
        db.transaction(async (tx) => {
          await tx.update(systems).set({ ...scalarValues(input), ...references, updatedAt: new Date() }).where(eq(systems.id, existing.id));
          await writeChildren(tx as unknown as Database, existing.id, input);
          if (input.netbootEnabled === true && !existing.netbootEnabled) await openInstallToken(tx as unknown as Database, cipher, existing.id, `netboot enabled by ${actor.name}`);
          if (input.netbootEnabled === false && existing.netbootEnabled) await closeInstallTokens(tx as unknown as Database, existing.id, `netboot turned off by ${actor.name}`);
          await recordEvent(tx as unknown as Database, {
            kind: 'system.updated',
            objectType: 'system',
            objectName: newName,
            actor: actor.name,
            detail: { fields: changedFields(input), ...(newName !== name ? { renamedFrom: name } : {}) },
          });
        }),
      );
      return this.get(newName);
    },
    async remove(name: string, actor: Actor): Promise<void> {
      const existing = await findRow(name);
      await db.transaction(async (tx) => {
        await tx.delete(systems).where(eq(systems.id, existing.id));
        await recordEvent(tx as unknown as Database, { kind: 'system.removed', objectType: 'system', objectName: name, actor: actor.name });
      });
    },
    /** The machine's BMCs in chain order, passwords decrypted. */
    async powerTargets(name: string): Promise<PowerTarget[]> {
      const existing = await findRow(name);
      const rows = await db.select().from(powerSettings).where(eq(powerSettings.systemId, existing.id)).orderBy(asc(powerSettings.position));
      return rows.map((row) => powerTargetOf(name, row));
    },
    /** The BMCs of many machines at once (a fleet audit's batch), passwords decrypted; unknown names are left out. */
    async powerTargetsOf(names: string[]): Promise<Map<string, PowerTarget[]>> {
      const targets = new Map<string, PowerTarget[]>();
      if (names.length === 0) return targets;
      const rows = await db
        .select({ name: systems.name, power: powerSettings })
        .from(powerSettings)
        .innerJoin(systems, eq(systems.id, powerSettings.systemId))
        .where(inArray(systems.name, names))
        .orderBy(asc(systems.name), asc(powerSettings.position));
      for (const row of rows) targets.set(row.name, [...(targets.get(row.name) ?? []), powerTargetOf(row.name, row.power)]);
      return targets;
    },
  };
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

export type SystemRepository = ReturnType<typeof createSystemRepository>;
export type { InterfaceRow };
