// The inventory through the real HTTP API, on PGlite and (with DATABASE_URL) on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';

const BMC_PASSWORD = 'bmc-secret-Zq81x';

const distro = { name: 'rhel9', kernel: '/srv/rhel9/vmlinuz', initrd: '/srv/rhel9/initrd.img', arch: 'x86_64', breed: 'redhat', osVersion: '9', kernelOptions: 'inst.text' };
const system = {
  name: 'web01',
  profile: 'rhel9-web',
  interfaces: [{ name: 'eth0', mac: '52-54-00-12-34-56', ip: '127.0.0.11', hostname: 'web01.example.com', netmask: '255.255.255.0', gateway: '127.0.0.1' }],
  firmware: 'uefi',
  labels: { rack: 'r12' },
  power: [{ type: 'ipmi', address: '127.0.1.11', user: 'admin', password: BMC_PASSWORD, options: { cipher: '3' } }],
};

for (const database of testDatabases()) {
  describe(`inventory API on ${database.label}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(database);
    });
    after(async () => {
      await api?.close();
    });

    test('distro, repo, rescue environment and profile: create, read, list, update', async () => {
      assert.equal((await api.request('POST', '/api/v1/distros', { body: distro })).status, 201);
      assert.equal((await api.request('POST', '/api/v1/repos', { body: { name: 'appstream', mirror: 'http://mirror.example.com/appstream', arch: 'x86_64' } })).status, 201);
      const environment = await api.request('POST', '/api/v1/rescue-environments', {
        body: { name: 'debian-rescue', kernel: '/srv/rescue/vmlinuz', initrd: '/srv/rescue/initrd.gz', arch: 'x86_64', osFamilies: ['redhat', 'debian'] },
      });
      assert.equal(environment.status, 201);
      assert.deepEqual(environment.body.firmware, ['bios', 'uefi']);
      const base = await api.request('POST', '/api/v1/profiles', { body: { name: 'rhel9-base', distro: 'rhel9', repos: ['appstream'], rescuePolicy: 'repair-then-reinstall' } });
      assert.equal(base.status, 201, JSON.stringify(base.body));
      const web = await api.request('POST', '/api/v1/profiles', { body: { name: 'rhel9-web', parent: 'rhel9-base', kernelOptions: 'quiet' } });
      assert.equal(web.status, 201);
      assert.equal(web.body.effectiveDistro, 'rhel9', 'a child profile reaches the distro through its parent');
      assert.equal(web.body.effectiveRescuePolicy, 'repair-then-reinstall', 'and inherits the rescue policy');

      const edited = await api.request('PATCH', '/api/v1/distros/rhel9', { body: { kernelOptions: 'inst.text console=ttyS0' } });
      assert.equal(edited.status, 200);
      assert.equal(edited.body.kernelOptions, 'inst.text console=ttyS0');
      assert.equal(edited.body.kernel, distro.kernel, 'fields not given are kept');
      const list = await api.request('GET', '/api/v1/profiles');
      assert.deepEqual(list.body.map((p: { name: string }) => p.name), ['rhel9-base', 'rhel9-web']);
    });

    test('system: create with a MAC in any form, stored normalised; password never shown', async () => {
      const created = await api.request('POST', '/api/v1/systems', { body: system });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.interfaces[0].mac, '52:54:00:12:34:56');
      assert.equal(created.body.power[0].passwordSet, true);
      assert.equal(JSON.stringify(created.body).includes(BMC_PASSWORD), false);
      const read = await api.request('GET', '/api/v1/systems/web01');
      assert.equal(read.status, 200);
      assert.equal(read.body.firmware, 'uefi');
      assert.deepEqual(read.body.labels, { rack: 'r12' });
      assert.equal(JSON.stringify(read.body).includes(BMC_PASSWORD), false);
      // The password is stored encrypted, and decrypts for the power drivers only.
      const [target] = await api.inventory.systems.powerTargets('web01');
      assert.equal(target?.password, BMC_PASSWORD);
      for (const form of ['5254.0012.3457', '52:54:00:12:34:58'.toUpperCase()]) {
        const other = await api.request('POST', '/api/v1/systems', {
          body: { ...system, name: `db-${form.length}`, interfaces: [{ mac: form }], power: [], labels: {} },
        });
        assert.equal(other.status, 201, JSON.stringify(other.body));
      }
      // The boot path's one-statement lookups give the same view as a read by name.
      const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
      assert.deepEqual(plain(await api.inventory.systems.findByMac('52:54:00:12:34:56')), read.body);
      assert.deepEqual(plain(await api.inventory.systems.findByIp('127.0.0.11')), read.body);
      assert.deepEqual(plain(await api.inventory.systems.findByIp('::ffff:127.0.0.11')), read.body, 'as a dual-stack socket names an IPv4 client');
      const bare = await api.request('GET', '/api/v1/systems/db-14');
      assert.deepEqual(plain(await api.inventory.systems.findByMac('52:54:00:12:34:57')), bare.body, 'a system without BMCs');
      assert.equal(await api.inventory.systems.findByMac('52:54:00:99:99:99'), undefined);
      const filtered = await api.request('GET', '/api/v1/systems?label=rack=r12');
      assert.deepEqual(filtered.body.map((s: { name: string }) => s.name), ['web01']);
    });

    test('system: edit keeps the stored password, rename, then remove', async () => {
      const edited = await api.request('PATCH', '/api/v1/systems/web01', {
        body: { netbootEnabled: true, power: [{ type: 'ipmi', address: '127.0.1.99', user: 'admin', options: {} }] },
      });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.equal(edited.body.power[0].address, '127.0.1.99');
      assert.equal(edited.body.power[0].passwordSet, true, 'a power entry without password keeps the stored one');
      assert.equal((await api.inventory.systems.powerTargets('web01'))[0]?.password, BMC_PASSWORD);
      assert.deepEqual(edited.body.labels, { rack: 'r12' }, 'fields left out of a PATCH keep their values');
      assert.equal(edited.body.firmware, 'uefi');
      const onlyComment = await api.request('PATCH', '/api/v1/systems/web01', { body: { comment: 'moved to rack 14' } });
      assert.equal(onlyComment.body.power.length, 1, 'a PATCH without power leaves the BMCs alone');
      assert.equal(onlyComment.body.netbootEnabled, true);
      const renamed = await api.request('PATCH', '/api/v1/systems/web01', { body: { name: 'web01-old' } });
      assert.equal(renamed.body.name, 'web01-old');
      assert.equal((await api.request('DELETE', '/api/v1/systems/web01-old')).status, 204);
      assert.equal((await api.request('GET', '/api/v1/systems/web01-old')).status, 404);
      const events = await api.request('GET', '/api/v1/events?objectType=system&objectName=web01-old');
      assert.deepEqual(events.body.map((e: { kind: string }) => e.kind), ['system.removed', 'system.updated']);
      assert.equal(events.body[1].actor, 'token:test-admin');
    });

    test('bad inputs get a 4xx naming what was wrong, and change nothing', async () => {
      const before = await api.request('GET', '/api/v1/systems');
      const cases: Array<{ what: string; method: string; path: string; body?: unknown; rawBody?: string; status: number; mentions: string }> = [
        { what: 'malformed MAC', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad1', interfaces: [{ mac: '52:54:00:zz:34:56' }] }, status: 400, mentions: '52:54:00:zz:34:56' },
        { what: 'MAC with 5 octets', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad2', interfaces: [{ mac: '52:54:00:12:34' }] }, status: 400, mentions: 'interfaces.0.mac' },
        { what: 'unknown profile', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad3', profile: 'nope', interfaces: [{ mac: '52:54:00:00:00:03' }] }, status: 400, mentions: 'profile "nope"' },
        { what: 'unknown field', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad4', pasword: 'x', interfaces: [{ mac: '52:54:00:00:00:04' }] }, status: 400, mentions: 'pasword' },
        { what: 'duplicate MAC', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad5', interfaces: [{ mac: '5254.0012.3457' }] }, status: 409, mentions: '52:54:00:12:34:57' },
        { what: 'duplicate name', method: 'POST', path: '/api/v1/distros', body: distro, status: 409, mentions: 'rhel9' },
        { what: 'bad IP', method: 'POST', path: '/api/v1/systems', body: { ...system, name: 'bad6', interfaces: [{ mac: '52:54:00:00:00:06', ip: '127.0.0.300' }] }, status: 400, mentions: 'interfaces.0.ip' },
        { what: 'bad name', method: 'POST', path: '/api/v1/distros', body: { ...distro, name: 'has space' }, status: 400, mentions: 'name' },
        { what: 'broken JSON', method: 'POST', path: '/api/v1/distros', rawBody: '{"name": ', status: 400, mentions: 'JSON' },
        { what: 'profile with distro and parent', method: 'POST', path: '/api/v1/profiles', body: { name: 'p2', distro: 'rhel9', parent: 'rhel9-base' }, status: 400, mentions: 'exactly one of distro or parent' },
        { what: 'profile cycle', method: 'PATCH', path: '/api/v1/profiles/rhel9-base', body: { distro: null, parent: 'rhel9-web' }, status: 400, mentions: 'own ancestor' },
        { what: 'unknown system', method: 'GET', path: '/api/v1/systems/ghost', status: 404, mentions: 'system "ghost"' },
        { what: 'distro in use', method: 'DELETE', path: '/api/v1/distros/rhel9', status: 409, mentions: 'profiles "rhel9-base"' },
        { what: 'repo in use', method: 'DELETE', path: '/api/v1/repos/appstream', status: 409, mentions: 'rhel9-base' },
        { what: 'unknown route', method: 'GET', path: '/api/v1/nothing', status: 404, mentions: 'no route' },
      ];
      for (const c of cases) {
        const reply = await api.request(c.method, c.path, { body: c.body, rawBody: c.rawBody });
        assert.equal(reply.status, c.status, `${c.what}: ${JSON.stringify(reply.body)}`);
        assert.ok(String(reply.body.message).includes(c.mentions), `${c.what}: "${reply.body.message}" should mention ${c.mentions}`);
        assert.equal(JSON.stringify(reply.body).includes('    at '), false, `${c.what}: no stack trace in a reply`);
      }
      const afterwards = await api.request('GET', '/api/v1/systems');
      assert.deepEqual(afterwards.body, before.body, 'nothing changed');
      assert.equal((await api.request('GET', '/api/v1/distros/rhel9')).status, 200);
    });

    test('tokens and roles: 401 without a valid token, 403 for a role too low', async () => {
      assert.equal((await api.request('GET', '/api/v1/systems', { token: null })).status, 401);
      assert.equal((await api.request('GET', '/api/v1/systems', { token: 'rsd_not-a-real-token' })).status, 401);
      const viewer = await api.request('POST', '/api/v1/tokens', { body: { name: 'watcher', role: 'viewer' } });
      assert.equal(viewer.status, 201);
      assert.match(viewer.body.token, /^rsd_/);
      assert.equal((await api.request('GET', '/api/v1/systems', { token: viewer.body.token })).status, 200);
      const denied = await api.request('POST', '/api/v1/repos', { token: viewer.body.token, body: { name: 'r2', mirror: 'http://m/r2', arch: 'x86_64' } });
      assert.equal(denied.status, 403);
      assert.match(denied.body.message, /viewer/);
      const listed = await api.request('GET', '/api/v1/tokens');
      assert.equal(JSON.stringify(listed.body).includes(viewer.body.token), false, 'token list never shows tokens');
      assert.equal((await api.request('DELETE', '/api/v1/tokens/watcher')).status, 204);
      assert.equal((await api.request('GET', '/api/v1/systems', { token: viewer.body.token })).status, 401, 'a removed token stops working');
    });

    test('OpenAPI document and health', async () => {
      assert.equal((await api.request('GET', '/api/v1/openapi.json', { token: null })).status, 401, 'the document needs a viewer token like the rest of /api/v1');
      const openapi = await api.request('GET', '/api/v1/openapi.json');
      assert.equal(openapi.status, 200);
      assert.ok(openapi.body.paths['/api/v1/systems']);
      assert.ok(openapi.body.paths['/api/v1/systems/{name}'].patch);
      assert.ok(openapi.body.paths['/api/v1/systems'].post.requestBody);
      const health = await api.request('GET', '/healthz', { token: null });
      assert.equal(health.status, 503, 'Temporal is absent in this test, and /healthz says so');
      assert.equal(health.body.database.ok, true);
      assert.equal(health.body.temporal.ok, false);
    });

    test('no BMC password in any log line', () => {
      assert.ok(api.logs.length > 0, 'the server logged requests');
      assert.equal(api.logs.join('').includes(BMC_PASSWORD), false);
      assert.equal(api.logs.join('').includes(api.adminToken), false);
    });
  });
}
