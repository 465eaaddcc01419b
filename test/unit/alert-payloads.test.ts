// Alert payloads and the label rules that find the machine an alert is about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertmanagerWebhook, fromAlertmanagerWebhook, fromGenericAlert, genericAlert } from '../../triggers/alert-payloads.js';
import { hostOfInstance, lookupForms, machineIdentifiers, matchMachine, DEFAULT_ALERT_LABELS } from '../../triggers/alert-labels.js';
import { canonicalIp } from '../../inventory/ip.js';
import { signBody, verifySignature } from '../../triggers/signature.js';
import { formatDuration, parseDuration } from '../../triggers/durations.js';

// The shape Alertmanager v0.31 sends (notify/webhook/webhook.go: Message embeds template.Data).
const delivery = {
  receiver: 'rescued',
  status: 'firing',
  alerts: [
    { status: 'firing', labels: { alertname: 'NodeDown', instance: 'web01.example.com:9100' }, annotations: { summary: 'web01 is not answering' }, startsAt: '2026-11-29T11:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom/graph', fingerprint: 'a1b2c3' },
  ],
  groupLabels: { alertname: 'NodeDown' },
  commonLabels: { alertname: 'NodeDown' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="NodeDown"}',
  truncatedAlerts: 0,
  notification_reason: 'firing',
};

test('an Alertmanager v4 payload is read, unknown fields are tolerated', () => {
  const parsed = alertmanagerWebhook.parse(delivery);
  const [alert] = fromAlertmanagerWebhook(parsed);
  assert.deepEqual({ fingerprint: alert!.fingerprint, status: alert!.status, name: alert!.alertName, summary: alert!.summary }, { fingerprint: 'a1b2c3', status: 'firing', name: 'NodeDown', summary: 'NodeDown: web01 is not answering' });
  const wrongVersion = alertmanagerWebhook.safeParse({ ...delivery, version: '3' });
  assert.equal(wrongVersion.success, false);
  assert.match(wrongVersion.error!.issues[0]!.message, /version "4"/);
  assert.equal(alertmanagerWebhook.safeParse({ ...delivery, alerts: [{ ...delivery.alerts[0], status: 'burning' }] }).success, false);
});

test('the generic receiver needs a machine and a reason; without an id the fingerprint is stable', () => {
  assert.equal(genericAlert.safeParse({ reason: 'x' }).success, false);
  assert.equal(genericAlert.safeParse({ system: 'web01' }).success, false);
  assert.equal(genericAlert.safeParse({ system: 'web01', reason: 'x', pasword: 'y' }).success, false, 'unknown fields are refused');
  const a = fromGenericAlert(genericAlert.parse({ hostname: 'web01', reason: 'disk dead' }));
  const b = fromGenericAlert(genericAlert.parse({ hostname: 'web01', reason: 'disk dead' }));
  assert.equal(a.fingerprint, b.fingerprint);
  assert.equal(a.status, 'firing');
  assert.equal(fromGenericAlert(genericAlert.parse({ ip: '127.0.0.9', reason: 'x', id: 'zbx-42', status: 'resolved' })).fingerprint, 'zbx-42');
});

test('instance labels lose their port', () => {
  assert.equal(hostOfInstance('web01:9100'), 'web01');
  assert.equal(hostOfInstance('127.0.0.5:9100'), '127.0.0.5');
  assert.equal(hostOfInstance('[2001:db8::1]:9100'), '2001:db8::1');
  assert.equal(hostOfInstance('2001:db8::1'), '2001:db8::1');
  assert.equal(hostOfInstance('web01'), 'web01');
});

test("a URL-style instance label (blackbox_exporter's targets) is reduced to its host", () => {
  assert.equal(hostOfInstance('https://db02:9100/metrics'), 'db02');
  assert.equal(hostOfInstance('http://[2001:db8::10]/'), '2001:db8::10');
  assert.equal(hostOfInstance('http://[2001:db8::10]:8080/probe?target=x'), '2001:db8::10');
  assert.equal(hostOfInstance('tcp://db02:22'), 'db02');
  assert.equal(hostOfInstance('icmp://127.0.0.2'), '127.0.0.2');
  assert.equal(hostOfInstance('https://user:secret@Web01.Example.Com'), 'Web01.Example.Com', 'credentials are not the host');
  assert.equal(hostOfInstance('rack1:node'), 'rack1:node', 'a name with a colon but no port stays whole');
});

