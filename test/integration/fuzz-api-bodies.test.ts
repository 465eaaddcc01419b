// Hostile input for every POST/PUT/PATCH route of the API (the route table, so a new route without a
// sample body fails this test), through the real HTTP server: valid bodies mutated (wrong types, huge
// strings, deep nesting, prototype-pollution keys, added and removed fields) are answered 4xx with a
// message naming the field, never 5xx (503 only naming Temporal, which is down here, for a body that was
// valid), never a stack trace; nothing pollutes Object.prototype. Counts are printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { fuzzAsync } from '../support/fuzz.js';
import { mutatedBody, type JsonValue, type MutatedBody } from '../support/json-mutations.js';

const MAC = '52:54:00:fa:00:01';
let api: TestApi;
let counter = 0;
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

before(async () => {
  api = await startTestApi(testDatabases()[0]!);
  const seed: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
    ['/api/v1/templates', { name: 't', kind: 'preseed', body: 'd-i debian-installer/locale string en_US\n' }],
    ['/api/v1/repos', { name: 'rp', mirror: 'http://mirror.example/debian', arch: 'x86_64' }],
    ['/api/v1/profiles', { name: 'p', distro: 'd' }],
    ['/api/v1/rescue-environments', { name: 'r', kernel: 'r/vmlinuz', initrd: 'r/initrd', arch: 'x86_64', osFamilies: ['debian'] }],
    ['/api/v1/systems', { name: 's1', profile: 'p', interfaces: [{ mac: MAC }] }],
  ];
  for (const [path, body] of seed) assert.equal((await api.request('POST', path, { body })).status, 201, path);
});

after(async () => {
  await api?.close();
});

interface Sample {
  path: string;
  body: () => JsonValue;
  token?: 'webhook';
}
const unique = (prefix: string) => `${prefix}-${++counter}`;

