// A step whose workers keep disappearing is issued again (workflows/lost-workers.ts), a bounded number of
// times; a step that fails on its own is not. On the real Temporal dev server: an attempt whose worker
// abandons it (no heartbeat within the 1 s timeout) is exactly what the server sees when a worker dies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../support/temporal.js';
import { REISSUES_AFTER_LOST_WORKERS } from '../../workflows/lost-workers.js';

const require = createRequire(import.meta.url);

describe('steps issued again after lost workers', () => {
  let env: TestWorkflowEnvironment;
  let behaviour: (call: number) => Promise<string>;
  let calls = 0;
  let worker: Worker;
  let running: Promise<void>;

  before(async () => {
    env = await startTestTemporal();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'lost-workers',
      workflowsPath: require.resolve('../support/workflows/lost-workers.ts'),
      activities: { step: () => behaviour(++calls) },
    });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  const run = () => env.client.workflow.execute('oneStepWorkflow', { taskQueue: 'lost-workers', workflowId: `lost-${Date.now()}-${Math.random()}`, args: [] });
  // An abandoned attempt: the activity outlives its heartbeat timeout without a heartbeat, as a dead worker's would.
  const abandoned = async () => {
    await sleep(2_500);
    return 'too late';
  };

  test('two attempts lost to dead workers, then the step runs: it completes', async () => {
    calls = 0;
    behaviour = (call) => (call <= 2 ? abandoned() : Promise.resolve('done'));
    assert.equal(await run(), 'done');
    assert.equal(calls, 3);
  });

  test('a step that loses every worker fails after the bounded reissues, with the heartbeat timeout as its cause', async () => {
    calls = 0;
    behaviour = abandoned;
    const error = await run().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ActivityFailure);
    assert.ok(error.cause.cause instanceof TimeoutFailure);
    assert.equal(error.cause.cause.timeoutType, 'HEARTBEAT');
    assert.equal(calls, 1 + REISSUES_AFTER_LOST_WORKERS);
  });

  test('a step that fails on its own is not issued again', async () => {
    calls = 0;
    behaviour = () => Promise.reject(ApplicationFailure.create({ type: 'BmcError.unreachable', message: 'no route to the BMC' }));
    const error = await run().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.match(String((error.cause as ActivityFailure).cause?.message), /no route to the BMC/);
    assert.equal(calls, 1);
  });
});
