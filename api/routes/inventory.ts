// The inventory's collections under /api/v1, plus a system's install history and events.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Inventory } from '../../db/inventory.js';
import * as schemas from '../../inventory/schemas.js';
import { registerCollection, errorReply } from './collections.js';
import { pageQuery, sendPage } from '../pagination.js';
import { checkStoredTemplate } from '../../boot/templates.js';
import { checkPowerOptions } from '../../power/option-policy.js';

const noQuery = z.object({});
const systemListQuery = z.object({
  profile: schemas.objectName.optional(),
  /** label=key=value, repeatable as a comma-separated list: rack=r1,row=3 */
  label: z
    .string()
    .regex(/^[^=,]+=[^=,]*(,[^=,]+=[^=,]*)*$/, 'must be key=value[,key=value...]')
    .optional(),
});

function parseLabelFilter(label: string | undefined): Record<string, string> | undefined {
  if (label === undefined) return undefined;
  return Object.fromEntries(label.split(',').map((pair) => pair.split('=') as [string, string]));
}

export function registerInventoryRoutes(parent: FastifyInstance, inventory: Inventory): void {
  registerCollection(parent, {
    path: 'distros',
    noun: 'distro',
    create: schemas.distroCreate,
    update: schemas.distroUpdate,
    view: schemas.distroView,
    listQuery: noQuery,
    repository: { ...inventory.distros, list: (query) => inventory.distros.page(query) },
  });
  registerCollection(parent, {
    path: 'profiles',
    noun: 'profile',
    create: schemas.profileCreate,
    update: schemas.profileUpdate,
    view: schemas.profileView,
    listQuery: noQuery,
    repository: { ...inventory.profiles, list: (query) => inventory.profiles.page(query) },
  });
  registerCollection(parent, {
    path: 'systems',
    noun: 'system',
    create: schemas.systemCreate,
    update: schemas.systemUpdate,
    view: schemas.systemView,
    listQuery: systemListQuery,
    repository: {
      list: (query) => inventory.systems.page({ profile: query.profile, label: parseLabelFilter(query.label), limit: query.limit, cursor: query.cursor }),
      get: (name) => inventory.systems.get(name),
      create: async (input, actor) => {
        await checkPowerOptions(input.power);
        return inventory.systems.create(input, actor);
      },
      update: async (name, input, actor) => {
        await checkPowerOptions(input.power);
        return inventory.systems.update(name, input, actor);
      },
      remove: (name, actor) => inventory.systems.remove(name, actor),
    },
  });
  registerCollection(parent, {
    path: 'repos',
    noun: 'repo',
    create: schemas.repoCreate,
    update: schemas.repoUpdate,
    view: schemas.repoView,
    listQuery: noQuery,
    repository: { ...inventory.repos, list: (query) => inventory.repos.page(query) },
  });
  registerCollection(parent, {
    path: 'rescue-environments',
    noun: 'rescue environment',
    create: schemas.rescueEnvironmentCreate,
    update: schemas.rescueEnvironmentUpdate,
    view: schemas.rescueEnvironmentView,
    listQuery: noQuery,
    repository: {
      ...inventory.rescueEnvironments,
      list: (query) => inventory.rescueEnvironments.page(query),
      create: (input, actor) => {
        checkStoredTemplate(`rescue-env ${input.name} kernel args`, input.kernelArgs, 'kernelArgs');
        return inventory.rescueEnvironments.create(input, actor);
      },
      update: (name, input, actor) => {
        if (input.kernelArgs !== undefined) checkStoredTemplate(`rescue-env ${name} kernel args`, input.kernelArgs, 'kernelArgs');
        return inventory.rescueEnvironments.update(name, input, actor);
      },
    },
  });

  const app = parent.withTypeProvider<ZodTypeProvider>();
  app.get('/api/v1/systems/:name/install-history', {
    config: { role: 'viewer' },
    schema: {
      tags: ['systems'],
      summary: "A system's installs, newest first, a page at a time",
      params: z.object({ name: schemas.objectName }),
      querystring: z.object(pageQuery()),
      response: { 200: z.array(schemas.installRecordView), 400: errorReply, 401: errorReply, 404: errorReply },
    },
    handler: async (request, reply) => sendPage(request, reply, await inventory.installHistory.page(request.params.name, request.query)),
  });
  app.get('/api/v1/events', {
    config: { role: 'viewer' },
    schema: {
      tags: ['events'],
      summary: 'What changed, newest first, a page at a time',
      querystring: z.object({
        objectType: z.string().max(64).optional(),
        objectName: z.string().max(128).optional(),
        ...pageQuery(),
      }),
      response: { 200: z.array(schemas.eventView), 400: errorReply, 401: errorReply },
    },
    handler: async (request, reply) => sendPage(request, reply, await inventory.events.page(request.query)),
  });
}
