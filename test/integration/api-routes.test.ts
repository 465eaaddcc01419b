// Deny by default, a complete OpenAPI document, and errors that are the caller's or name the dependency
// that is down: on the API exactly as `npm start` builds it (workers/api-server.ts through startTestApi).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { installBearerAuth, UnguardedRouteError } from '../../api/auth.js';
import { PUBLIC_ROUTES } from '../../api/public-routes.js';
import type { TokenRepository } from '../../db/repositories/tokens.js';

/** A concrete path for a route pattern: every :param and the wildcard get a harmless value. */
const concrete = (url: string) => url.replace(/:mac\b/g, '52:54:00:00:00:01').replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1');

describe('the API route table', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi(testDatabases()[0]!);
  });
  after(async () => {
    await api?.close();
  });

  test('every route names a role or is on the explicit public list, and no /api route is public', () => {
    const routes = api.app.registeredRoutes;
    assert.ok(routes.length > 40, `the whole API is registered (${routes.length} routes)`);
    for (const route of routes) {
      assert.ok(route.role !== undefined || PUBLIC_ROUTES.some((p) => p.url === route.url && (p.method === route.method || (route.method === 'HEAD' && p.method === 'GET'))), `${route.method} ${route.url} is neither`);
      assert.ok(!(route.public && route.url.startsWith('/api/')), `${route.method} ${route.url} is public under /api`);
    }
    for (const open of PUBLIC_ROUTES) {
      assert.ok(routes.some((r) => r.method === open.method && r.url === open.url && r.public), `public list entry ${open.method} ${open.url} is a registered route`);
    }
    assert.equal(routes.find((r) => r.url === '/api/v1/openapi.json' && r.method === 'GET')?.role, 'viewer');
  });

  test('a route registered with neither a role nor a place on the public list is refused at start', async () => {
    const app = Fastify();
    installBearerAuth(app, { authenticate: async () => undefined } as unknown as TokenRepository);
    assert.throws(() => app.get('/api/v1/forgotten', async () => ({})), UnguardedRouteError);
    assert.throws(() => app.post('/boot/ipxe/:mac', async () => ({})), /POST \/boot\/ipxe\/:mac names no role/);
    await app.close();
  });

  test('without a token, every route that needs a role answers 401 (walking the route table)', async () => {
    const guarded = api.app.registeredRoutes.filter((r) => !r.public && r.method !== 'HEAD');
    for (const route of guarded) {
      const reply = await api.request(route.method, concrete(route.url), { token: null, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} }) });
      assert.equal(reply.status, 401, `${route.method} ${route.url}: ${JSON.stringify(reply.body)}`);
    }
  });

  test('the OpenAPI document needs a viewer token and describes a reply schema for every operation', async () => {
    assert.equal((await api.request('GET', '/api/v1/openapi.json', { token: null })).status, 401);
    const { token: viewer } = await api.inventory.tokens.create({ name: 'doc-reader', role: 'viewer' }, { name: 'test' });
    const document = await api.request('GET', '/api/v1/openapi.json', { token: viewer });
    assert.equal(document.status, 200);
    const operations = Object.entries(document.body.paths as Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
    );
    assert.ok(operations.length > 40, `${operations.length} operations`);
    const incomplete: string[] = [];
    for (const { name, operation } of operations) {
      const responses = Object.entries(operation.responses ?? {});
      if (!responses.some(([code]) => code.startsWith('2'))) incomplete.push(`${name}: no success reply`);
      for (const [code, response] of responses) {
        if (code === '204') continue;
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema);
        if (schemas.length === 0 || schemas.some((s) => s === undefined)) incomplete.push(`${name} ${code}: no schema`);
      }
    }
    assert.deepEqual(incomplete, []);
  });

  test('GET /boot/files/%25 is a 404 naming the file, not a 500; a file with % in its name is served', async () => {
    const missing = await fetch(`${api.url}/boot/files/%25`);
    assert.equal(missing.status, 404, await missing.clone().text());
    assert.match(((await missing.json()) as { message: string }).message, /%/);
    await writeFile(join(api.tftpRoot, '100%.cfg'), 'all of it\n');
    const served = await fetch(`${api.url}/boot/files/100%25.cfg`);
    assert.equal(served.status, 200);
    assert.equal(await served.text(), 'all of it\n');
    const malformed = await fetch(`${api.url}/boot/files/%E0%A4%A`);
    assert.ok(malformed.status >= 400 && malformed.status < 500, `a malformed escape is the caller's mistake (${malformed.status})`);
  });

  test('Temporal unreachable: rescue routes answer 503 naming Temporal', async () => {
    assert.equal((await api.request('POST', '/api/v1/distros', { body: { name: 'd', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' } })).status, 201);
    assert.equal((await api.request('POST', '/api/v1/profiles', { body: { name: 'p', distro: 'd' } })).status, 201);
    assert.equal((await api.request('POST', '/api/v1/systems', { body: { name: 'down01', profile: 'p', interfaces: [{ mac: '52:54:00:00:10:01' }] } })).status, 201);
    for (const [method, path, body] of [
      ['POST', '/api/v1/rescues', { system: 'down01' }],
      ['GET', '/api/v1/rescues/down01', undefined],
      ['POST', '/api/v1/rescues/down01/abort', {}],
    ] as const) {
      const reply = await api.request(method, path, body === undefined ? {} : { body });
      assert.equal(reply.status, 503, `${method} ${path}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'unavailable');
      assert.match(reply.body.message, /^Temporal: /);
    }
  });
});

describe('the database down', () => {
  test('a request that needs the database is a 503 naming it', async () => {
    const api = await startTestApi(testDatabases()[0]!);
    try {
      await api.closeDatabase();
      const reply = await api.request('GET', '/api/v1/systems');
      assert.equal(reply.status, 503, JSON.stringify(reply.body));
      assert.match(reply.body.message, /^database: /);
      const machine = await fetch(`${api.url}/boot/ipxe/52:54:00:00:00:01`);
      assert.equal(machine.status, 503);
    } finally {
      await api.close();
    }
  });
});
