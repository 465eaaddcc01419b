// Hostile input for what monitoring and machines send: random and mutated Alertmanager v4 payloads and
// generic alerts (Bearer and HMAC-signed) through the real webhook routes, and the machines' callbacks
// (a rescue's phone-home with a real one-time token, an install's status with a real install token).
// Never a 5xx (a 503 only naming a dependency that is down: Temporal is, here), never a stack trace; alert
// labels full of quotes, `$()` and newlines are stored and shown literally. Counts are printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { fuzzAsync, hostileString } from '../support/fuzz.js';
import { mutatedBody, type JsonValue } from '../support/json-mutations.js';
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { signBody } from '../../triggers/signature.js';

const RESCUE_MAC = '52:54:00:fc:00:01';
const INSTALL_MAC = '52:54:00:fc:00:02';
const HMAC_SECRET = 'fuzz-hmac-secret-0123456789';
const STACK_TRACE = /\n\s+at .+[(:]|\.ts:\d+|node:internal|node_modules|\bat async\b/;
let api: TestApi;
let webhookToken: string;
let phoneHomeToken: string;
let installToken: string;
let counter = 0;

before(async () => {
  api = await startTestApi(testDatabases()[0]!);
  const steps: Array<[string, unknown]> = [
    ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'redhat', osVersion: '9' }],
    ['/api/v1/templates', { name: 'ks', kind: 'kickstart', body: '%pre\ncurl "{{ status_url_started }}"\n%end\n' }],
    ['/api/v1/profiles', { name: 'p', distro: 'd', autoinstall: 'ks' }],
    ['/api/v1/rescue-environments', { name: 'r', kernel: 'r/vmlinuz', initrd: 'r/initrd', arch: 'x86_64', osFamilies: ['redhat'] }],
    ['/api/v1/systems', { name: 'rs01', profile: 'p', interfaces: [{ mac: RESCUE_MAC }] }],
    ['/api/v1/systems', { name: 'in01', profile: 'p', netbootEnabled: true, interfaces: [{ mac: INSTALL_MAC }] }],
  ];
  for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
  const token = await api.request('POST', '/api/v1/tokens', { body: { name: 'fuzz-hook', role: 'webhook', hmacSecret: HMAC_SECRET } });
  webhookToken = token.body.token;
  // A rescue's boot config with its one-time phone-home token, as the workflow's activity pushes it.
  const activities = createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: createRefusingAdmission() });
  await activities.pushRescueBootConfig({ system: 'rs01', environment: 'r', workflowId: 'rescue-rs01' });
  phoneHomeToken = /rescued\.token=(\S+)/.exec(await (await fetch(`${api.url}/boot/ipxe/${RESCUE_MAC}`)).text())?.[1] ?? '';
  assert.match(phoneHomeToken, /^[A-Za-z0-9_-]{32}$/);
  installToken = /started\?token=([A-Za-z0-9_-]+)/.exec(await (await fetch(`${api.url}/boot/autoinstall/in01`)).text())?.[1] ?? '';
  assert.ok(installToken.length > 10, 'the autoinstall file carries an install token');
});

after(async () => {
  await api?.close();
});

interface Reply {
  status: number;
  text: string;
}

async function post(path: string, raw: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
  return { status: response.status, text: await response.text() };
}

function assertSafe(what: string, reply: Reply, allowed: number[]): void {
  const where = `${what}: ${reply.status} ${reply.text.slice(0, 300)}`;
  assert.ok(!STACK_TRACE.test(reply.text), `a stack trace in the reply: ${where}`);
  assert.ok(allowed.includes(reply.status), `unexpected status: ${where}`);
  if (reply.status === 503) assert.match(reply.text, /"error":"unavailable"/, where);
  if (reply.status >= 400) {
    const body = JSON.parse(reply.text) as { error?: unknown; message?: unknown };
    assert.ok(typeof body.error === 'string' && typeof body.message === 'string' && body.message.length > 0, where);
  }
}

const hasProtoKey = (labels: object) => Object.prototype.hasOwnProperty.call(labels, '__proto__');
/** zod's record drops a "__proto__" key silently: the label would vanish from what is stored. It is refused instead. */
function assertRefusesProtoKey(reply: Reply): void {
  assertSafe('alertmanager with a "__proto__" label', reply, [400]);
  assert.match(reply.text, /__proto__/);
}

/** PostgreSQL cannot store U+0000: such a delivery is refused, naming the field (api/nul-characters.ts). */
function assertRefusesNul(reply: Reply): void {
  assertSafe('alertmanager with a NUL character', reply, [400]);
  assert.match(reply.text, /NUL character/);
}

