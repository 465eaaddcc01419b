// Network boot for operators: autoinstall templates, install status, previews of what a machine will
// boot and of its autoinstall file, and `boot sync`.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Inventory } from '../../db/inventory.js';
import * as schemas from '../../inventory/schemas.js';
import type { NetbootService } from '../../boot/netboot.js';
import type { InstallTracker } from '../../boot/install-status.js';
import { checkStoredTemplate, TemplateRenderError } from '../../boot/templates.js';
import { syncBootLoaders } from '../../boot/loaders.js';
import type { BootUrls } from '../../boot/boot-target.js';
import { renderPxelinuxConfig } from '../../boot/render/pxelinux.js';
import { renderGrubConfig } from '../../boot/render/grub.js';
import { renderIpxeScript } from '../../boot/render/ipxe.js';
import { HttpError } from '../errors.js';
import { errorReply, registerCollection } from './collections.js';
import { pageQuery, sendPage } from '../pagination.js';

export const bootStatus = z.object({
  system: z.string(),
  state: z.enum(['installing', 'stalled', 'finished', 'failed', 'idle']),
  netbootEnabled: z.boolean(),
  profile: z.string().nullable(),
  installStartedAt: z.string().nullable(),
  installFinishedAt: z.string().nullable(),
  lastFile: z.string().nullable(),
  lastFileAt: z.string().nullable(),
  lastFileProtocol: z.string().nullable(),
  lastClient: z.string().nullable(),
});

const bootFetchView = z.object({ at: z.string(), system: z.string().nullable(), mac: z.string().nullable(), clientAddress: z.string(), protocol: z.enum(['tftp', 'http']), file: z.string(), bytes: z.number(), outcome: z.string() });
const bootSyncReport = z.object({
  root: z.string(),
  copied: z.array(z.object({ file: z.string(), from: z.string() })),
  missing: z.array(z.object({ file: z.string(), package: z.string(), purpose: z.string(), message: z.string() })),
});
const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 503: errorReply };

export function registerNetbootRoutes(
  parent: FastifyInstance,
  dependencies: { inventory: Inventory; netboot: NetbootService; tracker: InstallTracker; urls: BootUrls; tftpRoot: string },
): void {
  const { inventory, netboot, tracker, urls } = dependencies;
  registerCollection(parent, {
    path: 'templates',
    noun: 'template',
    create: schemas.templateCreate,
    update: schemas.templateUpdate,
    view: schemas.templateView,
    listQuery: z.object({}),
    repository: {
      ...inventory.templates,
      list: (query) => inventory.templates.page(query),
      create: (input, actor) => {
        checkStoredTemplate(input.name, input.body, 'body');
        return inventory.templates.create(input, actor);
      },
      update: (name, input, actor) => {
        if (input.body !== undefined) checkStoredTemplate(name, input.body, 'body');
        return inventory.templates.update(name, input, actor);
      },
    },
  });

  const app = parent.withTypeProvider<ZodTypeProvider>();
  const systemParams = z.object({ name: schemas.objectName });
  app.get('/api/v1/status', {
    config: { role: 'viewer' },
    schema: { tags: ['status'], summary: 'Install status of every system (as cobbler status), by name, a page at a time', querystring: z.object(pageQuery()), response: { 200: z.array(bootStatus), 400: errorReply, 401: errorReply } },
    handler: async (request, reply) => sendPage(request, reply, await tracker.statusPage(request.query)),
  });
  app.get('/api/v1/systems/:name/status', {
    config: { role: 'viewer' },
    schema: { tags: ['status'], summary: "A system's install status", params: systemParams, response: { 200: bootStatus, 401: errorReply, 404: errorReply } },
    handler: async (request) => tracker.statusOf(request.params.name),
  });
  app.get('/api/v1/systems/:name/boot-fetches', {
    config: { role: 'viewer' },
    schema: {
      tags: ['status'],
      summary: 'Files the system fetched over TFTP and HTTP, newest first, a page at a time',
      params: systemParams,
      querystring: z.object(pageQuery(50)),
      response: { 200: z.array(bootFetchView), ...failures },
    },
    handler: async (request, reply) => sendPage(request, reply, await inventory.boot.fetchPage(request.params.name, request.query)),
  });
  app.get('/api/v1/systems/:name/boot-config', {
    config: { role: 'viewer' },
    schema: {
      tags: ['systems'],
      summary: 'What the system boots now, as pxelinux, GRUB or iPXE would see it (tokens masked)',
      params: systemParams,
      querystring: z.object({ format: z.enum(['pxelinux', 'grub', 'ipxe']).default('pxelinux') }),
      response: { 200: z.string().describe('the config as text/plain'), ...failures },
    },
    handler: async (request, reply) => {
      const target = await netboot.previewTargetForSystem(request.params.name);
      const render = { pxelinux: () => renderPxelinuxConfig(target), grub: () => renderGrubConfig(target, urls), ipxe: () => renderIpxeScript(target, urls) }[request.query.format];
      return reply.type('text/plain; charset=utf-8').send(render());
    },
  });
  app.get('/api/v1/systems/:name/autoinstall', {
    config: { role: 'viewer' },
    schema: { tags: ['systems'], summary: "Preview the system's rendered autoinstall file (its install token masked)", params: systemParams, response: { 200: z.string().describe('the rendered file as text/plain'), 422: errorReply, ...failures } },
    handler: async (request, reply) => {
      try {
        return reply.type('text/plain; charset=utf-8').send((await netboot.renderAutoinstall(request.params.name, 'preview')).body);
      } catch (error) {
        if (error instanceof TemplateRenderError) throw new HttpError(422, 'template', error.message);
        throw error;
      }
    },
  });
  app.post('/api/v1/boot/sync', {
    config: { role: 'admin' },
    schema: { tags: ['boot'], summary: 'Copy the boot loaders from the installed packages into the TFTP root (as cobbler sync)', response: { 200: bootSyncReport, ...failures } },
    handler: async () => syncBootLoaders(dependencies.tftpRoot),
  });
}
