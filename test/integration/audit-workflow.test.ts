// fleetAuditWorkflow's orchestration on the real Temporal dev server, with scripted activities: a scheduled
// run that finds another open records itself as skipped and probes nothing; a batch that keeps failing
// closes the run as failed (not left open); continue-as-new carries the cursor and the admission counts.
// With the real audit activities over a database and a multi-system Redfish chassis (lab/bmc/mini-redfish.ts,
// MULTI_NODE): each blade is read as its own system (its MACs pick it), and a run superseded by a manual one
// while it admits stops at once, admits nothing more and ends abandoned, never finished.
// (The real activities over ipmi_sim BMCs are in audit.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../support/temporal.js';
import { testDatabases } from '../support/databases.js';
import { createRecordingAdmission } from '../support/admission.js';
import type { Activities } from '../../activities/index.js';
import { createAuditActivities } from '../../activities/audit.js';
import { createInventory, type Inventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { distroCreate, profileCreate, systemCreate } from '../../inventory/schemas.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { startMiniRedfish, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { MULTI_NODE } from '../../lab/bmc/redfish/personalities.js';
import type { AdmissionDecision, AdmissionRequest, RescueAdmission } from '../../triggers/admission.js';
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

describe('the real audit activities over a multi-system Redfish chassis', () => {
  let handle: Awaited<ReturnType<ReturnType<typeof testDatabases>[number]['open']>>;
  let inventory: Inventory;
  let chassis: MiniRedfishBmc;
  const password = randomBytes(8).toString('hex');

  before(async () => {
    chassis = await startMiniRedfish({ username: 'admin', password, personality: MULTI_NODE });
    handle = await testDatabases()[0]!.open();
    inventory = createInventory(handle.db, createSecretCipher(randomBytes(32)));
    const actor = { name: 'test' };
    await inventory.distros.create(distroCreate.parse({ name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }), actor);
    await inventory.profiles.create(profileCreate.parse({ name: 'blade', distro: 'deb12' }), actor);
    // Four blades behind one chassis manager that serves four systems; nothing but each blade's MAC says which is which.
    for (const node of [1, 2, 3, 4]) {
      await inventory.systems.create(
        systemCreate.parse({
          name: `blade${node}`,
          profile: 'blade',
          arch: 'x86_64',
          firmware: 'uefi',
          interfaces: [{ name: 'eth0', mac: `52:54:00:10:00:0${node}`, ip: `127.0.0.${node + 1}` }],
          labels: { 'rescued.verify': 'none' },
          power: [{ type: 'redfish', address: chassis.url, user: 'admin', password, options: {} }],
        }),
        actor,
      );
    }
  });
  after(async () => {
    await handle?.drop();
    await chassis?.stop();
  });

  function power(off: string[]): void {
    for (const [id, system] of chassis.systems) system.power = off.includes(id) ? 'Off' : 'On';
  }

  async function runReal(admission: RescueAdmission, workflowId: string): Promise<{ auditId: number; result: FleetAuditResult }> {
    const opened = await inventory.audits.open({ workflowId, trigger: 'manual', requestedBy: 'test', leaseMs: 60_000 });
    assert.ok('opened' in opened);
    const taskQueue = `audit-real-${randomBytes(4).toString('hex')}`;
    const activities = createAuditActivities({ inventory, systemPower: createInventorySystemPower(inventory), admission });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../workflows/index.ts'), activities });
    const input: FleetAuditInput = { trigger: 'manual', requestedBy: 'test', auditId: opened.opened.id, settings: { batchSize: 10, bmcTimeoutMs: 20_000 } };
    const result = await worker.runUntil(env.client.workflow.execute(FLEET_AUDIT_WORKFLOW, { taskQueue, workflowId, args: [input] }) as Promise<FleetAuditResult>);
    return { auditId: opened.opened.id, result };
  }

  test('each blade is read as its own system of the shared chassis: a dead blade is broken, the others healthy', async () => {
    power(['Node3']);
    const admission = createRecordingAdmission('dry-run');
    const workflowId = `fleet-audit-blades-${randomBytes(3).toString('hex')}`;
    const { auditId, result } = await runReal(admission, workflowId);
    const verdicts = Object.fromEntries((await inventory.audits.results(auditId)).map((r) => [r.system, r]));
    assert.deepEqual(
      Object.fromEntries(Object.entries(verdicts).map(([system, v]) => [system, v.classification])),
      // Node1's event log holds the emulator's over-temperature entry: only blade1 is suspect of it.
      { blade1: 'suspect', blade2: 'healthy', blade3: 'broken', blade4: 'healthy' },
      JSON.stringify(Object.values(verdicts).map((v) => v.reason)),
    );
    assert.match(verdicts['blade3']!.reason, /^the BMC reports power off; the machine is expected on/);
    assert.match(verdicts['blade1']!.reason, /^power on, .*1 critical entry \(latest: Temperature: Upper Critical going high/);
    assert.match(verdicts['blade2']!.reason, /^power on, the OS is not checked/);
    assert.equal(result.state, 'finished');
    assert.deepEqual(admission.requests.map((r) => r.system), ['blade3']);
    // The chassis password went to the BMC, not into the workflow's history.
    assert.equal(JSON.stringify(await env.client.workflow.getHandle(workflowId).fetchHistory()).includes(password), false);
  });

  test('a run superseded by a manual one while it admits stops: nothing more admitted, it ends abandoned, never finished', async () => {
    power(['Node2', 'Node3']);
    const asked: AdmissionRequest[] = [];
    let manualId: number | undefined;
    const takeover: RescueAdmission = {
      async admit(request): Promise<AdmissionDecision> {
        asked.push(request);
        if (manualId === undefined) {
          // The run's worker stalls past the lease while admitting; an operator's manual run takes the lease over.
          await new Promise((resolve) => setTimeout(resolve, 30));
          const manual = await inventory.audits.open({ workflowId: 'fleet-audit-manual-takeover', trigger: 'manual', requestedBy: 'alice', leaseMs: 10 });
          assert.ok('opened' in manual, 'the manual run took over the stale lease');
          manualId = manual.opened.id;
        }
        return { decision: 'dry-run', reason: 'test', workflowId: null };
      },
    };
    const { auditId, result } = await runReal(takeover, `fleet-audit-superseded-${randomBytes(3).toString('hex')}`);
    assert.equal(result.state, 'abandoned');
    assert.match(result.note ?? '', new RegExp(`audit ${auditId} no longer holds the audit lease: it was closed as abandoned .*superseded by fleet-audit-manual-takeover`));
    assert.deepEqual(asked.map((r) => r.system), ['blade2'], 'blade3 was not handed to the guard by the superseded run');
    const broken = await inventory.audits.results(auditId, { classifications: ['broken'] });
    assert.deepEqual(broken.map((v) => [v.system, v.admission]), [['blade2', 'dry-run'], ['blade3', null]]);
    assert.equal((await inventory.audits.get(auditId)).state, 'abandoned');
    assert.equal((await inventory.audits.running())?.id, manualId);
    await inventory.audits.close(manualId!, 'finished', null);
  });
});