test('IP addresses in one spelling: RFC 5952 for IPv6, IPv4-mapped as IPv4', () => {
  assert.equal(canonicalIp('2001:DB8::10'), '2001:db8::10');
  assert.equal(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0010'), '2001:db8::10');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'the first of two equal runs of zeros is compressed');
  assert.equal(canonicalIp('::FFFF:127.0.0.2'), '127.0.0.2');
  assert.equal(canonicalIp('0:0:0:0:0:ffff:7f00:2'), '127.0.0.2');
  assert.equal(canonicalIp('127.0.0.2'), '127.0.0.2');
  assert.equal(canonicalIp('FE80::1%eth0'), 'fe80::1%eth0');
  assert.equal(canonicalIp('web01'), undefined);
  assert.equal(canonicalIp('127.0.0.02'), undefined, 'not an address node takes');
});

test('the lookup tries every form the match accepts', () => {
  assert.ok(lookupForms('WEB01').includes('web01'));
  assert.ok(lookupForms('2001:0DB8::10').includes('2001:db8::10'));
  assert.ok(lookupForms('::ffff:127.0.0.2').includes('127.0.0.2'));
  assert.ok(lookupForms('DB02.lab.example').includes('db02'), "the short name of the lower-case form");
  assert.ok(lookupForms('52-54-00-AA-BB-02').includes('52:54:00:aa:bb:02'));
});

test('a system name matches in any case unless two systems share it in different cases; IPs match in any spelling', () => {
  // The lookup finds names in any case: what matchMachine sees of a name, whatever its case, is every system that is it.
  const known = [
    { system: 'web01', hostname: 'web01.example.com', ip: '2001:db8::10', mac: '52:54:00:00:00:01' },
    { system: 'db02', hostname: null, ip: '127.0.0.2', mac: '52:54:00:00:00:02' },
    { system: 'odd', hostname: null, ip: '2001:0DB8:0:0::20', mac: '52:54:00:00:00:03' },
    { system: 'twin', hostname: null, ip: null, mac: '52:54:00:00:00:04' },
    { system: 'TWIN', hostname: null, ip: null, mac: '52:54:00:00:00:05' },
    { system: 'Mixed01', hostname: null, ip: null, mac: '52:54:00:00:00:06' },
  ];
  const find = (labels: Record<string, string>) => matchMachine(machineIdentifiers(labels, DEFAULT_ALERT_LABELS), known)?.system;
  assert.equal(find({ instance: 'WEB01:9100' }), 'web01');
  assert.equal(find({ instance: 'MIXED01:9100' }), 'Mixed01', 'a name in mixed case, named in another');
  assert.equal(find({ nodename: 'Web01' }), 'web01');
  assert.equal(find({ instance: 'WEB01.Example.COM:9100' }), 'web01', 'host names in any case');
  assert.equal(find({ nodename: 'DB02.lab' }), 'db02', 'the short name in any case');
  assert.equal(find({ instance: '[2001:DB8::10]:9100' }), 'web01');
  assert.equal(find({ instance: '2001:0db8::10' }), 'web01');
  assert.equal(find({ ip: '::ffff:127.0.0.2' }), 'db02');
  assert.equal(find({ ip: '2001:db8::20' }), 'odd', 'a stored IP in another spelling');
  assert.equal(find({ instance: 'https://db02:9100/metrics' }), 'db02');
  assert.equal(find({ instance: 'twin' }), 'twin', 'the exact spelling wins');
  assert.equal(find({ instance: 'TWIN' }), 'TWIN');
  assert.equal(find({ instance: 'Twin' }), undefined, 'two systems in other cases: neither is guessed');
  assert.equal(find({ instance: 'Twin', ip: '127.0.0.2' }), 'db02', 'and the next rule is tried');
});

test('label rules are tried in order; a name, host name, IP or MAC matches', () => {
  const known = [
    { system: 'web01', hostname: 'web01.example.com', ip: '127.0.0.11', mac: '52:54:00:00:00:01' },
    { system: 'db01', hostname: null, ip: '127.0.0.12', mac: '52:54:00:00:00:02' },
  ];
  const find = (labels: Record<string, string>) => matchMachine(machineIdentifiers(labels, DEFAULT_ALERT_LABELS), known)?.system;
  assert.equal(find({ instance: 'web01.example.com:9100' }), 'web01');
  assert.equal(find({ instance: '127.0.0.12:9100' }), 'db01');
  assert.equal(find({ mac: '52-54-00-00-00-02' }), 'db01');
  assert.equal(find({ nodename: 'db01.lan' }), 'db01', 'an FQDN whose first label is a system name');
  assert.equal(find({ system: 'db01', instance: 'web01:9100' }), 'db01', 'system is tried before instance');
  assert.equal(find({ system: 'nope', instance: '127.0.0.11:9100' }), 'web01', 'a rule that matches nothing gives way to the next');
  assert.equal(find({ job: 'node' }), undefined);
  assert.deepEqual(machineIdentifiers({ host: 'x', instance: 'y:1' }, ['host']), [{ label: 'host', value: 'x' }], 'rules are configurable');
});

test('signatures: HMAC-SHA256 of the raw body, any token secret, nothing else', () => {
  const body = Buffer.from('{"system":"web01","reason":"x"}');
  const secrets = [{ name: 'nagios', secret: 'another-secret-of-16' }, { name: 'zabbix', secret: 'a-long-enough-secret' }];
  assert.equal(verifySignature(signBody('a-long-enough-secret', body), body, secrets), 'zabbix');
  assert.equal(verifySignature(signBody('a-long-enough-secret', body), Buffer.from(`${body} `), secrets), undefined, 'the body changed');
  assert.equal(verifySignature(signBody('wrong-secret-wrong!', body), body, secrets), undefined);
  assert.equal(verifySignature('sha256=zz', body, secrets), undefined);
  assert.equal(verifySignature('', body, secrets), undefined);
});

test('durations as operators write them', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseDuration('10'), undefined, 'a unit is needed');
  assert.equal(formatDuration(5_400_000), '1h30m');
});
