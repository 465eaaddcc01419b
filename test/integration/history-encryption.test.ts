// Proof "History": a whole rescue (simulated machine, real ipmi_sim, real sshd, real broken ext4 image) on
// the Temporal dev server, with the history encrypted as production encrypts it. The raw history is read
// back without the codec, twice (an SDK client with no data converter, and the `temporal` CLI's JSON), and
// every byte of it, payloads included, is searched for the rescue's reason, labels, findings, addresses and
// secrets: none is there. Then the codec endpoint reads it back, with a token and only with one, and the
// CLI reads it through the endpoint (Temporal's own remote codec client, --codec-endpoint/--codec-auth).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { startRescueLab, addLabMachine, type LabMachine, type RescueLab } from '../support/rescue-lab.js';
import { testDatabases } from '../support/databases.js';
import { temporalCliForTests } from '../support/temporal.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createBrokenLabDisk } from '../../lab/vm/disks.js';
import { createEncryptionCodec, ENCRYPTED_ENCODING } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';
import type { RescueResult } from '../../workflows/rescue.js';

const execFileAsync = promisify(execFile);
type History = temporal.api.history.v1.IHistory;

/** Every string and every byte string in the history (payload data and metadata included), as text. */
function everyByteOf(value: unknown, out: string[] = []): string[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('latin1'), Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const item of value) everyByteOf(item, out);
  else if (typeof value === 'object') for (const item of Object.values(value as Record<string, unknown>)) everyByteOf(item, out);
  return out;
}

