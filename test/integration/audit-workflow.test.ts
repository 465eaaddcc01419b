// fleetAuditWorkflow's orchestration on the real Temporal dev server, with scripted activities: a scheduled
// run that finds another open records itself as skipped and probes nothing; a batch that keeps failing
// closes the run as failed (not left open); continue-as-new carries the cursor and the admission counts.
// (The real activities over ipmi_sim BMCs are in audit.test.ts.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../support/temporal.js';
import type { Activities } from '../../activities/index.js';
import { fleetAuditWorkflow } from '../../workflows/audit.js';
import { FLEET_AUDIT_WORKFLOW, type AuditBatchResult, type FleetAuditInput, type FleetAuditResult } from '../../workflows/audit-types.js';

const require = createRequire(import.meta.url);
let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

type AuditActivities = Pick<Activities, 'openAuditRun' | 'probeAuditBatch' | 'admitBrokenSystems' | 'closeAuditRun'>;

/** Scripted audit activities over a fleet of `fleet` names; records what the workflow asked. */
function scripted(fleet: string[], options: { openIsTaken?: boolean; failBatchAfter?: string | null } = {}) {
  const calls: string[] = [];
  const closed: Array<{ state: string; note: string | null }> = [];
  const run = { id: 7, workflowId: 'x', trigger: 'manual' as const, requestedBy: 't', state: 'finished' as const, startedAt: '', heartbeatAt: '', finishedAt: '', systemsTotal: fleet.length, probed: fleet.length, healthy: 0, suspect: 0, broken: fleet.length, note: null };
  const activities: AuditActivities = {
    async openAuditRun() {
      calls.push('open');
      return options.openIsTaken ? { auditId: 8, skipped: true, note: 'audit 3 (manual) was running' } : { auditId: 7, skipped: false, note: null };
    },
    async probeAuditBatch(input): Promise<AuditBatchResult> {
      calls.push(`probe after ${input.after ?? '-'}`);
      if (options.failBatchAfter !== undefined && input.after === options.failBatchAfter) throw new Error('database unreachable');
      const start = input.after === null ? 0 : fleet.indexOf(input.after) + 1;
      const batch = fleet.slice(start, start + input.settings.batchSize);
      return { probed: batch.length, lastSystem: batch.at(-1) ?? null, done: batch.length < input.settings.batchSize, broken: batch };
    },
    async admitBrokenSystems(input) {
      calls.push(`admit ${input.systems.join(',')}`);
      return { decisions: { deferred: input.systems.length } };
    },
    async closeAuditRun(input) {
      closed.push({ state: input.state, note: input.note });
      return { ...run, state: input.state };
    },
  };
  return { activities, calls, closed };
}

async function runAudit(activities: AuditActivities, input: FleetAuditInput) {
  const taskQueue = `audit-wf-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../workflows/index.ts'), activities });
  return worker.runUntil(
    env.client.workflow.execute(FLEET_AUDIT_WORKFLOW, { taskQueue, workflowId: `fleet-audit-test-${randomBytes(4).toString('hex')}`, args: [input] }) as Promise<FleetAuditResult>,
  );
}

test('the workflow type the schedule and the manual start name is the function the worker registers', () => {
  assert.equal(fleetAuditWorkflow.name, FLEET_AUDIT_WORKFLOW);
});

test('a scheduled run that finds another audit open is skipped: nothing probed, nothing admitted', async () => {
  const taken = scripted(['a', 'b'], { openIsTaken: true });
  const result = await runAudit(taken.activities, { trigger: 'schedule', requestedBy: 'schedule' });
  assert.equal(result.state, 'skipped');
  assert.equal(result.note, 'audit 3 (manual) was running');
  assert.deepEqual(taken.calls, ['open']);
  assert.deepEqual(taken.closed, []);
});

test('continue-as-new every N batches carries the cursor and the admission counts', async () => {
  const fleet = Array.from({ length: 7 }, (_, i) => `m${i}`);
  const fake = scripted(fleet);
  const result = await runAudit(fake.activities, { trigger: 'manual', requestedBy: 'test', auditId: 7, settings: { batchSize: 2, batchesPerRun: 2 } });
  assert.equal(result.state, 'finished');
  assert.equal(result.batches, 4);
  assert.deepEqual(result.admissions, { deferred: 7 });
  // A manual run comes with its audit already open: the workflow does not open another.
  assert.deepEqual(fake.calls, ['probe after -', 'admit m0,m1', 'probe after m1', 'admit m2,m3', 'probe after m3', 'admit m4,m5', 'probe after m5', 'admit m6']);
  assert.deepEqual(fake.closed, [{ state: 'finished', note: null }]);
});

test('a batch that keeps failing closes the run as failed, with why, and fails the workflow', async () => {
  const fake = scripted(['a', 'b', 'c'], { failBatchAfter: 'b' });
  await assert.rejects(
    runAudit(fake.activities, { trigger: 'manual', requestedBy: 'test', auditId: 7, settings: { batchSize: 2, batchesPerRun: 10 } }),
    (error: unknown) => error instanceof WorkflowFailedError && /audit 7 failed: .*database unreachable/.test((error.cause as Error).message),
  );
  assert.equal(fake.calls.filter((c) => c === 'probe after b').length, 3, 'the batch was tried three times');
  assert.equal(fake.closed.length, 1);
  assert.equal(fake.closed[0]?.state, 'failed');
  assert.match(fake.closed[0]?.note ?? '', /database unreachable/);
});
