// The Prometheus rules and the Grafana dashboard in monitoring/ name only metrics that our registry has
// (observability/metrics.ts), so the two cannot drift apart; the rules are checked by promtool too when it
// is built (npm run promtool:install puts it in .tools/bin), with the unit tests of the rules beside them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { metricsRegistry } from '../../observability/metrics.js';
import { locatePromtool } from '../../monitoring/promtool.js';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const RULES = `${root}monitoring/prometheus/rescued-rules.yml`;
const RULE_TESTS = `${root}monitoring/prometheus/rescued-rules.test.yml`;
const DASHBOARD = `${root}monitoring/grafana/rescued-dashboard.json`;
const PROMTOOL = await locatePromtool();

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every rescued_ series an expression reads, with a histogram's _bucket/_sum/_count taken back to its name. */
function ourMetricsIn(expression: string, histograms: Set<string>): string[] {
  return [...expression.matchAll(/\brescued_[a-z0-9_]+/g)].map(([name]) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return histograms.has(base) ? base : name;
  });
}

function balanced(expression: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const char of expression.replace(/"[^"]*"/g, '""')) {
    if ('([{'.includes(char)) stack.push(char);
    else if (char in pairs && stack.pop() !== pairs[char]) return false;
  }
  return stack.length === 0;
}

async function registry() {
  const metrics = await metricsRegistry.getMetricsAsJSON();
  return { names: new Set(metrics.map((m) => m.name)), histograms: new Set(metrics.filter((m) => String(m.type) === 'histogram').map((m) => m.name)) };
}

test('the alerting rules are well formed and name only metrics the registry has', async () => {
  const { names, histograms } = await registry();
  const document = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
  assert.ok(Array.isArray(document.groups) && document.groups.length > 0, 'groups');
  assert.equal(new Set(document.groups.map((g) => g.name)).size, document.groups.length, 'group names are unique');
  const alerts = document.groups.flatMap((g) => g.rules);
  for (const rule of alerts) {
    assert.match(rule.alert ?? '', /^Rescued[A-Za-z]+$/, `an alert named Rescued...: ${JSON.stringify(rule)}`);
    assert.equal(typeof rule.expr, 'string');
    assert.ok(balanced(rule.expr), `${rule.alert}: brackets balance in ${rule.expr}`);
    if (rule.for !== undefined) assert.match(rule.for, /^\d+[smhd]$/, `${rule.alert}: for`);
    assert.ok(['info', 'warning', 'critical'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
    assert.ok((rule.annotations?.summary ?? '') !== '', `${rule.alert}: summary`);
    const used = ourMetricsIn(rule.expr, histograms);
    assert.ok(used.length > 0, `${rule.alert} reads a rescued_ metric`);
    for (const name of used) assert.ok(names.has(name), `${rule.alert} uses ${name}, which observability/metrics.ts does not define`);
  }
  // What the issue asks the rules to watch.
  const named = new Set(alerts.map((r) => r.alert));
  for (const alert of ['RescuedRescuesFailing', 'RescuedGuardRefusingOrDeferring', 'RescuedInFlightAtCap', 'RescuedBmcErrorsRising', 'RescuedTftpErrors']) assert.ok(named.has(alert), alert);
});

test('the Grafana dashboard is valid JSON whose panels name only metrics the registry has', async () => {
  const { names, histograms } = await registry();
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string }> }> };
  assert.equal(dashboard.uid, 'rescued-overview');
  assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  assert.ok(targets.length > 10);
  const covered = new Set<string>();
  for (const { panel, expr } of targets) {
    assert.ok(balanced(expr), `${panel}: brackets balance in ${expr}`);
    for (const name of ourMetricsIn(expr, histograms)) {
      assert.ok(names.has(name), `panel "${panel}" uses ${name}, which observability/metrics.ts does not define`);
      covered.add(name);
    }
  }
  // Every metric of ours (not the process's default ones) has a panel.
  const ours = [...names].filter((n) => !/^rescued_(process|nodejs)_/.test(n));
  assert.deepEqual(ours.filter((n) => !covered.has(n)), [], 'metrics without a panel');
});

test('promtool accepts the rules and their unit tests pass', { skip: PROMTOOL === undefined ? 'promtool is not built (npm run promtool:install)' : false }, async () => {
  const checked = await execFileAsync(PROMTOOL!, ['check', 'rules', RULES]);
  assert.match(checked.stdout, /SUCCESS: \d+ rules found/);
  const tested = await execFileAsync(PROMTOOL!, ['test', 'rules', RULE_TESTS]);
  assert.match(tested.stdout, /SUCCESS/);
});