/** Every Payload in the history (anything with metadata and data), wherever it sits. */
function payloadsOf(value: unknown, out: temporal.api.common.v1.IPayload[] = []): temporal.api.common.v1.IPayload[] {
  if (value === null || value === undefined || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (Array.isArray(value)) {
    for (const item of value) payloadsOf(item, out);
    return out;
  }
  const record = value as Record<string, unknown>;
  if (record.metadata !== undefined && typeof record.metadata === 'object' && 'data' in record) out.push(record as temporal.api.common.v1.IPayload);
  else for (const item of Object.values(record)) payloadsOf(item, out);
  return out;
}

/** The CLI's JSON history as text, every base64 string (payload data and metadata) decoded beside itself. */
function cliCorpus(stdout: string): string {
  const strings = everyByteOf(JSON.parse(stdout));
  return strings.flatMap((text) => (/^[A-Za-z0-9+/]{4,}={0,2}$/.test(text) ? [text, Buffer.from(text, 'base64').toString('latin1')] : [text])).join('\n');
}

const base64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');

const database = testDatabases()[0]!;
describe('History: a finished rescue leaves nothing readable in Temporal but IDs and step names', () => {
  const uiOrigin = 'http://127.0.0.1:8233';
  const key = randomBytes(32);
  const codec = createEncryptionCodec({ keys: [{ id: 'history-test-1', key }], source: 'test' });
  let lab: RescueLab;
  let work: string;
  let web: LabMachine;
  let history: History;
  let done: RescueResult;
  let viewerToken: string;
  const reason = `disk alarm zq${randomBytes(4).toString('hex')} on rack 7`;
  const label = `label-value-${randomBytes(4).toString('hex')}`;
  const workflowId = 'rescue-hist01';
  const requester = `requester-${randomBytes(4).toString('hex')}`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'history-encryption-'));
    const disk = await createBrokenLabDisk('cleared-inode', { directory: work });
    lab = await startRescueLab(createSshRescueShell({ devicesFor: () => [disk.path], fileSystemAccess: 'debugfs' }), database, { payloadCodec: { codec, corsOrigins: [uiOrigin] } });
    await lab.startWorker();
    const setup: Array<[string, unknown]> = [
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
    ];
    for (const [path, body] of setup) assert.equal((await lab.api.request('POST', path, { body })).status, 201, path);
    web = await addLabMachine(lab, { name: 'hist01', profile: 'web', behaviour: { phonesHome: true, osHealthy: () => true, install: 'success' }, labels: { team: label } });
    const created = await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'history-viewer', role: 'viewer' } });
    assert.equal(created.status, 201);
    viewerToken = created.body.token;

    await lab.rescues.start({ system: 'hist01', reason, requestedBy: requester });
    // The production client (with the codec) reads the result in clear.
    done = (await new Client({ connection: lab.env.connection, dataConverter: rescuedDataConverter(codec) }).workflow.getHandle(workflowId).result()) as RescueResult;
    // Without the codec: a client with no data converter.
    history = await new Client({ connection: lab.env.connection }).workflow.getHandle(workflowId).fetchHistory();
  });
  after(async () => {
    await web?.stop();
    await lab?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** What must not be readable: the reason, the labels, the findings, the addresses and every secret. */
  async function plaintexts(): Promise<Array<[string, string]>> {
    const [run] = await lab.api.inventory.rescues.list({ system: 'hist01' });
    const findings = ((run?.diagnosisBeforeRepair as { findings: Array<{ id: string; summary: string; subject: string }> } | null)?.findings ?? []).filter((f) => f.summary.length > 8);
    assert.ok(findings.length > 0, 'the rescue found something to look for');
    return [
      ['reason', reason],
      ['label value', label],
      ['verify label (an address)', `127.0.0.1:${web.machine.osPort}`],
      ['MAC', web.mac],
      ['MAC (hyphens)', web.mac.replaceAll(':', '-')],
      ['loopback address (BMC, sshd, machine)', '127.0.0.1'],
      ['BMC user', web.bmc.username],
      ['BMC password', web.bmc.password],
      ['SSH private key', 'PRIVATE KEY'],
      ['admin token', lab.api.adminToken],
      ['viewer token', viewerToken],
      ['requested by', requester],
      ...findings.flatMap((f): Array<[string, string]> => [
        [`finding summary ${f.id}`, f.summary],
        [`finding subject ${f.id}`, f.subject],
      ]),
    ];
  }

  test('the rescue ran to its end, on an encrypted history', () => {
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status));
    const payloads = payloadsOf(history.events);
    const encrypted = payloads.filter((p) => Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString() === ENCRYPTED_ENCODING);
    assert.ok(encrypted.length > 30, `a whole rescue's payloads are encrypted (${encrypted.length} of ${payloads.length})`);
    // What stays in clear is what Temporal indexes: the search attributes (IDs and step names).
    const clear = payloads.filter((p) => !encrypted.includes(p)).map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
    const allowed = /^("(hist01|identifying|selecting|pushing|power-cycling|awaiting-phone-home|diagnosing|repairing|restoring|repaired|rescue-status-in-temporal|no-address-in-search-attributes|power-cycle-as-off-then-on|reissue-after-lost-workers)",?)+$/;
    for (const text of clear) assert.match(text.replace(/^\[|\]$/g, '').replace(/^\{"id":("[^"]+"),"deprecated":false\}$/, '$1'), allowed, `only IDs, step names and patch IDs in clear: ${text}`);
    const failures = JSON.stringify(history.events?.filter((e) => e.activityTaskFailedEventAttributes || e.workflowExecutionFailedEventAttributes) ?? []);
    assert.equal(/"message":"[^"]/.test(failures), false, 'failure messages are encoded, not in clear');
  });

  test('no plaintext of the reason, labels, findings, addresses or secrets in any byte of the raw history', async () => {
    const corpus = everyByteOf(history.events).join('\n');
    // The search reads payload bytes: the system's name, an ID left in clear in the search attributes, is found.
    assert.ok(corpus.includes('hist01'), 'the search sees the search attributes');
    for (const [what, text] of await plaintexts()) assert.equal(corpus.includes(text), false, `${what} ("${text}") is readable in the raw history: ${JSON.stringify(history.events?.filter((e) => everyByteOf(e).join('').includes(text)))}`);
  });

  test('the temporal CLI, without the codec, sees the same: nothing readable', async () => {
    const cli = await temporalCliForTests();
    const { stdout } = await execFileAsync(cli, ['workflow', 'show', '--address', lab.env.address, '--namespace', 'default', '-w', workflowId, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 });
    const corpus = cliCorpus(stdout);
    assert.ok(corpus.includes(ENCRYPTED_ENCODING), 'the CLI shows encrypted payloads');
    assert.ok(corpus.includes('"hist01"'), 'the search sees decoded payload bytes');
    for (const [what, text] of await plaintexts()) assert.equal(corpus.includes(text), false, `${what} is readable in the CLI's history`);
  });

  test('the codec endpoint reads it back with a viewer token, refuses without one, and answers the UI preflight', async () => {
    const encrypted = payloadsOf(history.events).filter((p) => Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString() === ENCRYPTED_ENCODING);
    const body = { payloads: encrypted.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, base64(v)])), data: base64(p.data) })) };
    const headers = { origin: uiOrigin, 'x-namespace': 'default' };

    const preflight = await fetch(`${lab.api.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: uiOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), uiOrigin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const stranger = await fetch(`${lab.api.url}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(stranger.status, 403);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);

    const anonymous = await fetch(`${lab.api.url}/codec/decode`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('access-control-allow-origin'), uiOrigin, 'the browser may read the 401');

    const decoded = await lab.api.request('POST', '/codec/decode', { token: viewerToken, body, headers });
    assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
    assert.equal(decoded.body.payloads.length, encrypted.length);
    const clear = (decoded.body.payloads as Array<{ data: string }>).map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
    for (const text of [reason, web.mac]) assert.ok(clear.includes(text), `decoded history holds "${text}"`);
    const [run] = await lab.api.inventory.rescues.list({ system: 'hist01' });
    const finding = (run?.diagnosisBeforeRepair as { findings: Array<{ summary: string }> }).findings[0]!;
    assert.ok(clear.includes(JSON.stringify(finding.summary).slice(1, -1)), 'and the findings');

    // A browser: the login page is public; /codec/session turns a viewer token into an HttpOnly cookie that the
    // UI's "include cross-origin credentials" sends with /decode (never with /encode).
    const page = await fetch(`${lab.api.url}/codec/login`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Include cross-origin credentials/);
    const session = await fetch(`${lab.api.url}/codec/session`, { method: 'POST', headers: { authorization: `Bearer ${viewerToken}` } });
    assert.equal(session.status, 204);
    const setCookie = session.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^rescued_codec=[^;]+; Path=\/codec; HttpOnly; SameSite=Lax; Max-Age=28800$/);
    const cookie = setCookie.split(';')[0]!;
    const withCookie = await fetch(`${lab.api.url}/codec/decode`, { method: 'POST', headers: { ...headers, cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(withCookie.status, 200);
    assert.equal(withCookie.headers.get('access-control-allow-credentials'), 'true');
    assert.ok(((await withCookie.json()) as { payloads: Array<{ data: string }> }).payloads.some((p) => Buffer.from(p.data, 'base64').toString().includes(reason)), 'the cookie reads the history');
    const cookieEncodes = await fetch(`${lab.api.url}/codec/encode`, { method: 'POST', headers: { ...headers, cookie, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(cookieEncodes.status, 401, 'a cookie never authorizes an encode');
    const forged = await fetch(`${lab.api.url}/codec/decode`, { method: 'POST', headers: { ...headers, cookie: 'rescued_codec=rsd_forged', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(forged.status, 401);
    assert.equal((await fetch(`${lab.api.url}/codec/session`, { method: 'POST' })).status, 401, 'a session needs a token');

    const wrongNamespace = await lab.api.request('POST', '/codec/decode', { token: viewerToken, body, headers: { 'x-namespace': 'other' } });
    assert.equal(wrongNamespace.status, 400);
    assert.match(wrongNamespace.body.message, /namespace "default", not "other"/);
    const viewerEncodes = await lab.api.request('POST', '/codec/encode', { token: viewerToken, body: { payloads: [] } });
    assert.equal(viewerEncodes.status, 403, 'encoding (signalling from the UI) needs an operator');
    const garbage = await lab.api.request('POST', '/codec/decode', { token: viewerToken, body: { payloads: [{ metadata: { encoding: base64(Buffer.from(ENCRYPTED_ENCODING)), 'encryption-key-id': base64(Buffer.from('retired-key')) }, data: base64(randomBytes(40)) }] } });
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.message, /sealed with key "retired-key", which this process does not have/);
  });

  test('the temporal CLI reads the history through the codec endpoint with a token (--codec-endpoint, TEMPORAL_CODEC_AUTH)', async () => {
    const cli = await temporalCliForTests();
    // The token goes in the environment (TEMPORAL_CODEC_AUTH, the CLI's own variable), never in the arguments.
    const show = (extra: string[], auth?: string) =>
      execFileAsync(cli, ['workflow', 'show', '--address', lab.env.address, '-w', workflowId, '--output', 'json', '--codec-endpoint', `${lab.api.url}/codec`, ...extra], {
        maxBuffer: 64 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? '', HOME: work, ...(auth ? { TEMPORAL_CODEC_AUTH: auth } : {}) },
      });
    const corpus = cliCorpus((await show([], `Bearer ${viewerToken}`)).stdout);
    assert.ok(corpus.includes(reason), 'the reason reads back through the endpoint');
    assert.ok(corpus.includes(web.mac), 'and the MAC');
    assert.equal(corpus.includes(ENCRYPTED_ENCODING), false, 'nothing is left encrypted');
    // Without a token the endpoint answers 401 (checked above); the CLI keeps asking until its deadline, then fails.
    await assert.rejects(show(['--command-timeout', '5s']), (error: Error & { stderr?: string }) => !`${error.stderr ?? ''}`.includes(reason) && /failed getting next history event/.test(error.stderr ?? ''));
  });
});
