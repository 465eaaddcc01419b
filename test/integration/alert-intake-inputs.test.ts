// What senders really put in a webhook delivery, through the API as `npm start` builds it: the largest delivery
// the schema takes, text the database cannot store, the Authorization scheme in any case, and the spellings of
// a machine's name and address that monitoring uses. Without Temporal: the guard runs dry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.js';
import { ALERT_ROWS_PER_INSERT, createAlertRepository, type AlertRecordInput } from '../../db/repositories/alerts.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { alertmanagerPayload } from '../support/triggers-lab.js';
import { signBody } from '../../triggers/signature.js';

for (const database of testDatabases()) {
  describe(`alert intake inputs (${database.label})`, { timeout: 120_000 }, () => {
    let api: TestApi;
    let token: string;
    const alertCount = async () => Number(rowsOf<{ count: string | number }>(await api.db.execute(sql`select count(*) as count from alerts`))[0]!.count);
    const hook = (body: unknown, path = '/hooks/alertmanager') => api.request('POST', path, { body, token });

    before(async () => {
      api = await startTestApi(database);
      const setup: Array<[string, unknown]> = [
        ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'redhat', osVersion: '9' }],
        ['/api/v1/profiles', { name: 'p', distro: 'd' }],
        ['/api/v1/systems', { name: 'web01', profile: 'p', interfaces: [{ mac: '52:54:00:aa:bb:01', ip: '2001:db8::10', hostname: 'web01.example.com' }] }],
        ['/api/v1/systems', { name: 'db02', profile: 'p', interfaces: [{ mac: '52:54:00:aa:bb:02', ip: '127.0.0.2' }] }],
        // Two systems whose names differ only in case: an alert naming them in a third case names neither.
        ['/api/v1/systems', { name: 'twin', profile: 'p', interfaces: [{ mac: '52:54:00:aa:bb:03' }] }],
        ['/api/v1/systems', { name: 'TWIN', profile: 'p', interfaces: [{ mac: '52:54:00:aa:bb:04' }] }],
        // A name in mixed case, and an address typed in a spelling of its own: stored as 2001:db8::20.
        ['/api/v1/systems', { name: 'Mixed01', profile: 'p', interfaces: [{ mac: '52:54:00:aa:bb:05', ip: '2001:0DB8:0:0::0020' }] }],
      ];
      for (const [path, body] of setup) assert.equal((await api.request('POST', path, { body })).status, 201, path);
      assert.equal((await api.request('PATCH', '/api/v1/automation/settings', { body: { dryRun: true } })).status, 200);
      token = (await api.request('POST', '/api/v1/tokens', { body: { name: 'alertmanager', role: 'webhook' } })).body.token as string;
    });
    after(async () => {
      await api?.close();
    });

    test('a delivery of 10,000 alerts, the most the schema takes, is answered 200 and every alert recorded', async () => {
      assert.ok(10_000 > 2 * ALERT_ROWS_PER_INSERT, 'the delivery needs several INSERTs');
      const before = await alertCount();
      const payload = alertmanagerPayload(Array.from({ length: 10_000 }, (_, n) => ({ labels: { instance: `ghost${n}:9100` }, fingerprint: `big${n}` })));
      const reply = await hook(payload);
      assert.equal(reply.status, 200, JSON.stringify(reply.body).slice(0, 500));
      assert.equal(reply.body.recorded, 10_000);
      assert.equal(await alertCount(), before + 10_000);
      const ids = rowsOf<{ fingerprint: string }>(await api.db.execute(sql`select fingerprint from alerts where fingerprint like 'big%' order by id`)).map((r) => r.fingerprint);
      assert.deepEqual(ids, Array.from({ length: 10_000 }, (_, n) => `big${n}`), 'recorded in the order of the delivery');
    });

    test('rows past one INSERT are recorded all or none: a row the database refuses in the last statement leaves nothing behind', async () => {
      const before = await alertCount();
      const input = (n: number): AlertRecordInput => ({
        receiver: 'alertmanager',
        deliveredBy: 'test',
        fingerprint: `atomic${n}`,
        status: 'firing',
        alertName: 'NodeDown',
        labels: {},
        annotations: {},
        startsAt: null,
        system: null,
        decision: 'unknown-machine',
        // PostgreSQL's text cannot hold U+0000 (the API refuses it before; the repository is called directly here).
        reason: n === 2 * ALERT_ROWS_PER_INSERT ? 'refused \u0000' : 'no machine',
        workflowId: null,
      });
      const alerts = createAlertRepository(api.db);
      await assert.rejects(alerts.recordAll(Array.from({ length: 2 * ALERT_ROWS_PER_INSERT + 1 }, (_, n) => input(n))));
      assert.equal(await alertCount(), before, 'none of the rows is recorded');
      assert.equal((await alerts.recordAll(Array.from({ length: ALERT_ROWS_PER_INSERT + 1 }, (_, n) => input(n)))).length, ALERT_ROWS_PER_INSERT + 1);
    });

    test('a lone UTF-16 surrogate anywhere in a body is a 400 naming the field; a surrogate pair is a character like any other', async () => {
      const before = await alertCount();
      const inLabel = await api.request('POST', '/hooks/alertmanager', { token, rawBody: JSON.stringify(alertmanagerPayload([{ labels: { instance: 'db02:9100', note: 'x' } }])).replace('"x"', '"a\\ud800"') });
      assert.equal(inLabel.status, 400, JSON.stringify(inLabel.body));
      assert.equal(inLabel.body.field, 'alerts.0.labels.note');
      assert.match(inLabel.body.message, /lone UTF-16 surrogate \(\\ud800\)/);
      const lowAlone = await api.request('POST', '/hooks/alertmanager', { token, rawBody: JSON.stringify(alertmanagerPayload([{ labels: { instance: 'db02:9100' } }])).replace('"rescued"', '"\\udc00rescued"') });
      assert.equal(lowAlone.status, 400, JSON.stringify(lowAlone.body));
      assert.equal(lowAlone.body.field, 'receiver');
      const inKey = await api.request('POST', '/hooks/alertmanager', { token, rawBody: JSON.stringify(alertmanagerPayload([{ labels: { instance: 'db02:9100', note: 'x' } }])).replace('"note"', '"no\\udbffte"') });
      assert.equal(inKey.status, 400, JSON.stringify(inKey.body));
      assert.equal(inKey.body.field, 'alerts.0.labels.no\\udbffte', 'the key is named, the surrogate escaped');
      const generic = await api.request('POST', '/hooks/generic', { token, rawBody: '{"system":"db02","reason":"down \\ud800 x","status":"resolved"}' });
      assert.equal(generic.status, 400, JSON.stringify(generic.body));
      assert.equal(generic.body.field, 'reason');
      assert.match(generic.body.message, /surrogate/);
      assert.equal(await alertCount(), before, 'nothing recorded');
      const paired = await api.request('POST', '/hooks/alertmanager', { token, rawBody: JSON.stringify(alertmanagerPayload([{ labels: { instance: 'ghost:9100', note: 'x' } }])).replace('"x"', '"\\ud83d\\ude00 and \u{1F600}"') });
      assert.equal(paired.status, 200, JSON.stringify(paired.body));
    });

    test('the Authorization scheme in any case: bearer and BEARER are Bearer', async () => {
      const body = alertmanagerPayload([{ labels: { instance: 'ghost:9100' } }]);
      for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
        const reply = await api.request('POST', '/hooks/alertmanager', { token: null, headers: { authorization: `${scheme} ${token}` }, body });
        assert.equal(reply.status, 200, `${scheme}: ${JSON.stringify(reply.body)}`);
      }
      assert.equal((await api.request('POST', '/hooks/alertmanager', { token: null, headers: { authorization: `Basic ${token}` }, body })).status, 401, 'another scheme is not a bearer token');
      assert.equal((await api.request('POST', '/hooks/alertmanager', { token: null, headers: { authorization: `bearer rsd_${'x'.repeat(43)}` }, body })).status, 401, 'and the token is still checked');
    });

    test("an instance label names the machine the lookup found, whatever the case of its name, the spelling of its IP, or a URL's decoration", async () => {
      const cases: Array<[string, string | null]> = [
        ['WEB01:9100', 'web01'],
        ['Web01.Example.Com:9100', 'web01'],
        ['[2001:DB8::10]:9100', 'web01'],
        ['2001:0db8:0:0::0010', 'web01'],
        ['[2001:db8:0:0:0:0:0:10]:9100', 'web01'],
        ['DB02.lab.example:9100', 'db02'],
        ['[::ffff:127.0.0.2]:9100', 'db02'],
        ['https://db02:9100/metrics', 'db02'],
        ['http://[2001:db8::10]/', 'web01'],
        ['tcp://DB02:22', 'db02'],
        ['icmp://127.0.0.2', 'db02'],
        ['twin:9100', 'twin'],
        ['TWIN:9100', 'TWIN'],
        ['Twin:9100', null],
        ['MIXED01:9100', 'Mixed01'],
        ['mixed01', 'Mixed01'],
        ['[2001:db8::20]:9100', 'Mixed01'],
        ['2001:DB8:0::20', 'Mixed01'],
      ];
      const reply = await hook(alertmanagerPayload(cases.map(([instance], n) => ({ labels: { instance }, fingerprint: `form${n}` }))));
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(
        reply.body.alerts.map((a: { system: string | null }, n: number) => [cases[n]![0], a.system]),
        cases,
      );
      assert.match(reply.body.alerts[cases.findIndex(([instance]) => instance === 'Twin:9100')].reason, /no known machine matches instance="Twin"/);
      // Alone in its delivery, each alert is looked up by itself: no other alert of the delivery brings in the
      // rows of the systems it names (the deliveries that come together share one lookup).
      for (const [n, [instance, system]] of cases.entries()) {
        const alone = await hook(alertmanagerPayload([{ labels: { instance }, fingerprint: `alone${n}` }]));
        assert.equal(alone.body.alerts[0].system, system, `${instance} alone in its delivery: ${alone.body.alerts[0].reason}`);
      }
      const mixed = await api.request('GET', '/api/v1/systems/Mixed01');
      assert.equal(mixed.body.interfaces[0].ip, '2001:db8::20', 'the inventory stores the address in one spelling');
    });
    test('a body in another content type than JSON: 415 naming it, after the signature was checked over the bytes sent', async () => {
      const created = await api.request('POST', '/api/v1/tokens', { body: { name: 'scripts', role: 'webhook', hmacSecret: 'scripts-shared-secret-1' } });
      assert.equal(created.status, 201);
      const body = JSON.stringify({ system: 'db02', reason: 'host unreachable' });
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        const signed = await api.request('POST', '/hooks/generic', { rawBody: body, token: null, headers: { 'content-type': contentType, 'x-rescued-signature': signBody('scripts-shared-secret-1', body) } });
        assert.equal(signed.status, 415, JSON.stringify(signed.body));
        assert.match(signed.body.message, new RegExp(`sent as "${contentType}"; send it as application/json`));
        const bearer = await api.request('POST', '/hooks/alertmanager', { rawBody: JSON.stringify(alertmanagerPayload([{ labels: { instance: 'db02' } }])), token, headers: { 'content-type': contentType } });
        assert.equal(bearer.status, 415);
        // Without a valid signature or token, the content type is nobody's business: 401.
        const forged = await api.request('POST', '/hooks/generic', { rawBody: body, token: null, headers: { 'content-type': contentType, 'x-rescued-signature': signBody('another-secret-123', body) } });
        assert.equal(forged.status, 401);
      }
    });
  });
}
