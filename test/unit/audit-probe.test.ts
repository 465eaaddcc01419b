// The audit's probes of a batch: both limits hold (at once overall, at once per BMC), a BMC that fronts
// many machines holds back only its own, a BMC is one BMC however the inventory spells it (the power layer's
// own key) and counts for every machine whose chain holds it, results come back in order, a dead primary
// BMC shows even when a fallback answers, and the OS check follows the system's label (rescued.verify) or
// TCP 22 on its IP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bmcKeyOf, bmcKeysOf, probeBatch, probeSystem, type AuditProbeDependencies, type AuditTarget } from '../../triggers/audit-probe.js';
import { classifyAudit } from '../../triggers/audit-classify.js';
import { bmcKey, type PowerChainRecord } from '../../power/chain.js';
import { osCheckOf, parseHostPort } from '../../rescue/os-check.js';

const record: PowerChainRecord = { systemName: 'x', operation: 'power.get', request: null, startedAt: '', finishedAt: '', elapsedMs: 0, attempts: [], succeededWith: 'sim' };
const settings = { concurrency: 8, perBmcConcurrency: 2, bmcTimeoutMs: 5000, osTimeoutMs: 1000 };

function target(system: string, bmc: string | null, labels: Record<string, string> = {}): AuditTarget {
  return { system, labels, interfaces: [{ ip: '127.0.0.1', mac: '52:54:00:00:00:01' }], bmcKeys: bmc === null ? [] : [bmc], lastInstall: null, lastPhoneHome: null, openRescue: null };
}

/** A fake fleet whose BMC answers after `delayMs`, counting how many are asked at once, overall and per BMC. */
function countingDependencies(endpointOf: (system: string) => string, delayMs: (system: string) => number) {
  let running = 0;
  let maxRunning = 0;
  const perBmc = new Map<string, number>();
  const maxPerBmc = new Map<string, number>();
  const order: string[] = [];
  const dependencies: AuditProbeDependencies = {
    async readHealth(system) {
      const key = endpointOf(system);
      running += 1;
      perBmc.set(key, (perBmc.get(key) ?? 0) + 1);
      maxRunning = Math.max(maxRunning, running);
      maxPerBmc.set(key, Math.max(maxPerBmc.get(key) ?? 0, perBmc.get(key)!));
      await new Promise((resolve) => setTimeout(resolve, delayMs(system)));
      running -= 1;
      perBmc.set(key, perBmc.get(key)! - 1);
      order.push(system);
      return { power: { ok: true, value: 'on', record }, eventLog: { ok: true, value: [], record } };
    },
    async osAnswers() {
      return { answered: true, detail: 'fake' };
    },
  };
  return { dependencies, maxRunning: () => maxRunning, maxPerBmc, order };
}

test('probeBatch: at most `concurrency` at once and `perBmcConcurrency` per BMC; results in the targets\' order', async () => {
  // 30 machines behind one chassis manager, 30 with a BMC each.
  const targets = [...Array.from({ length: 30 }, (_, i) => target(`shared${String(i).padStart(2, '0')}`, '127.0.9.1:623')), ...Array.from({ length: 30 }, (_, i) => target(`own${String(i).padStart(2, '0')}`, `127.0.10.${i}:623`))];
  const fake = countingDependencies((system) => targets.find((t) => t.system === system)!.bmcKeys[0]!, () => 5);
  const observations = await probeBatch(targets, fake.dependencies, settings, new AbortController().signal);
  assert.deepEqual(observations.map((o) => o.system), targets.map((t) => t.system));
  assert.ok(observations.every((o) => o.bmc.state === 'answered'));
  assert.equal(fake.maxRunning(), 8);
  assert.equal(fake.maxPerBmc.get('127.0.9.1:623'), 2);
});

test('probeBatch: a slow BMC fronting many machines holds back only its own', async () => {
  const targets = [...Array.from({ length: 10 }, (_, i) => target(`slow${i}`, 'slow:623')), ...Array.from({ length: 10 }, (_, i) => target(`fast${i}`, `fast${i}:623`))];
  const fake = countingDependencies((system) => targets.find((t) => t.system === system)!.bmcKeys[0]!, (system) => (system.startsWith('slow') ? 60 : 1));
  await probeBatch(targets, fake.dependencies, { ...settings, concurrency: 4 }, new AbortController().signal);
  // All fast machines are done before the slow BMC has got through half of its own.
  const lastFast = fake.order.lastIndexOf('fast9');
  assert.ok(fake.order.slice(0, lastFast).filter((s) => s.startsWith('slow')).length <= 4, fake.order.join(' '));
});

test('probeBatch: an empty batch is no work; a cancelled batch rejects', async () => {
  const fake = countingDependencies(() => 'x', () => 1);
  assert.deepEqual(await probeBatch([], fake.dependencies, settings, new AbortController().signal), []);
  const controller = new AbortController();
  controller.abort(new Error('activity cancelled'));
  await assert.rejects(probeBatch([target('a', 'x')], fake.dependencies, settings, controller.signal), /activity cancelled/);
});

