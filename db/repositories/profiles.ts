// Profiles sit on a distro, or on a parent profile whose settings they inherit (as in Cobbler).
import { asc, eq, inArray, gt } from 'drizzle-orm';
import type { Database } from '../client.js';
import { decodeCursor, pageLimit, pageOf, type Page, type PageRequest } from '../pagination.js';
import { distros, profileRepos, profiles, repos, rescueEnvironments, systems, templates } from '../schema.js';
import { InventoryError, notFound } from '../../inventory/errors.js';
import type { ProfileCreate, ProfileUpdate, ProfileView } from '../../inventory/schemas.js';
import { DEFAULT_RESCUE_POLICY } from '../../inventory/policy.js';
import { changedFields, mapWriteErrors, type Actor } from './named-objects.js';
import { recordEvent } from './events.js';
import { timestamps } from './flat-objects.js';

type ProfileRow = typeof profiles.$inferSelect;

interface ProfileGraph {
  byId: Map<number, ProfileRow>;
  byName: Map<string, ProfileRow>;
  distroNames: Map<number, string>;
  environmentNames: Map<number, string>;
  repoNamesByProfile: Map<number, string[]>;
}

async function loadProfileGraph(db: Database): Promise<ProfileGraph> {
  const [profileRows, distroRows, environmentRows, repoRows] = await Promise.all([
    db.select().from(profiles).orderBy(asc(profiles.name)),
    db.select({ id: distros.id, name: distros.name }).from(distros),
    db.select({ id: rescueEnvironments.id, name: rescueEnvironments.name }).from(rescueEnvironments),
    db
      .select({ profileId: profileRepos.profileId, name: repos.name, position: profileRepos.position })
      .from(profileRepos)
      .innerJoin(repos, eq(repos.id, profileRepos.repoId))
      .orderBy(asc(profileRepos.position)),
  ]);
  const repoNamesByProfile = new Map<number, string[]>();
  for (const row of repoRows) repoNamesByProfile.set(row.profileId, [...(repoNamesByProfile.get(row.profileId) ?? []), row.name]);
  return {
    byId: new Map(profileRows.map((p) => [p.id, p])),
    byName: new Map(profileRows.map((p) => [p.name, p])),
    distroNames: new Map(distroRows.map((d) => [d.id, d.name])),
    environmentNames: new Map(environmentRows.map((e) => [e.id, e.name])),
    repoNamesByProfile,
  };
}

/** The profile and its ancestors, nearest first. */
export function profileChain(graph: Pick<ProfileGraph, 'byId'>, profile: ProfileRow): ProfileRow[] {
  const chain: ProfileRow[] = [];
  let current: ProfileRow | undefined = profile;
  while (current !== undefined && !chain.includes(current)) {
    chain.push(current);
    current = current.parentId === null ? undefined : graph.byId.get(current.parentId);
  }
  return chain;
}

function toView(graph: ProfileGraph, row: ProfileRow): ProfileView {
  const chain = profileChain(graph, row);
  const distroId = chain.find((p) => p.distroId !== null)?.distroId ?? null;
  const policy = chain.find((p) => p.rescuePolicy !== null)?.rescuePolicy ?? DEFAULT_RESCUE_POLICY;
  return {
    name: row.name,
    distro: row.distroId === null ? null : (graph.distroNames.get(row.distroId) ?? null),
    parent: row.parentId === null ? null : (graph.byId.get(row.parentId)?.name ?? null),
    autoinstall: row.autoinstallTemplate,
    kernelOptions: row.kernelOptions,
    repos: graph.repoNamesByProfile.get(row.id) ?? [],
    rescuePolicy: row.rescuePolicy as ProfileView['rescuePolicy'],
    rescueEnvironment: row.rescueEnvironmentId === null ? null : (graph.environmentNames.get(row.rescueEnvironmentId) ?? null),
    netbootOnce: row.netbootOnce,
    effectiveNetbootOnce: chain.find((p) => p.netbootOnce !== null)?.netbootOnce ?? true,
    effectiveDistro: distroId === null ? '' : (graph.distroNames.get(distroId) ?? ''),
    effectiveRescuePolicy: policy as ProfileView['effectiveRescuePolicy'],
    comment: row.comment,
    ...timestamps(row),
  };
}