/** A valid request for each route; the keys are the route table's "METHOD url". */
const SAMPLES: Record<string, Sample> = {
  'POST /api/v1/distros': { path: '/api/v1/distros', body: () => ({ name: unique('fd'), kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12', kernelOptions: 'console=ttyS0 quiet', comment: 'fuzz' }) },
  'PATCH /api/v1/distros/:name': { path: '/api/v1/distros/d', body: () => ({ kernelOptions: 'quiet', comment: 'c' }) },
  'POST /api/v1/profiles': { path: '/api/v1/profiles', body: () => ({ name: unique('fp'), distro: 'd', kernelOptions: 'a=b', repos: ['rp'], rescuePolicy: 'repair', netbootOnce: true, comment: '' }) },
  'PATCH /api/v1/profiles/:name': { path: '/api/v1/profiles/p', body: () => ({ kernelOptions: 'x=1', repos: ['rp'], autoinstall: 't', rescueEnvironment: 'r' }) },
  'POST /api/v1/systems': {
    path: '/api/v1/systems',
    body: () => {
      const n = ++counter;
      const mac = `52:54:00:fb:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
      return { name: `fs-${n}`, profile: 'p', interfaces: [{ name: 'eth0', mac, ip: '127.0.0.5', hostname: 'fs.example.com', netmask: '24', gateway: '127.0.0.1' }], arch: 'x86_64', firmware: 'uefi', netbootEnabled: false, labels: { rack: 'r1' }, kernelOptions: 'quiet', power: [{ type: 'ipmi', address: '127.0.1.5', port: 623, user: 'admin', password: 'pw', options: { privlvl: 'ADMINISTRATOR' } }], comment: '' };
    },
  },
  'PATCH /api/v1/systems/:name': { path: '/api/v1/systems/s1', body: () => ({ labels: { rack: 'r2', 'team/x': 'y' }, kernelOptions: 'console=ttyS0', netbootEnabled: false, comment: 'patched' }) },
  'POST /api/v1/repos': { path: '/api/v1/repos', body: () => ({ name: unique('fr'), mirror: 'https://mirror.example/x', arch: 'aarch64', comment: '' }) },
  'PATCH /api/v1/repos/:name': { path: '/api/v1/repos/rp', body: () => ({ mirror: 'http://mirror.example/y', comment: 'c' }) },
  'POST /api/v1/rescue-environments': { path: '/api/v1/rescue-environments', body: () => ({ name: unique('fe'), kernel: 'r/vmlinuz', initrd: 'r/initrd', kernelArgs: 'console=ttyS0', arch: 'x86_64', firmware: ['bios'], osFamilies: ['debian'], osVersions: ['12'], capabilities: ['ssh'], comment: '' }) },
  'PATCH /api/v1/rescue-environments/:name': { path: '/api/v1/rescue-environments/r', body: () => ({ kernelArgs: 'quiet', osVersions: ['*'] }) },
  'POST /api/v1/tokens': { path: '/api/v1/tokens', body: () => ({ name: unique('ft'), role: 'webhook', hmacSecret: 'a-secret-of-sixteen-chars' }) },
  'POST /boot/status/:system/started': { path: '/boot/status/s1/started?token=abc', body: () => ({}) },
  'POST /boot/status/:system/finished': { path: '/boot/status/s1/finished?token=abc', body: () => ({ ok: true }) },
  'POST /boot/status/:system/failed': { path: '/boot/status/s1/failed', body: () => ({}) },
  'POST /api/v1/templates': { path: '/api/v1/templates', body: () => ({ name: unique('ftp'), kind: 'kickstart', body: 'text\nreboot\n', comment: '' }) },
  'PATCH /api/v1/templates/:name': { path: '/api/v1/templates/t', body: () => ({ body: 'd-i x string y\n', comment: 'c' }) },
  'POST /api/v1/boot/sync': { path: '/api/v1/boot/sync', body: () => ({}) },
  'POST /api/v1/systems/:name/power': { path: '/api/v1/systems/s1/power', body: () => ({ action: 'cycle' }) },
  'POST /api/v1/systems/:name/bootdev': { path: '/api/v1/systems/s1/bootdev', body: () => ({ device: 'pxe', uefi: true }) },
  'POST /api/v1/rescues': { path: '/api/v1/rescues', body: () => ({ system: 's1', reason: 'disk full', force: false }) },
  'POST /api/v1/rescues/:system/approve': { path: '/api/v1/rescues/s1/approve', body: () => ({ comment: 'ok' }) },
  'POST /api/v1/rescues/:system/reject': { path: '/api/v1/rescues/s1/reject', body: () => ({ comment: 'no' }) },
  'POST /api/v1/rescues/:system/abort': { path: '/api/v1/rescues/s1/abort', body: () => ({ reason: 'stop' }) },
  'POST /api/v1/rescues/:system/close': { path: '/api/v1/rescues/s1/close', body: () => ({ reason: 'done by hand' }) },
  'POST /boot/rescue/:token/ready': { path: '/boot/rescue/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/ready', body: () => ({ token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', mac: MAC, ip: '127.0.0.5', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1 root@rescue', sshPort: 22 }) },
  'POST /hooks/alertmanager': {
    path: '/hooks/alertmanager',
    body: () => ({ version: '4', groupKey: '{}:{alertname="NodeDown"}', truncatedAlerts: 0, status: 'firing', receiver: 'rescued', groupLabels: { alertname: 'NodeDown' }, commonLabels: { alertname: 'NodeDown' }, commonAnnotations: {}, externalURL: 'http://am:9093', alerts: [{ status: 'firing', labels: { alertname: 'NodeDown', instance: 's1:9100', rescued_system: 's1' }, annotations: { summary: 'down' }, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom/graph', fingerprint: unique('fp') }] }),
  },
  'POST /hooks/generic': { path: '/hooks/generic', body: () => ({ system: 's1', reason: 'disk failing', status: 'firing', id: unique('g') }) },
  'POST /api/v1/automation/pause': { path: '/api/v1/automation/pause', body: () => ({ reason: 'fuzzing' }) },
  'POST /api/v1/automation/resume': { path: '/api/v1/automation/resume', body: () => ({}) },
  'PATCH /api/v1/automation/settings': { path: '/api/v1/automation/settings', body: () => ({ maxInFlight: 5, maxPerGroup: { rack: 2 }, correlationMachines: 3, brakeShare: 0.5 }) },
  'POST /api/v1/automation/incidents/:id/close': { path: '/api/v1/automation/incidents/1/close', body: () => ({}) },
  'POST /api/v1/maintenance': { path: '/api/v1/maintenance', body: () => ({ system: 's1', endsAt: '2099-01-01T00:00:00Z', reason: 'window' }) },
  'POST /api/v1/audits': { path: '/api/v1/audits', body: () => ({}) },
  'PATCH /api/v1/audits/schedule': { path: '/api/v1/audits/schedule', body: () => ({ every: '24h', paused: true }) },
  'POST /codec/session': { path: '/codec/session', body: () => ({}) },
  'POST /codec/decode': { path: '/codec/decode', body: () => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"fuzz"').toString('base64') }] }) },
  'POST /codec/encode': { path: '/codec/encode', body: () => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"fuzz"').toString('base64') }] }) },
};

const STACK_TRACE = /\n\s+at .+[(:]|\.ts:\d+|node:internal|node_modules|\bat async\b/;

/** The keys a message may use to name the field a mutation touched. */
function fieldNames(mutation: MutatedBody): string[] {
  // Array indices are too common in any text to count as naming a field.
  const names = mutation.path.filter((step): step is string => typeof step === 'string');
  if (mutation.addedKey !== undefined) names.push(mutation.addedKey);
  return names;
}

async function send(method: string, sample: Sample, raw: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${api.url}${sample.path}`, { method, headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' }, body: raw });
  return { status: response.status, text: await response.text() };
}

function assertAnswer(route: string, mutation: MutatedBody, reply: { status: number; text: string }): void {
  const where = `${route} with ${mutation.description} at ${JSON.stringify(mutation.path)}: ${reply.status} ${reply.text.slice(0, 300)}`;
  assert.ok(!STACK_TRACE.test(reply.text), `a stack trace in the reply: ${where}`);
  assert.ok(reply.status < 500 || reply.status === 503, where);
  if (reply.status === 503) assert.match(reply.text, /"error":"unavailable".*[Tt]emporal/, where);
  if (reply.status >= 400) {
    const body = JSON.parse(reply.text) as { error?: unknown; message?: unknown; field?: unknown };
    assert.equal(typeof body.error, 'string', where);
    assert.ok(typeof body.message === 'string' && body.message.length > 0, where);
    // A 400 about the body names the field the mutation touched (or, for the body as a whole, says so).
    if (reply.status === 400 && mutation.path.length > 0 && /^invalid body/.test(body.message as string)) {
      const names = fieldNames(mutation);
      if (names.length === 0) return;
      const text = `${String(body.field ?? '')} ${body.message as string}`;
      assert.ok(names.some((name) => text.includes(name)), `the 400 does not name ${JSON.stringify(names)}: ${where}`);
    }
  }
}

test('every POST/PUT/PATCH route has a sample body here (a new route must be fuzzed too)', () => {
  const routes = api.app.registeredRoutes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method)).map((r) => `${r.method} ${r.url}`);
  assert.ok(routes.length >= 30, `only ${routes.length} routes`);
  assert.deepEqual(routes.filter((r) => !(r in SAMPLES)), [], 'routes without a sample body');
});

test('mutated bodies on every POST/PUT/PATCH route: 4xx naming the field, never 5xx, never a stack trace', async () => {
  const statuses = new Map<number, number>();
  let total = 0;
  for (const [route, sample] of Object.entries(SAMPLES)) {
    const method = route.split(' ')[0]!;
    // Valid first: the sample is accepted (or refused for a reason that is not its shape).
    const valid = await send(method, sample, JSON.stringify(sample.body()));
    assertAnswer(route, { raw: '', path: [], description: 'the valid sample' }, valid);
    assert.ok(valid.status !== 400 || !valid.text.includes('invalid body'), `${route}: the sample is not valid: ${valid.text}`);
    total += await fuzzAsync(
      route,
      fc.constant(null).chain(() => mutatedBody(sample.body())),
      async (mutation) => {
        const reply = await send(method, sample, mutation.raw);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        assertAnswer(route, mutation, reply);
      },
      Number(process.env.FUZZ_API_RUNS ?? 100),
    );
  }
  console.log(`fuzz: API bodies: ${total} mutated bodies over ${Object.keys(SAMPLES).length} routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore, 'Object.prototype was changed');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
});