test('probeBatch: one BMC however the inventory spells it (the power layer\'s key), and every BMC of a chain counts', async () => {
  // One chassis manager at 127.0.0.9, written six ways; its blades' chains name it first, or as a fallback.
  const spellings = ['127.0.0.9', 'https://127.0.0.9', 'HTTPS://127.0.0.9/', ' 127.0.0.9 ', 'http://127.0.0.9', 'redfish://127.0.0.9'];
  const chassisKey = bmcKey({ systemName: 'x', type: 'redfish', address: '127.0.0.9', options: {} });
  for (const address of spellings) assert.equal(bmcKeyOf('x', { type: 'redfish', address, port: null }), chassisKey, address);
  // The same for names, whatever their case; an explicit port is another BMC (an emulator, a port forward), as for the power layer.
  assert.equal(bmcKeyOf('x', { type: 'ipmi', address: 'LocalHost', port: null }), bmcKeyOf('x', { type: 'redfish', address: 'https://localhost', port: null }));
  assert.notEqual(bmcKeyOf('x', { type: 'redfish', address: '127.0.0.9', port: 8443 }), chassisKey);
  // A chain naming one BMC twice (two drivers) takes one slot of it, not two.
  assert.deepEqual(bmcKeysOf('x', [{ type: 'redfish', address: 'https://127.0.0.9', port: null }, { type: 'ipmi', address: '127.0.0.9', port: null }]), [chassisKey]);

  const chains = new Map<string, Array<{ type: string; address: string; port: number | null }>>();
  spellings.forEach((address, i) => chains.set(`blade${i}`, [{ type: 'redfish', address, port: null }]));
  // Blades whose own BMC is first and the chassis manager second: the chain may reach the chassis too.
  for (let i = 0; i < 4; i += 1) chains.set(`node${i}`, [{ type: 'ipmi', address: `127.0.1.${i}`, port: 623 }, { type: 'redfish', address: spellings[i]!, port: null }]);
  const targets = [...chains].map(([system, chain]) => ({ ...target(system, null), bmcKeys: bmcKeysOf(system, chain) }));
  const onChassis = new Set(targets.filter((t) => t.bmcKeys.includes(chassisKey)).map((t) => t.system));
  assert.equal(onChassis.size, 10);
  let now = 0;
  let most = 0;
  const dependencies: AuditProbeDependencies = {
    async readHealth(system) {
      const counts = onChassis.has(system);
      if (counts) most = Math.max(most, (now += 1));
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (counts) now -= 1;
      return { power: { ok: true, value: 'on', record }, eventLog: null };
    },
    async osAnswers() {
      return { answered: true, detail: 'fake' };
    },
  };
  const observations = await probeBatch(targets, dependencies, { ...settings, concurrency: 64 }, new AbortController().signal);
  assert.equal(observations.length, 10);
  assert.equal(most, settings.perBmcConcurrency, 'at most perBmcConcurrency probes at once against the one chassis manager');
});

test('probeBatch: a limit below 1 is refused with a clear error, not a batch that never ends', async () => {
  const fake = countingDependencies(() => 'x', () => 1);
  await assert.rejects(probeBatch([target('a', 'x')], fake.dependencies, { ...settings, perBmcConcurrency: 0 }, new AbortController().signal), /perBmcConcurrency \(0\) must be whole numbers of at least 1/);
});

test('probeSystem: a primary BMC that failed shows even when a fallback answered; such a machine is never healthy', async () => {
  const fallbackRecord: PowerChainRecord = {
    ...record,
    attempts: [
      { driver: 'ipmitool', type: 'ipmi', endpoint: '127.0.0.1:623', outcome: 'failed', failure: { kind: 'unreachable', message: 'web01: no IPMI answer from the BMC' }, startedAt: '', elapsedMs: 1, calls: [] },
      { driver: 'redfish', type: 'redfish', endpoint: 'https://127.0.0.2', outcome: 'succeeded', startedAt: '', elapsedMs: 1, calls: [] },
    ],
    succeededWith: 'redfish',
  };
  const dependencies: AuditProbeDependencies = {
    async readHealth() {
      return { power: { ok: true, value: 'on', record: fallbackRecord }, eventLog: { ok: true, value: [], record: fallbackRecord } };
    },
    async osAnswers() {
      return { answered: true, detail: 'connected' };
    },
  };
  const observation = await probeSystem(target('web01', '127.0.0.1|623'), dependencies, settings, new AbortController().signal);
  assert.deepEqual(observation.bmc, {
    state: 'answered',
    power: 'on',
    driver: 'redfish',
    failedBefore: [{ driver: 'ipmitool', endpoint: '127.0.0.1:623', kind: 'unreachable', message: 'web01: no IPMI answer from the BMC' }],
  });
  const verdict = classifyAudit(observation);
  assert.equal(verdict.classification, 'suspect');
  assert.match(verdict.reason, /^the primary BMC failed and the power was read through a fallback \(redfish\): ipmitool at 127\.0\.0\.1:623 failed \(unreachable: web01: no IPMI answer from the BMC\); otherwise power on, the OS answers/);
  // A driver that merely cannot do it (skipped, nothing sent) is no failed BMC.
  const skipped: PowerChainRecord = { ...fallbackRecord, attempts: [{ ...fallbackRecord.attempts[0]!, outcome: 'skipped', failure: { kind: 'unsupported', message: 'no power' } }, fallbackRecord.attempts[1]!] };
  const plain = await probeSystem(target('web01', 'x'), { ...dependencies, readHealth: async () => ({ power: { ok: true, value: 'on', record: skipped }, eventLog: null }) }, settings, new AbortController().signal);
  assert.deepEqual(plain.bmc, { state: 'answered', power: 'on', driver: 'redfish' });
});