async function idByName(db: Database, objectType: 'distro' | 'rescue-env', name: string, field: string): Promise<number> {
  const table = objectType === 'distro' ? distros : rescueEnvironments;
  const [row] = await db.select({ id: table.id }).from(table).where(eq(table.name, name)).limit(1);
  if (row === undefined) throw new InventoryError('invalid', `${field}: ${objectType} "${name}" does not exist`, field);
  return row.id;
}

async function repoIdsByName(db: Database, names: string[]): Promise<number[]> {
  if (names.length === 0) return [];
  const rows = await db.select({ id: repos.id, name: repos.name }).from(repos).where(inArray(repos.name, names));
  const ids = new Map(rows.map((r) => [r.name, r.id]));
  const missing = names.filter((n) => !ids.has(n));
  if (missing.length > 0) throw new InventoryError('invalid', `repos: repo ${missing.map((n) => `"${n}"`).join(', ')} does not exist`, 'repos');
  return names.map((n) => ids.get(n)!);
}

export function createProfileRepository(db: Database) {
  async function resolveReferences(input: ProfileUpdate, graph: ProfileGraph, selfId: number | undefined) {
    const values: Partial<typeof profiles.$inferInsert> = {};
    if (input.distro !== undefined) values.distroId = input.distro === null ? null : await idByName(db, 'distro', input.distro, 'distro');
    if (input.parent !== undefined) {
      if (input.parent === null) values.parentId = null;
      else {
        const parent = graph.byName.get(input.parent);
        if (parent === undefined) throw new InventoryError('invalid', `parent: profile "${input.parent}" does not exist`, 'parent');
        if (selfId !== undefined && profileChain(graph, parent).some((p) => p.id === selfId)) {
          throw new InventoryError('invalid', `parent: profile "${input.parent}" inherits from this profile; a profile cannot be its own ancestor`, 'parent');
        }
        values.parentId = parent.id;
      }
    }
    if (input.rescueEnvironment !== undefined) {
      values.rescueEnvironmentId = input.rescueEnvironment === null ? null : await idByName(db, 'rescue-env', input.rescueEnvironment, 'rescueEnvironment');
    }
    if (input.autoinstall !== undefined) {
      if (input.autoinstall !== null) {
        const [template] = await db.select({ id: templates.id }).from(templates).where(eq(templates.name, input.autoinstall)).limit(1);
        if (template === undefined) throw new InventoryError('invalid', `autoinstall: template "${input.autoinstall}" does not exist (rescuectl template add)`, 'autoinstall');
      }
      values.autoinstallTemplate = input.autoinstall;
    }
    if (input.kernelOptions !== undefined) values.kernelOptions = input.kernelOptions;
    if (input.rescuePolicy !== undefined) values.rescuePolicy = input.rescuePolicy;
    if (input.comment !== undefined) values.comment = input.comment;
    if (input.netbootOnce !== undefined) values.netbootOnce = input.netbootOnce;
    if (input.name !== undefined) values.name = input.name;
    const repoIds = input.repos === undefined ? undefined : await repoIdsByName(db, input.repos);
    return { values, repoIds };
  }

  async function replaceRepos(tx: Database, profileId: number, repoIds: number[] | undefined): Promise<void> {
    if (repoIds === undefined) return;
    await tx.delete(profileRepos).where(eq(profileRepos.profileId, profileId));
    if (repoIds.length > 0) await tx.insert(profileRepos).values(repoIds.map((repoId, position) => ({ profileId, repoId, position })));
  }

  async function view(name: string): Promise<ProfileView> {
    const graph = await loadProfileGraph(db);
    const row = graph.byName.get(name);
    if (row === undefined) throw notFound('profile', name);
    return toView(graph, row);
  }

  return {
    async list(): Promise<ProfileView[]> {
      const graph = await loadProfileGraph(db);
      return [...graph.byName.values()].map((row) => toView(graph, row));
    },
    /** One page, by name (the names in the database's order; the views from the whole graph, for inheritance). */
    async page(request: PageRequest): Promise<Page<ProfileView>> {
      const limit = pageLimit(request);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, ['string'] as const)[0];
      const names = await db
        .select({ name: profiles.name })
        .from(profiles)
        .where(after === undefined ? undefined : gt(profiles.name, after))
        .orderBy(asc(profiles.name))
        .limit(limit + 1);
      const graph = await loadProfileGraph(db);
      return pageOf(names, limit, (row) => [row.name], (row) => toView(graph, graph.byName.get(row.name)!));
    },
    get: view,
    async create(input: ProfileCreate, actor: Actor): Promise<ProfileView> {
      const graph = await loadProfileGraph(db);
      if (graph.byName.has(input.name)) throw new InventoryError('conflict', `profile "${input.name}" already exists`, 'name');
      const { values, repoIds } = await resolveReferences(input, graph, undefined);
      await mapWriteErrors('profile', input.name, () =>
        db.transaction(async (tx) => {
          const [row] = await tx.insert(profiles).values({ ...values, name: input.name }).returning({ id: profiles.id });
          await replaceRepos(tx as unknown as Database, row!.id, repoIds);
          await recordEvent(tx as unknown as Database, { kind: 'profile.created', objectType: 'profile', objectName: input.name, actor: actor.name });
        }),
      );
      return view(input.name);
    },
    async update(name: string, input: ProfileUpdate, actor: Actor): Promise<ProfileView> {
      const graph = await loadProfileGraph(db);
      const existing = graph.byName.get(name);
      if (existing === undefined) throw notFound('profile', name);
      const { values, repoIds } = await resolveReferences(input, graph, existing.id);
      const distroId = values.distroId !== undefined ? values.distroId : existing.distroId;
      const parentId = values.parentId !== undefined ? values.parentId : existing.parentId;
      if ((distroId === null) === (parentId === null)) {
        throw new InventoryError('invalid', 'distro: a profile has exactly one of distro or parent (set the other to null to switch)', 'distro');
      }
      const newName = input.name ?? name;
      await mapWriteErrors('profile', newName, () =>
        db.transaction(async (tx) => {
          await tx.update(profiles).set({ ...values, updatedAt: new Date() }).where(eq(profiles.id, existing.id));
          await replaceRepos(tx as unknown as Database, existing.id, repoIds);
          await recordEvent(tx as unknown as Database, {
            kind: 'profile.updated',
            objectType: 'profile',
            objectName: newName,
            actor: actor.name,
            detail: { fields: changedFields(input), ...(newName !== name ? { renamedFrom: name } : {}) },
          });
        }),
      );
      return view(newName);
    },
    async remove(name: string, actor: Actor): Promise<void> {
      const graph = await loadProfileGraph(db);
      const existing = graph.byName.get(name);
      if (existing === undefined) throw notFound('profile', name);
      const children = [...graph.byName.values()].filter((p) => p.parentId === existing.id).map((p) => `"${p.name}"`);
      const users = await db.select({ name: systems.name }).from(systems).where(eq(systems.profileId, existing.id));
      const dependents = [children.length ? `profiles ${children.join(', ')}` : '', users.length ? `systems ${users.map((u) => `"${u.name}"`).join(', ')}` : '']
        .filter(Boolean)
        .join(' and ');
      if (dependents) throw new InventoryError('in-use', `profile "${name}" is used by ${dependents}; remove or change those first`);
      await mapWriteErrors('profile', name, () =>
        db.transaction(async (tx) => {
          await tx.delete(profiles).where(eq(profiles.id, existing.id));
          await recordEvent(tx as unknown as Database, { kind: 'profile.removed', objectType: 'profile', objectName: name, actor: actor.name });
        }),
      );
    },
  };
}

export type ProfileRepository = ReturnType<typeof createProfileRepository>;