const labelName = fc.oneof(
  { arbitrary: fc.constantFrom('alertname', 'instance', 'rescued_system', 'job', 'severity', 'constructor', 'toString', 'hasOwnProperty'), weight: 10 },
  { arbitrary: hostileString(3), weight: 10 },
  { arbitrary: fc.constant('__proto__'), weight: 1 },
);
const labelSet = fc.dictionary(labelName, hostileString(), { maxKeys: 6 });
const alertmanagerAlert = fc.record({
  status: fc.constantFrom('firing', 'resolved'),
  labels: labelSet,
  annotations: labelSet,
  startsAt: fc.oneof(fc.constant('2026-01-01T00:00:00Z'), hostileString(3)),
  endsAt: fc.constant('0001-01-01T00:00:00Z'),
  generatorURL: hostileString(3),
  fingerprint: fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${s}-${++counter}`),
});
const alertmanagerPayload = fc.record({
  version: fc.constant('4'),
  groupKey: hostileString(),
  truncatedAlerts: fc.nat({ max: 5 }),
  status: fc.constantFrom('firing', 'resolved'),
  receiver: hostileString(3),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: hostileString(3),
  alerts: fc.array(alertmanagerAlert, { maxLength: 12 }),
});

test('random Alertmanager v4 payloads: recorded, every label stored and shown literally', async () => {
  let alertsSent = 0;
  await fuzzAsync(
    'Alertmanager webhook (random v4 payloads)',
    alertmanagerPayload,
    async (payload) => {
      // JSON.parse keeps "__proto__" as an own key, as it arrives from the wire.
      const raw = JSON.stringify(payload);
      const reply = await post('/hooks/alertmanager', raw, { authorization: `Bearer ${webhookToken}` });
      const sets = [payload.groupLabels, payload.commonLabels, payload.commonAnnotations, ...payload.alerts.flatMap((a) => [a.labels, a.annotations])];
      // Validation (a "__proto__" key) answers before the NUL check, which runs just before the handler.
      if (sets.some(hasProtoKey)) return assertRefusesProtoKey(reply);
      if (raw.includes('\\u0000')) return assertRefusesNul(reply);
      assertSafe('alertmanager', reply, [200, 503]);
      if (reply.status !== 200) return;
      const body = JSON.parse(reply.text) as { recorded: number; alerts: Array<{ fingerprint: string }> };
      assert.equal(body.recorded, payload.alerts.length);
      assert.deepEqual(body.alerts.map((a) => a.fingerprint), payload.alerts.map((a) => a.fingerprint));
      alertsSent += payload.alerts.length;
    },
    Number(process.env.FUZZ_HOOK_RUNS ?? 100),
  );
  // What the API shows: each alert's labels exactly as sent (own keys, "__proto__" included, or refused above).
  const shown = await api.request('GET', '/api/v1/alerts?limit=1000');
  assert.equal(shown.status, 200);
  const byFingerprint = new Map((shown.body.alerts as Array<{ fingerprint: string; labels: Record<string, string> }>).map((a) => [a.fingerprint, a]));
  assert.ok(byFingerprint.size > 0 || alertsSent === 0);
  console.log(`fuzz: Alertmanager webhook: ${alertsSent} alerts recorded`);
  await fuzzAsync(
    'alert labels shown literally',
    fc.tuple(labelSet.filter((l) => Object.keys(l).length > 0), hostileString()),
    async ([labels, summary]) => {
      const fingerprint = `lit-${++counter}`;
      const payload = { version: '4', groupKey: 'g', status: 'firing', receiver: 'r', alerts: [{ status: 'firing', labels, annotations: { summary }, startsAt: '2026-01-01T00:00:00Z', fingerprint }] };
      const reply = await post('/hooks/alertmanager', JSON.stringify(payload), { authorization: `Bearer ${webhookToken}` });
      if (hasProtoKey(labels)) return assertRefusesProtoKey(reply);
      if (JSON.stringify(payload).includes('\\u0000')) return assertRefusesNul(reply);
      assertSafe('alertmanager', reply, [200, 503]);
      if (reply.status !== 200) return;
      const listed = await api.request('GET', '/api/v1/alerts?limit=5');
      const alert = (listed.body.alerts as Array<{ fingerprint: string; labels: Record<string, string>; annotations: Record<string, string> }>).find((a) => a.fingerprint === fingerprint);
      assert.ok(alert, `alert ${fingerprint} is listed`);
      assert.deepEqual(Object.entries(alert.labels).sort(), Object.entries(labels).sort());
      assert.equal(alert.annotations.summary, summary);
    },
    Number(process.env.FUZZ_HOOK_RUNS ?? 100),
  );
});

test('mutated Alertmanager and generic payloads, and any JSON at all: never 5xx, never a stack trace', async () => {
  const validAlertmanager = { version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'rescued', groupLabels: {}, commonLabels: { alertname: 'NodeDown' }, commonAnnotations: {}, externalURL: '', alerts: [{ status: 'firing', labels: { alertname: 'NodeDown', rescued_system: 'rs01' }, annotations: { summary: 'down' }, startsAt: '2026-01-01T00:00:00Z', endsAt: '', generatorURL: '', fingerprint: 'f1' }] } as JsonValue;
  const validGeneric = { system: 'rs01', hostname: 'rs01.example.com', mac: RESCUE_MAC, ip: '127.0.0.9', reason: 'disk failing', status: 'firing', id: 'g1' } as JsonValue;
  const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')));
  const cases: Array<[string, string, fc.Arbitrary<string>]> = [
    ['Alertmanager webhook (mutated)', '/hooks/alertmanager', mutatedBody(validAlertmanager).map((m) => m.raw)],
    ['Alertmanager webhook (any JSON or bytes)', '/hooks/alertmanager', anyJson],
    ['generic webhook (mutated)', '/hooks/generic', mutatedBody(validGeneric).map((m) => m.raw)],
    ['generic webhook (any JSON or bytes)', '/hooks/generic', anyJson],
  ];
  for (const [name, path, bodies] of cases) {
    await fuzzAsync(name, bodies, async (raw) => assertSafe(name, await post(path, raw, { authorization: `Bearer ${webhookToken}` }), [200, 400, 413, 503]), Number(process.env.FUZZ_HOOK_RUNS ?? 150));
  }
  // Signed deliveries: the right HMAC is accepted like a token, a wrong one is a 401 whatever the body.
  await fuzzAsync(
    'generic webhook (HMAC-signed, right and wrong signatures)',
    fc.tuple(fc.oneof(mutatedBody(validGeneric).map((m) => m.raw), anyJson), fc.boolean(), fc.string({ unit: 'grapheme-ascii', maxLength: 80 })),
    async ([raw, rightSignature, junk]) => {
      const signature = rightSignature ? signBody(HMAC_SECRET, raw) : fc.sample(fc.constantFrom(signBody('wrong-secret', raw), `sha256=${'0'.repeat(64)}`, junk, 'sha256='), 1)[0]!;
      const reply = await post('/hooks/generic', raw, { 'x-rescued-signature': signature.replace(/[\x00-\x1f\x7f]/g, '') });
      assertSafe('signed generic', reply, rightSignature ? [200, 400, 413, 503] : [401]);
    },
    Number(process.env.FUZZ_HOOK_RUNS ?? 150),
  );
});

test('a wrong signature is a 401 before anything is said about the body, a NUL character in it included', async () => {
  // Found by the property above: the NUL check answered 400 before the signature was checked.
  const raw = JSON.stringify({ system: '\u0000', reason: 'disk failing', status: 'firing', id: 'nul-1' });
  for (const signature of [signBody('wrong-secret', raw), '', 'sha256=']) {
    assert.equal((await post('/hooks/generic', raw, { 'x-rescued-signature': signature })).status, 401, `signature "${signature}"`);
  }
  const signed = await post('/hooks/generic', raw, { 'x-rescued-signature': signBody(HMAC_SECRET, raw) });
  assert.equal(signed.status, 400);
  assert.match(signed.text, /NUL character/);
});

test("a rescue's phone-home with its real token: mutated bodies are refused, at most one call is ever accepted", async () => {
  const valid = { token: phoneHomeToken, mac: RESCUE_MAC, ip: '127.0.0.1', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvUHSmC1ZsZkeZPmV2pCZhJ4aXzQO7JnOe7dLr4P5Zz root@rescue', sshPort: 22 } as JsonValue;
  const tokens = fc.oneof(fc.constant(phoneHomeToken), hostileString(3).map(encodeURIComponent), fc.constant(`${phoneHomeToken}x`), fc.constant(phoneHomeToken.toLowerCase()));
  let accepted = 0;
  await fuzzAsync(
    'phone-home (real token, mutated bodies and tokens)',
    fc.tuple(tokens, mutatedBody(valid)),
    async ([token, mutation]) => {
      const reply = await post(`/boot/rescue/${token}/ready`, mutation.raw);
      // 503: the workflow cannot be signalled (Temporal is down here): the call is not lost, it is answered so.
      assertSafe('phone-home', reply, [200, 400, 403, 404, 409, 503]);
      if (reply.status === 200) accepted += 1;
    },
    Number(process.env.FUZZ_CALLBACK_RUNS ?? 300),
  );
  assert.ok(accepted <= 1, `${accepted} phone-home calls were accepted with one one-time token`);
});

test("an install's status callbacks with its real token: hostile tokens and names never 5xx", async () => {
  const tokens = fc.oneof(fc.constant(installToken), hostileString(), fc.string({ maxLength: 200 }), fc.constant(`${installToken}%00`), fc.constant(''));
  const systems = fc.oneof(fc.constant('in01'), fc.constant('rs01'), hostileString(3));
  await fuzzAsync(
    'install status callbacks',
    fc.tuple(systems, fc.constantFrom('started', 'finished', 'failed'), tokens, fc.constantFrom('GET', 'POST'), fc.oneof(fc.constant(''), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)))),
    async ([system, phase, token, method, body]) => {
      const url = `${api.url}/boot/status/${encodeURIComponent(system)}/${phase}?token=${encodeURIComponent(token)}`;
      const response = await fetch(url, { method, ...(method === 'POST' && body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
      assertSafe(`status ${system} ${phase}`, { status: response.status, text: await response.text() }, [200, 400, 403, 404, 409]);
    },
    Number(process.env.FUZZ_CALLBACK_RUNS ?? 300),
  );
});
