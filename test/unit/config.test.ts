import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, loadConfig } from '../../config/environment.js';

test('defaults: embedded everything on the documented ports', () => {
  const config = loadConfig({});
  assert.equal(config.apiPort, 8080);
  assert.equal(config.embeddedTemporalPort, 7233);
  assert.equal(config.embeddedTemporalUiPort, 8233);
  assert.equal(config.temporalAddress, undefined);
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.temporalNamespace, 'default');
  assert.match(config.dataDir, /\/data$/);
  assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
});

test('TEMPORAL_ADDRESS and DATABASE_URL switch to external services; blanks count as unset', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', DATABASE_URL: 'postgresql://u:p@db/rescued', TEMPORAL_NAMESPACE: 'ops', RESCUED_SECRET_KEY: ' ' });
  assert.equal(config.temporalAddress, 'temporal:7233');
  assert.equal(config.databaseUrl, 'postgresql://u:p@db/rescued');
  assert.equal(config.temporalNamespace, 'ops');
  assert.equal(config.secretKey, undefined);
});

test('a bad port is refused with the variable named', () => {
  assert.throws(() => loadConfig({ RESCUED_API_PORT: 'eighty' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_API_PORT.*"eighty"/.test(e.message));
  assert.throws(() => loadConfig({ RESCUED_API_PORT: '70000' }), ConfigurationError);
});

test('RESCUED_MAX_SSH_SESSIONS: 16 by default; not a whole number of at least 1 is refused with the variable named', () => {
  assert.equal(loadConfig({}).maxSshSessions, 16);
  assert.equal(loadConfig({ RESCUED_MAX_SSH_SESSIONS: '40' }).maxSshSessions, 40);
  for (const bad of ['0', '2.5', 'many']) {
    assert.throws(() => loadConfig({ RESCUED_MAX_SSH_SESSIONS: bad }), (e: unknown) => e instanceof ConfigurationError && new RegExp(`RESCUED_MAX_SSH_SESSIONS.*"${bad}"`).test(e.message));
  }
});

test('RESCUED_AUDIT_EVERY: 1h by default, off, durations; a bad one is refused with the variable named', async () => {
  const { formatDuration, parseDuration } = await import('../../config/duration.js');
  assert.equal(loadConfig({}).auditEveryMs, 3_600_000);
  assert.equal(loadConfig({ RESCUED_AUDIT_EVERY: 'off' }).auditEveryMs, null);
  assert.equal(loadConfig({ RESCUED_AUDIT_EVERY: '1h30m' }).auditEveryMs, 5_400_000);
  assert.throws(() => loadConfig({ RESCUED_AUDIT_EVERY: 'hourly' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_AUDIT_EVERY: "hourly" is not a duration/.test(e.message));
  assert.throws(() => loadConfig({ RESCUED_AUDIT_EVERY: '2s' }), (e: unknown) => e instanceof ConfigurationError && /shorter than the minimum 10s/.test(e.message));
  assert.equal(parseDuration('1d2h3m4s'), 93_784_000);
  assert.equal(parseDuration('0s'), undefined);
  assert.equal(parseDuration('1x'), undefined);
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(600_000), '10m');
});

test('RESCUED_ALERT_RETENTION_DAYS: 90 days by default, 0 keeps every alert; a bad one is refused with the variable named', () => {
  assert.equal(loadConfig({}).alertRetentionMs, 90 * 86_400_000);
  assert.equal(loadConfig({ RESCUED_ALERT_RETENTION_DAYS: '0' }).alertRetentionMs, 0);
  assert.equal(loadConfig({ RESCUED_ALERT_RETENTION_DAYS: '7' }).alertRetentionMs, 7 * 86_400_000);
  assert.throws(() => loadConfig({ RESCUED_ALERT_RETENTION_DAYS: 'forever' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_ALERT_RETENTION_DAYS.*"forever"/.test(e.message));
});

test('RESCUED_ALERTMANAGER_URL with credentials is refused, and the message does not show them', () => {
  assert.equal(loadConfig({ RESCUED_ALERTMANAGER_URL: 'http://alertmanager:9093/' }).alertmanagerUrl, 'http://alertmanager:9093');
  for (const url of ['http://rescued:s3cret-pw@alertmanager:9093', 'https://s3cret-pw@alertmanager:9093', 'http://rescued:s3cret@pw@alertmanager:9093', 'http://rescued:s3cret-pw@alert manager']) {
    assert.throws(
      () => loadConfig({ RESCUED_ALERTMANAGER_URL: url }),
      (e: unknown) => e instanceof ConfigurationError && /RESCUED_ALERTMANAGER_URL must not hold credentials/.test(e.message) && !/s3cret|pw@/.test(e.message) && /"http(s)?:\/\/\[redacted\]@alert/.test(e.message),
      url,
    );
  }
  assert.throws(() => loadConfig({ RESCUED_ALERTMANAGER_URL: 'ftp://alertmanager' }), (e: unknown) => e instanceof ConfigurationError && /must be an http or https URL/.test(e.message));
});

test('RESCUED_ALERTMANAGER_FILTER: matchers separated by ";", each checked against Alertmanager\'s syntax', () => {
  assert.deepEqual(loadConfig({}).alertmanagerFilter, []);
  assert.deepEqual(loadConfig({ RESCUED_ALERTMANAGER_FILTER: ' severity="critical" ; instance=~"web.*";job!=node' }).alertmanagerFilter, ['severity="critical"', 'instance=~"web.*"', 'job!=node']);
  // A ";" in double quotes belongs to its matcher.
  assert.deepEqual(loadConfig({ RESCUED_ALERTMANAGER_FILTER: 'summary!~"a;b";team="ops \\"core\\""' }).alertmanagerFilter, ['summary!~"a;b"', 'team="ops \\"core\\""']);
  for (const good of ['"service name"="web"', 'env=~"(?i)prod"', 'severity!~"info|none"', 'job=~"(?P<name>node)"']) {
    assert.deepEqual(loadConfig({ RESCUED_ALERTMANAGER_FILTER: good }).alertmanagerFilter, [good], good);
  }
  const bad: Array<[string, RegExp]> = [
    ['severity', /no operator/],
    ['severity=="critical"', /not a label name, an operator/],
    ['severity="critical', /not a label name, an operator/],
    ['{severity="critical"}', /braces/],
    ['=critical', /not a label name, an operator/],
    ['instance=~"web[0-9"', /regular expression does not compile/],
    ['instance=~"(?=web)"', /RE2 has no look-around/],
    ['instance=~"(a)\\\\1"', /RE2 has no back references/],
  ];
  for (const [matcher, reason] of bad) {
    assert.throws(
      () => loadConfig({ RESCUED_ALERTMANAGER_FILTER: `severity="critical";${matcher}` }),
      (e: unknown) => e instanceof ConfigurationError && e.message.startsWith(`RESCUED_ALERTMANAGER_FILTER: "${matcher}" is not an Alertmanager matcher`) && reason.test(e.message),
      matcher,
    );
  }
});