test('probeSystem: no BMC, a failing BMC, and the OS check asked where the label says', async () => {
  const asked: string[] = [];
  const dependencies: AuditProbeDependencies = {
    async readHealth() {
      return { power: { ok: false, failure: { kind: 'auth', message: 'refused' }, record }, eventLog: null };
    },
    async osAnswers(check) {
      asked.push(`${check.kind} ${check.host}:${check.port}`);
      return { answered: false, detail: 'connection refused' };
    },
  };
  const none = await probeSystem(target('a', null), dependencies, settings, new AbortController().signal);
  assert.deepEqual(none.bmc, { state: 'none' });
  const failing = await probeSystem(target('b', 'x:623', { 'rescued.verify': 'tcp:127.0.0.7:2222' }), dependencies, settings, new AbortController().signal);
  assert.deepEqual(failing.bmc, { state: 'failed', kind: 'auth', message: 'refused' });
  assert.deepEqual(failing.eventLog, { state: 'not-read', detail: 'the BMC did not give its power state' });
  assert.deepEqual(failing.os, { check: 'tcp', target: '127.0.0.7:2222', answered: false, detail: 'connection refused' });
  assert.deepEqual(asked, ['ssh 127.0.0.1:22', 'tcp 127.0.0.7:2222']);
});

test('osCheckOf: SSH on port 22 of the first IP by default, else the label; no IP and no label checks nothing; a bad label is named', () => {
  const label = 'label rescued.verify';
  assert.deepEqual(osCheckOf({ labels: {}, interfaces: [{ ip: null }, { ip: '127.0.0.3' }] }), { kind: 'ssh', host: '127.0.0.3', port: 22, source: 'the IP of its interface' });
  const nothing = osCheckOf({ labels: {}, interfaces: [] });
  assert.equal(nothing.kind, 'none');
  assert.match((nothing as { reason: string }).reason, /no IP in the inventory/);
  assert.deepEqual(osCheckOf({ labels: { 'rescued.verify': 'tcp:127.0.0.4:2222' }, interfaces: [] }), { kind: 'tcp', host: '127.0.0.4', port: 2222, source: label });
  assert.deepEqual(osCheckOf({ labels: { 'rescued.verify': 'ssh:[::1]:2222' }, interfaces: [] }), { kind: 'ssh', host: '::1', port: 2222, source: label });
  assert.deepEqual(osCheckOf({ labels: { 'rescued.verify': '[::1]:22' }, interfaces: [] }), { kind: 'tcp', host: '::1', port: 22, source: label });
  assert.equal(osCheckOf({ labels: { 'rescued.verify': 'none' }, interfaces: [{ ip: '127.0.0.3' }] }).kind, 'none');
  assert.deepEqual(osCheckOf({ labels: { 'rescued.verify': 'tcp:2222' }, interfaces: [{ ip: '127.0.0.8' }] }), { kind: 'tcp', host: '127.0.0.8', port: 2222, source: label });
  assert.match((osCheckOf({ labels: { 'rescued.verify': 'tcp:2222' }, interfaces: [] }) as { reason: string }).reason, /names a port, but the system has no IP/);
  // The BMC's power state is not the OS answering: "power" is no check.
  assert.equal(osCheckOf({ labels: { 'rescued.verify': 'power' }, interfaces: [] }).kind, 'invalid');
  assert.equal(osCheckOf({ labels: { 'rescued.verify': 'ssh' }, interfaces: [] }).kind, 'invalid');
  assert.equal(osCheckOf({ labels: { 'rescued.verify': 'tcp:host:99999' }, interfaces: [] }).kind, 'invalid');
  assert.equal(parseHostPort('127.0.0.1:70000'), undefined);
});
