// The Alertmanager poller's own rules: which alerts count as received already (by fingerprint and the instant
// they started, whichever way it was written), that no log line holds the URL's credentials, and
// Alertmanager's matcher syntax. The poller against a real Alertmanager: test/integration/triggers-alertmanager.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertReceiptKey, alertStartInstant, type AlertRepository } from '../../db/repositories/alerts.js';
import { pollAlertmanagerOnce, startAlertmanagerPoller } from '../../triggers/alertmanager-poller.js';
import { parseAlertmanagerMatcher } from '../../triggers/alertmanager-settings.js';
import { withoutUrlCredentials } from '../../secrets/redact.js';
import type { AlertIntake } from '../../triggers/alert-intake.js';

test("an alert's start is the same instant as the webhook (RFC3339Nano) and the API v2 (milliseconds) write it", () => {
  // [webhook, API v2]: what Alertmanager v0.31 sends for one start (Go cuts, not rounds, the nanoseconds).
  const pairs: Array<[string, string]> = [
    ['2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['2026-01-01T10:00:00.123456789Z', '2026-01-01T10:00:00.123Z'],
    ['2026-01-01T10:00:00.999999999Z', '2026-01-01T10:00:00.999Z'],
    ['2026-01-01T10:00:00.5+02:00', '2026-01-01T10:00:00.500+02:00'],
    ['2026-01-01T10:00:00.5+02:00', '2026-01-01T08:00:00.500Z'],
    ['2025-12-31T23:30:00.01-01:00', '2026-01-01T00:30:00.010Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ];
  for (const [webhook, api] of pairs) {
    assert.equal(alertReceiptKey('f1', webhook), alertReceiptKey('f1', api), `${webhook} = ${api}`);
    assert.equal(alertStartInstant(webhook), alertStartInstant(api));
  }
  assert.equal(alertStartInstant('2026-01-01T10:00:00.123456789Z'), Date.parse('2026-01-01T10:00:00.123Z'));
  assert.equal(alertStartInstant('0001-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z'));
  // Another instant, another fingerprint, another firing.
  assert.notEqual(alertReceiptKey('f1', '2026-01-01T10:00:00.124Z'), alertReceiptKey('f1', '2026-01-01T10:00:00.123456789Z'));
  assert.notEqual(alertReceiptKey('f1', '2026-01-01T10:00:00Z'), alertReceiptKey('f2', '2026-01-01T10:00:00Z'));
  // No time at all: compared as text (a generic webhook's alert has none).
  assert.equal(alertStartInstant('2026-02-30T10:00:00Z'), undefined);
  assert.equal(alertStartInstant('yesterday'), undefined);
  assert.equal(alertReceiptKey('f1', 'yesterday'), alertReceiptKey('f1', 'yesterday'));
  assert.notEqual(alertReceiptKey('f1', 'yesterday'), alertReceiptKey('f1', null));
});

test('no message or log line of the poller shows the credentials of its URL', async () => {
  assert.equal(withoutUrlCredentials('at http://rescued:s3cret-pw@am:9093/api and https://s3cret@other/'), 'at http://[redacted]@am:9093/api and https://[redacted]@other/');
  assert.equal(withoutUrlCredentials('http://rescued:s3c@ret@am:9093'), 'http://[redacted]@am:9093');
  assert.equal(withoutUrlCredentials('http://am:9093/api?x=a@b'), 'http://am:9093/api?x=a@b');
  const unused = {} as AlertIntake & AlertRepository;
  const options = { url: 'http://rescued:s3cret-pw@127.0.0.1:1', intervalMs: 20, filter: [], intake: unused, alerts: unused };
  await assert.rejects(pollAlertmanagerOnce(options), (e: Error) => /holds credentials/.test(e.message) && !e.message.includes('s3cret'));
  const lines: string[] = [];
  const stop = startAlertmanagerPoller({ ...options, log: (line) => lines.push(line) });
  while (lines.length < 2) await new Promise((r) => setTimeout(r, 10));
  await stop();
  assert.ok(lines.every((line) => line.includes('http://[redacted]@127.0.0.1:1') && !line.includes('s3cret')), lines.join('\n'));
});

test("Alertmanager's matchers: label name, operator, value (quoted or not, escapes read)", () => {
  const read = (text: string) => {
    const parsed = parseAlertmanagerMatcher(text);
    assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.reason}`);
    return parsed.matcher;
  };
  assert.deepEqual(read('severity="critical"'), { name: 'severity', operator: '=', value: 'critical' });
  assert.deepEqual(read(' job != node '), { name: 'job', operator: '!=', value: 'node' });
  assert.deepEqual(read('team="ops \\"core\\""'), { name: 'team', operator: '=', value: 'ops "core"' });
  assert.deepEqual(read('instance!~"web[0-9]+"'), { name: 'instance', operator: '!~', value: 'web[0-9]+' });
  assert.deepEqual(read('"service name"=~"(?i)web"'), { name: 'service name', operator: '=~', value: '(?i)web' });
  // An empty value matches an alert without the label (the classic parser reads it).
  assert.deepEqual(read('severity='), { name: 'severity', operator: '=', value: '' });
  for (const bad of ['', 'severity', '="x"', 'a="b"c"', '{a="b"}', 'a=~"("', 'a=~"x(?!y)"']) assert.equal(parseAlertmanagerMatcher(bad).ok, false, bad);
});
