// The fleet audit's verdicts: every rule of triggers/audit-classify.ts, and the event log entries that count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAudit, criticalEvents, expectedPowerOf, type AuditObservation } from '../../triggers/audit-classify.js';

function observed(overrides: Partial<AuditObservation> = {}): AuditObservation {
  return {
    system: 'web01',
    expectedPower: 'on',
    bmc: { state: 'answered', power: 'on', driver: 'ipmitool' },
    eventLog: { state: 'read', entries: 0, critical: [] },
    os: { check: 'tcp', target: '127.0.0.5:22', answered: true, detail: 'connected in 1 ms' },
    lastInstall: { outcome: 'success', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:20:00.000Z' },
    lastPhoneHome: null,
    openRescue: null,
    ...overrides,
  };
}

test('power on, the OS answering and a quiet event log: healthy, saying what was seen', () => {
  const verdict = classifyAudit(observed());
  assert.equal(verdict.classification, 'healthy');
  assert.match(verdict.reason, /power on, the OS answers on 127\.0\.0\.5:22; event log: 0 entries, none critical/);
});

test('a BMC that does not answer is suspect, never healthy, even when the OS answers', () => {
  for (const kind of ['auth', 'unreachable', 'timeout', 'tls', 'invalid-config', 'internal'] as const) {
    const verdict = classifyAudit(observed({ bmc: { state: 'failed', kind, message: `web01: power.get failed (${kind})` } }));
    assert.equal(verdict.classification, 'suspect', kind);
    assert.match(verdict.reason, /the OS answers on 127\.0\.0\.5:22/);
  }
  assert.match(classifyAudit(observed({ bmc: { state: 'failed', kind: 'auth', message: 'x' } })).reason, /^the BMC refused the credentials: x/);
  assert.match(classifyAudit(observed({ bmc: { state: 'failed', kind: 'unreachable', message: 'x' }, os: { check: 'tcp', target: '127.0.0.5:22', answered: false, detail: 'connection refused' } })).reason, /^the BMC does not answer: x; the OS does not answer/);
});

test('no BMC configured: suspect', () => {
  const verdict = classifyAudit(observed({ bmc: { state: 'none' }, eventLog: { state: 'not-read', detail: 'no BMC is configured' } }));
  assert.equal(verdict.classification, 'suspect');
  assert.match(verdict.reason, /no BMC is configured/);
});

test('power off when expected on: broken; off when expected off: healthy; on when expected off: suspect', () => {
  const off = observed({ bmc: { state: 'answered', power: 'off', driver: 'ipmitool' }, os: { check: 'tcp', target: '127.0.0.5:22', answered: false, detail: 'connection refused' } });
  assert.deepEqual(classifyAudit(off).classification, 'broken');
  assert.match(classifyAudit(off).reason, /the BMC reports power off; the machine is expected on/);
  assert.equal(classifyAudit({ ...off, expectedPower: 'off' }).classification, 'healthy');
  assert.equal(classifyAudit(observed({ expectedPower: 'off' })).classification, 'suspect');
});

test('power on but the OS does not answer: broken, naming where it was asked and what happened', () => {
  const verdict = classifyAudit(observed({ os: { check: 'tcp', target: '127.0.0.9:2222', answered: false, detail: 'connection refused' } }));
  assert.equal(verdict.classification, 'broken');
  assert.equal(verdict.reason, 'the BMC reports power on but the OS does not answer on 127.0.0.9:2222 (connection refused)');
});

test('OS not checked (no IP and no label, or rescued.verify=none): power on is healthy', () => {
  const verdict = classifyAudit(observed({ os: { check: 'none', detail: 'the OS is not checked: no IP in the inventory and no label rescued.verify' } }));
  assert.equal(verdict.classification, 'healthy');
  assert.match(verdict.reason, /not checked/);
});

test('a misconfigured OS check is suspect, with the label named', () => {
  const verdict = classifyAudit(observed({ os: { check: 'invalid', detail: 'label rescued.verify="ssh" is not ssh:HOST:PORT, ssh:PORT, tcp:HOST:PORT, tcp:PORT or none' } }));
  assert.equal(verdict.classification, 'suspect');
  assert.match(verdict.reason, /rescued\.verify="ssh"/);
});

test('critical event log entries, or an event log that could not be read, make a running machine suspect', () => {
  const critical = classifyAudit(observed({ eventLog: { state: 'read', entries: 2, critical: [{ id: '2', timestamp: '2023-11-14T22:13:20.000Z', sensor: 'Temperature #0x01', event: 'Upper Critical going high' }] } }));
  assert.equal(critical.classification, 'suspect');
  assert.match(critical.reason, /1 critical entry \(latest: Temperature #0x01: Upper Critical going high at 2023-11-14/);
  const unreadable = classifyAudit(observed({ eventLog: { state: 'failed', kind: 'timeout', message: 'no result' } }));
  assert.equal(unreadable.classification, 'suspect');
  // A driver without an event log (a fence agent) is not held against the machine.
  assert.equal(classifyAudit(observed({ eventLog: { state: 'not-read', detail: 'no driver of this machine reads an event log' } })).classification, 'healthy');
});

test('an open rescue or an install in progress: suspect, whatever the BMC says (not handed to the guard again)', () => {
  const rescued = classifyAudit(observed({ bmc: { state: 'answered', power: 'off', driver: 'ipmitool' }, openRescue: { workflowId: 'rescue-web01', state: 'awaiting-phone-home', startedAt: '2026-01-01T00:00:00.000Z' } }));
  assert.equal(rescued.classification, 'suspect');
  assert.match(rescued.reason, /a rescue is open \(rescue-web01, awaiting-phone-home/);
  const installing = classifyAudit(observed({ os: { check: 'tcp', target: '127.0.0.5:22', answered: false, detail: 'x' }, lastInstall: { outcome: 'in-progress', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null } }), {
    now: Date.parse('2026-01-01T00:29:00.000Z'),
    installStallMs: 30 * 60_000,
  });
  assert.equal(installing.classification, 'suspect');
  assert.match(installing.reason, /an install is in progress/);
});

test('an install in progress for longer than the stall threshold shields nothing: the BMC and the OS decide, the reason names it', () => {
  const stalled = { outcome: 'in-progress', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null };
  const at = { now: Date.parse('2026-01-01T00:31:00.000Z'), installStallMs: 30 * 60_000 };
  const dead = classifyAudit(observed({ bmc: { state: 'answered', power: 'off', driver: 'ipmitool' }, os: { check: 'tcp', target: '127.0.0.5:22', answered: false, detail: 'connection refused' }, lastInstall: stalled }), at);
  assert.equal(dead.classification, 'broken');
  assert.match(dead.reason, /^an install in progress since 2026-01-01T00:00:00\.000Z has stalled \(not finished after more than 30 min\); the BMC reports power off/);
  const hung = classifyAudit(observed({ os: { check: 'tcp', target: '127.0.0.5:22', answered: false, detail: 'connection refused' }, lastInstall: stalled }), at);
  assert.equal(hung.classification, 'broken');
  assert.match(hung.reason, /has stalled .*the OS does not answer on 127\.0\.0\.5:22/);
  // Up and answering after all: healthy, with the stale install row named.
  const fine = classifyAudit(observed({ lastInstall: stalled }), at);
  assert.equal(fine.classification, 'healthy');
  assert.match(fine.reason, /has stalled/);
  // A BMC that does not answer stays suspect, never healthy.
  assert.equal(classifyAudit(observed({ bmc: { state: 'failed', kind: 'timeout', message: 'x' }, lastInstall: stalled }), at).classification, 'suspect');
  // The default threshold is boot/install-status.ts's (30 minutes): a week-old install is stalled.
  assert.equal(classifyAudit(observed({ bmc: { state: 'answered', power: 'off', driver: 'ipmitool' }, lastInstall: stalled }), { now: Date.parse('2026-01-08T00:00:00.000Z') }).classification, 'broken');
  // An open rescue still comes first.
  assert.equal(classifyAudit(observed({ bmc: { state: 'answered', power: 'off', driver: 'ipmitool' }, lastInstall: stalled, openRescue: { workflowId: 'rescue-web01', state: 'rebooting', startedAt: '2026-01-01T00:30:00.000Z' } }), at).classification, 'suspect');
});

test('power read through a fallback after the primary BMC failed: suspect at best, naming the primary\'s failure; broken stays broken', () => {
  const failedBefore = [{ driver: 'ipmitool', endpoint: '127.0.0.1:623', kind: 'unreachable' as const, message: 'web01: no IPMI answer from the BMC' }];
  const viaFallback = classifyAudit(observed({ bmc: { state: 'answered', power: 'on', driver: 'redfish', failedBefore } }));
  assert.equal(viaFallback.classification, 'suspect');
  assert.match(viaFallback.reason, /the primary BMC failed and the power was read through a fallback \(redfish\): ipmitool at 127\.0\.0\.1:623 failed \(unreachable: web01: no IPMI answer/);
  const off = classifyAudit(observed({ bmc: { state: 'answered', power: 'off', driver: 'redfish', failedBefore } }));
  assert.equal(off.classification, 'broken');
  assert.match(off.reason, /^the BMC reports power off.*; the primary BMC failed/);
  assert.equal(classifyAudit(observed({ bmc: { state: 'answered', power: 'on', driver: 'redfish', failedBefore: [] } })).classification, 'healthy');
});

test('criticalEvents: asserted critical IPMI events and Redfish Critical entries count; correctable, non-critical, deasserted and OK do not', () => {
  const entries = [
    { id: '1', timestamp: null, sensor: 'Memory #0x53', event: 'Correctable ECC', state: 'asserted' },
    { id: '2', timestamp: null, sensor: 'Temperature #0x01', event: 'Upper Critical going high', state: 'asserted' },
    { id: '3', timestamp: null, sensor: 'Temperature #0x01', event: 'Upper Critical going high', state: 'deasserted' },
    { id: '4', timestamp: null, sensor: 'Voltage #0x02', event: 'Lower Non-critical going low', state: 'asserted' },
    { id: '5', timestamp: null, sensor: 'Memory #0x53', event: 'Uncorrectable ECC', state: 'asserted' },
    { id: '6', timestamp: null, sensor: 'Power Supply #0x10', event: 'Failure detected', state: 'asserted' },
    { id: '7', timestamp: null, sensor: 'Fan', event: 'Fan 3 failed', state: 'Critical' },
    { id: '8', timestamp: null, sensor: 'Fan', event: 'Fan 3 failed', state: 'OK' },
  ];
  assert.deepEqual(criticalEvents(entries).map((e) => e.id), ['2', '5', '6', '7']);
});

test('expected power comes from the label rescued.expected-power, on by default', () => {
  assert.equal(expectedPowerOf({}), 'on');
  assert.equal(expectedPowerOf({ 'rescued.expected-power': 'off' }), 'off');
  assert.equal(expectedPowerOf({ 'rescued.expected-power': ' OFF ' }), 'off');
  assert.equal(expectedPowerOf({ 'rescued.expected-power': 'on' }), 'on');
  assert.equal(expectedPowerOf({ 'rescued.expected-power': 'of' }), null);
  const unknown = classifyAudit(observed({ expectedPower: null }));
  assert.equal(unknown.classification, 'suspect');
  assert.match(unknown.reason, /rescued\.expected-power is neither on nor off/);
});
