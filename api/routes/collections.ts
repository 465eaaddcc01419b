// The five routes of an inventory collection: list, create, read, update (partial), remove.
// Reading needs a viewer token, changing needs an operator.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../auth.js';
import { objectName } from '../../inventory/schemas.js';
import type { Page, PageRequest } from '../../db/pagination.js';
import { pageQuery, sendPage } from '../pagination.js';

export const errorReply = z.object({ error: z.string(), message: z.string(), field: z.string().optional() });
const nameParams = z.object({ name: objectName });

export interface CollectionSpec<Create extends z.ZodType, Update extends z.ZodType, View extends z.ZodType, Query extends z.ZodObject<z.ZodRawShape>> {
  /** Path segment under /api/v1, e.g. "systems". */
  path: string;
  /** Singular name for the OpenAPI summary, e.g. "system". */
  noun: string;
  create: Create;
  update: Update;
  view: View;
  /** Filters of the list, besides `limit` and `cursor` (every list is paginated). */
  listQuery: Query;
  repository: {
    list(query: z.output<Query> & PageRequest): Promise<Page<z.input<View>>>;
    get(name: string): Promise<z.input<View>>;
    create(input: z.output<Create>, actor: { name: string }): Promise<z.input<View>>;
    update(name: string, input: z.output<Update>, actor: { name: string }): Promise<z.input<View>>;
    remove(name: string, actor: { name: string }): Promise<void>;
  };
}

export function registerCollection<Create extends z.ZodType, Update extends z.ZodType, View extends z.ZodType, Query extends z.ZodObject<z.ZodRawShape>>(
  parent: FastifyInstance,
  spec: CollectionSpec<Create, Update, View, Query>,
): void {
  // The validator and serializer compilers are zod's (api/server.ts); only the static types are not
  // inferred through this generic, so requests are read with their schema's output type below.
  const app = parent;
  type Named = { Params: { name: string } };
  const base = `/api/v1/${spec.path}`;
  const tags = [spec.path];
  const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply };

  app.get(base, {
    config: { role: 'viewer' },
    schema: {
      tags,
      summary: `List ${spec.path}, by name, a page at a time (next page: the x-next-cursor header)`,
      querystring: spec.listQuery.extend(pageQuery()),
      response: { 200: z.array(spec.view), ...failures },
    },
    handler: async (request, reply) => sendPage(request, reply, await spec.repository.list(request.query as z.output<Query> & PageRequest)),
  });
  app.post(base, {
    config: { role: 'operator' },
    schema: { tags, summary: `Add a ${spec.noun}`, body: spec.create, response: { 201: spec.view, ...failures } },
    handler: async (request, reply) => reply.code(201).send(await spec.repository.create(request.body as z.output<Create>, actorOf(request))),
  });
  app.get<Named>(`${base}/:name`, {
    config: { role: 'viewer' },
    schema: { tags, summary: `Report a ${spec.noun}`, params: nameParams, response: { 200: spec.view, ...failures } },
    handler: async (request) => spec.repository.get(request.params.name),
  });
  app.patch<Named>(`${base}/:name`, {
    config: { role: 'operator' },
    schema: { tags, summary: `Edit a ${spec.noun} (only the fields given change)`, params: nameParams, body: spec.update, response: { 200: spec.view, ...failures } },
    handler: async (request) => spec.repository.update(request.params.name, request.body as z.output<Update>, actorOf(request)),
  });
  app.delete<Named>(`${base}/:name`, {
    config: { role: 'operator' },
    schema: { tags, summary: `Remove a ${spec.noun}`, params: nameParams, response: { 204: z.null(), ...failures } },
    handler: async (request, reply) => {
      await spec.repository.remove(request.params.name, actorOf(request));
      return reply.code(204).send(null);
    },
  });
}
