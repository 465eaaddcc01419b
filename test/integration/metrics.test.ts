// /metrics after real traffic: a TFTP fetch with curl's TFTP client, power calls through ipmitool to ipmi_sim,
// an Alertmanager delivery, a rescue of a simulated machine on the real Temporal dev server; the counters
// move by exactly what was done. /metrics needs a viewer token unless RESCUED_METRICS_PUBLIC; the Temporal
// SDK's exporter answers with temporal_ metrics and /metrics includes them; the worker's own /metrics server
// follows the same rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { installTemporalRuntime } from '../../workers/temporal-worker.js';
import { startRescueLab, addLabMachine, type LabMachine, type RescueLab } from '../support/rescue-lab.js';
import { startTestApi } from '../support/api.js';
import { testDatabases } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { rescueOutcome } from '../support/rescue-outcome.js';
import { alertmanagerPayload } from '../support/triggers-lab.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createDiskFileProvider, createTftpServer, type TftpServer } from '../../boot/tftp/index.js';
import { startMetricsServer } from '../../observability/metrics-server.js';

const execFileAsync = promisify(execFile);

/** Prometheus' text format, read into "name{label="value",...}" -> value (labels sorted). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;

describe('metrics', () => {
  let lab: RescueLab;
  let temporalExporter: string;
  let viewerToken: string;
  let webhookToken: string;
  let tftpRoot: string;
  let tftp: TftpServer;
  let tftpPort: number;
  const machines: LabMachine[] = [];

  const scrape = async (token: string | null = viewerToken) => {
    const response = await fetch(`${lab.api.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
  };
  const samples = async () => {
    const reply = await scrape();
    assert.equal(reply.status, 200, reply.text);
    return parseExposition(reply.text);
  };
  const delta = (before: Map<string, number>, now: Map<string, number>, name: string, labels: Record<string, string> = {}) => (now.get(key(name, labels)) ?? 0) - (before.get(key(name, labels)) ?? 0);

  before(async () => {
    // The SDK's exporter as serve.ts and worker.ts install it, before anything creates the Runtime.
    temporalExporter = installTemporalRuntime('warn', { address: `127.0.0.1:${await freePort()}`, configured: true })!;
    lab = await startRescueLab(createSshRescueShell());
    await lab.startWorker();
    const setup: Array<[string, unknown]> = [
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12', rescuePolicy: 'repair' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'] }],
    ];
    for (const [path, body] of setup) assert.equal((await lab.api.request('POST', path, { body })).status, 201, path);
    viewerToken = (await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'prometheus', role: 'viewer' } })).body.token as string;
    webhookToken = (await lab.api.request('POST', '/api/v1/tokens', { body: { name: 'alertmanager', role: 'webhook' } })).body.token as string;
    tftpRoot = await mkdtemp(join(tmpdir(), 'metrics-tftp-'));
    tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createDiskFileProvider(tftpRoot)] });
    tftpPort = (await tftp.listen()).port;
  });

  after(async () => {
    await tftp?.close();
    await lab?.stop();
    for (const machine of machines) await machine.stop();
    if (tftpRoot) await rm(tftpRoot, { recursive: true, force: true });
  });

  test('/metrics needs a viewer token: none is 401, a webhook token 403, a viewer token 200 in the text format', async () => {
    const none = await scrape(null);
    assert.equal(none.status, 401);
    assert.match(none.text, /bearer token/);
    assert.equal((await scrape(webhookToken)).status, 403);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(ok.contentType, /^text\/plain; version=0\.0\.4/);
    for (const name of ['rescued_rescues_total', 'rescued_bmc_calls_total', 'rescued_tftp_transfers_total', 'rescued_webhook_requests_total', 'rescued_alert_intake_stage_seconds', 'rescued_guard_decisions_total', 'rescued_rescues_in_flight', 'rescued_guard_max_in_flight']) {
      assert.match(ok.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.equal(parseExposition(ok.text).get(key('rescued_guard_max_in_flight')), 3, 'the default cap, read from the database');
  });

  test('a TFTP fetch with curl and a fetch of a missing file: transfers, bytes and errors move by exactly that', async () => {
    const size = 150_000;
    await writeFile(join(tftpRoot, 'pxelinux.0'), randomBytes(size));
    const start = await samples();
    const out = join(tftpRoot, 'fetched');
    await execFileAsync('curl', ['--silent', '--show-error', '--max-time', '20', '-o', out, `tftp://127.0.0.1:${tftpPort}/pxelinux.0`]);
    assert.equal(readFileSync(out).length, size);
    await assert.rejects(execFileAsync('curl', ['--silent', '--max-time', '20', '-o', '/dev/null', `tftp://127.0.0.1:${tftpPort}/no-such-file`]));
    const end = await samples();
    assert.equal(delta(start, end, 'rescued_tftp_transfers_total', { outcome: 'complete' }), 1);
    assert.equal(delta(start, end, 'rescued_tftp_transfers_total', { outcome: 'error' }), 1);
    assert.equal(delta(start, end, 'rescued_tftp_sent_bytes_total'), size);
    assert.equal(delta(start, end, 'rescued_tftp_errors_total', { kind: 'file-not-found' }), 1);
  });

  test('power calls through ipmitool to ipmi_sim: BMC calls by driver and result, exactly as the chain recorded them', async () => {
    const node = await addLabMachine(lab, { name: 'pow01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(node);
    const locked = await addLabMachine(lab, { name: 'pow02', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' }, bmcPassword: 'wrong-password' });
    machines.push(locked);
    const start = await samples();
    const status = await lab.api.request('GET', '/api/v1/systems/pow01/power');
    assert.equal(status.status, 200, JSON.stringify(status.body));
    const refused = await lab.api.request('GET', '/api/v1/systems/pow02/power');
    assert.equal(refused.status, 502);
    const end = await samples();
    type Call = { count?: number; failure?: { kind: string } };
    const callsIn = (record: { attempts: Array<{ calls: Call[] }> }, result: string) =>
      record.attempts.flatMap((a) => a.calls).filter((c) => (c.failure?.kind ?? 'ok') === result).reduce((sum, c) => sum + (c.count ?? 1), 0);
    assert.ok(callsIn(status.body.record, 'ok') >= 1);
    assert.equal(delta(start, end, 'rescued_bmc_calls_total', { driver: 'ipmitool', result: 'ok' }), callsIn(status.body.record, 'ok'));
    assert.equal(delta(start, end, 'rescued_bmc_calls_total', { driver: 'ipmitool', result: 'auth' }), callsIn(refused.body.record, 'auth'));
    assert.equal(callsIn(refused.body.record, 'auth'), 1, 'an auth failure is tried once');
    assert.equal(delta(start, end, 'rescued_bmc_call_duration_seconds_count', { driver: 'ipmitool', result: 'ok' }), callsIn(status.body.record, 'ok'));
  });

  test('a rescue of a simulated machine, an alert delivered while it runs: outcome, steps, guard decision, webhook answers, in flight', async () => {
    const silent = await addLabMachine(lab, { name: 'metrics01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => false, install: 'hang' } });
    machines.push(silent);
    const start = await samples();
    await lab.rescues.start({ system: 'metrics01', reason: 'metrics test', requestedBy: 'test', timings: { phoneHomeTimeoutMs: 4_000, maxPowerCycles: 1 } });
    // While it waits for the phone-home: one rescue in flight, and an alert for the machine joins it.
    for (let i = 0; ; i += 1) {
      if ((await lab.rescues.status('metrics01')).status.state === 'awaiting-phone-home') break;
      assert.ok(i < 150, 'the rescue reached awaiting-phone-home');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const during = await samples();
    assert.equal(during.get(key('rescued_rescues_in_flight')), 1);
    const payload = alertmanagerPayload([{ labels: { alertname: 'NodeDown', system: 'metrics01' } }]);
    const delivered = await lab.api.request('POST', '/hooks/alertmanager', { token: webhookToken, body: payload });
    assert.equal(delivered.status, 200, JSON.stringify(delivered.body));
    assert.equal(delivered.body.alerts[0].decision, 'joined');
    assert.equal((await lab.api.request('POST', '/hooks/alertmanager', { token: '', body: payload })).status, 401);

    const done = await rescueOutcome(lab.env.client, lab.rescues, 'metrics01');
    assert.equal(done.outcome, 'failed');
    const end = await samples();
    assert.equal(end.get(key('rescued_rescues_in_flight')), 0);
    assert.equal(delta(start, end, 'rescued_rescues_total', { outcome: 'failed' }), 1);
    for (const step of ['identifying', 'selecting', 'pushing', 'power-cycling']) {
      assert.equal(delta(start, end, 'rescued_rescue_step_duration_seconds_count', { step, outcome: 'done' }), 1, step);
    }
    assert.equal(delta(start, end, 'rescued_rescue_step_duration_seconds_count', { step: 'awaiting-phone-home', outcome: 'interrupted' }), 1);
    const waited = delta(start, end, 'rescued_rescue_step_duration_seconds_sum', { step: 'awaiting-phone-home', outcome: 'interrupted' });
    assert.ok(waited >= 4 && waited < 60, `waited ${waited} s for the phone-home (timeout 4 s)`);
    assert.equal(delta(start, end, 'rescued_guard_decisions_total', { source: 'alertmanager', phase: 'intake', decision: 'joined' }), 1);
    assert.equal(delta(start, end, 'rescued_webhook_requests_total', { receiver: 'alertmanager', code: '200' }), 1);
    assert.equal(delta(start, end, 'rescued_webhook_requests_total', { receiver: 'alertmanager', code: '401' }), 1);
    // The accepted delivery went through every stage once; the refused one (401) through none.
    for (const stage of ['lookup', 'admission', 'temporal', 'record']) {
      assert.equal(delta(start, end, 'rescued_alert_intake_stage_seconds_count', { stage }), 1, stage);
      assert.ok(delta(start, end, 'rescued_alert_intake_stage_seconds_sum', { stage }) > 0, stage);
    }
    // bootdev pxe and a power cycle went through ipmitool, each call counted.
    assert.ok(delta(start, end, 'rescued_bmc_calls_total', { driver: 'ipmitool', result: 'ok' }) >= 2);
  });

  test("the Temporal SDK's exporter answers with temporal_ metrics; /metrics includes them when public, as RESCUED_METRICS_PUBLIC=true makes it", async () => {
    const exporter = await (await fetch(`http://${temporalExporter}/metrics`)).text();
    const names = new Set([...parseExposition(exporter).keys()].map((k) => k.slice(0, k.indexOf('{'))));
    assert.ok([...names].every((name) => name.startsWith('temporal_')), [...names].join(', '));
    // What the dashboard shows of the SDK's metrics exists under those names.
    const dashboard = readFileSync(fileURLToPath(new URL('../../monitoring/grafana/rescued-dashboard.json', import.meta.url)), 'utf8');
    for (const [name] of dashboard.matchAll(/\btemporal_[a-z0-9_]+/g)) assert.ok(names.has(name), `${name} is in the exporter's output (${[...names].join(', ')})`);

    const open = await startTestApi(testDatabases()[0]!, { metrics: { public: true, temporalExporter } });
    try {
      const reply = await fetch(`${open.url}/metrics`);
      assert.equal(reply.status, 200);
      const text = await reply.text();
      assert.match(text, /^rescued_rescues_total\{outcome="failed"\} [1-9]/m);
      assert.match(text, /^temporal_[a-z_]+/m, 'the SDK metrics follow ours');
      parseExposition(text);
    } finally {
      await open.close();
    }
  });

  test("the worker's own /metrics server: viewer token unless public, only GET /metrics", async () => {
    const guarded = await startMetricsServer({ address: '127.0.0.1:0', public: false, tokens: lab.api.inventory.tokens, temporalExporter });
    const open = await startMetricsServer({ address: '127.0.0.1:0', public: true, tokens: lab.api.inventory.tokens });
    try {
      assert.equal((await fetch(`http://${guarded.address}/metrics`)).status, 401);
      assert.equal((await fetch(`http://${guarded.address}/metrics`, { headers: { authorization: `Bearer ${webhookToken}` } })).status, 403);
      const ok = await fetch(`http://${guarded.address}/metrics`, { headers: { authorization: `Bearer ${viewerToken}` } });
      assert.equal(ok.status, 200);
      // The scheme in any case (RFC 9110), as Prometheus' `authorization: { type: bearer }` sends it.
      assert.equal((await fetch(`http://${guarded.address}/metrics`, { headers: { authorization: `bearer ${viewerToken}` } })).status, 200);
      const text = await ok.text();
      assert.match(text, /^rescued_rescues_total\{outcome="failed"\} [1-9]/m);
      assert.match(text, /^temporal_/m);
      assert.equal((await fetch(`http://${open.address}/metrics`)).status, 200);
      assert.equal((await fetch(`http://${open.address}/other`)).status, 404);
    } finally {
      await guarded.stop();
      await open.stop();
    }
  });
});
