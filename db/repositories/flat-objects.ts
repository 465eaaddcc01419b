// Distros, repos and rescue environments: objects with a name and fields, nothing nested.
import { eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { distros, profiles, repos, profileRepos, rescueEnvironments, systems, templates } from '../schema.js';
import { createNamedObjectRepository, type Actor } from './named-objects.js';
import { InventoryError } from '../../inventory/errors.js';
import type {
  DistroCreate,
  DistroUpdate,
  DistroView,
  RepoCreate,
  RepoUpdate,
  RepoView,
  RescueEnvironmentCreate,
  RescueEnvironmentUpdate,
  RescueEnvironmentView,
  TemplateCreate,
  TemplateUpdate,
  TemplateView,
} from '../../inventory/schemas.js';

const timestamps = (row: { createdAt: Date; updatedAt: Date }) => ({ createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() });

function namesOf(kind: string, rows: Array<{ name: string }>): string {
  return `${kind} ${rows.map((r) => `"${r.name}"`).join(', ')}`;
}

export function createDistroRepository(db: Database) {
  return createNamedObjectRepository<typeof distros, DistroCreate, DistroUpdate, DistroView>(db, {
    objectType: 'distro',
    table: distros,
    toView: (row) => ({
      name: row.name,
      kernel: row.kernel,
      initrd: row.initrd,
      arch: row.arch as DistroView['arch'],
      breed: row.breed as DistroView['breed'],
      osVersion: row.osVersion,
      kernelOptions: row.kernelOptions,
      comment: row.comment,
      ...timestamps(row),
    }),
    toInsert: (input) => input,
    toUpdate: (input) => input,
    usedBy: async (id) => namesOf('profiles', await db.select({ name: profiles.name }).from(profiles).where(eq(profiles.distroId, id))),
  });
}

export function createRepoRepository(db: Database) {
  return createNamedObjectRepository<typeof repos, RepoCreate, RepoUpdate, RepoView>(db, {
    objectType: 'repo',
    table: repos,
    toView: (row) => ({ name: row.name, mirror: row.mirror, arch: row.arch as RepoView['arch'], comment: row.comment, ...timestamps(row) }),
    toInsert: (input) => input,
    toUpdate: (input) => input,
    usedBy: async (id) =>
      namesOf(
        'profiles',
        await db.select({ name: profiles.name }).from(profileRepos).innerJoin(profiles, eq(profiles.id, profileRepos.profileId)).where(eq(profileRepos.repoId, id)),
      ),
  });
}

export function createRescueEnvironmentRepository(db: Database) {
  return createNamedObjectRepository<typeof rescueEnvironments, RescueEnvironmentCreate, RescueEnvironmentUpdate, RescueEnvironmentView>(db, {
    objectType: 'rescue-env',
    table: rescueEnvironments,
    toView: (row) => ({
      name: row.name,
      kernel: row.kernel,
      initrd: row.initrd,
      kernelArgs: row.kernelArgsTemplate,
      arch: row.arch as RescueEnvironmentView['arch'],
      firmware: row.firmware as RescueEnvironmentView['firmware'],
      osFamilies: row.osFamilies as RescueEnvironmentView['osFamilies'],
      osVersions: row.osVersions,
      capabilities: row.capabilities as RescueEnvironmentView['capabilities'],
      comment: row.comment,
      ...timestamps(row),
    }),
    toInsert: ({ kernelArgs, ...rest }) => ({ ...rest, kernelArgsTemplate: kernelArgs }),
    toUpdate: ({ kernelArgs, ...rest }) => ({ ...rest, ...(kernelArgs !== undefined ? { kernelArgsTemplate: kernelArgs } : {}) }),
    usedBy: async (id) => {
      const pinnedBySystems = await db.select({ name: systems.name }).from(systems).where(eq(systems.rescueEnvironmentId, id));
      const pinnedByProfiles = await db.select({ name: profiles.name }).from(profiles).where(eq(profiles.rescueEnvironmentId, id));
      return [pinnedByProfiles.length ? namesOf('profiles', pinnedByProfiles) : '', pinnedBySystems.length ? namesOf('systems', pinnedBySystems) : '']
        .filter(Boolean)
        .join(' and ');
    },
  });
}

export function createTemplateRepository(db: Database) {
  const repository = createNamedObjectRepository<typeof templates, TemplateCreate, TemplateUpdate, TemplateView>(db, {
    objectType: 'template',
    table: templates,
    toView: (row) => ({ name: row.name, kind: row.kind as TemplateView['kind'], body: row.body, comment: row.comment, ...timestamps(row) }),
    toInsert: (input) => input,
    toUpdate: (input) => input,
    usedBy: async () => 'profiles',
  });
  // Profiles name their template (no foreign key: a template may be added after the profile that names it
  // is planned), so removal and renaming check the profiles here.
  async function assertUnused(name: string, verb: string): Promise<void> {
    const users = await db.select({ name: profiles.name }).from(profiles).where(eq(profiles.autoinstallTemplate, name));
    if (users.length > 0) throw new InventoryError('in-use', `template "${name}" is used by ${namesOf('profiles', users)}; ${verb} needs them changed first`);
  }
  return {
    ...repository,
    async remove(name: string, actor: Actor) {
      await repository.get(name);
      await assertUnused(name, 'removing it');
      return repository.remove(name, actor);
    },
    async update(name: string, input: TemplateUpdate, actor: Actor) {
      if (input.name !== undefined && input.name !== name) await assertUnused(name, 'renaming it');
      return repository.update(name, input, actor);
    },
  };
}

export { timestamps };
