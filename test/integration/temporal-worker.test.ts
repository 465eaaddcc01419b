// The worker on the SDK's test environment, with the official CLI given as an existing path (no download):
// the workflow bundle builds from our TypeScript sources and its activity reaches the inventory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { startTestTemporal } from '../support/temporal.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createInventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { createNetbootService } from '../../boot/netboot.js';
import { workerProbeWorkflow } from '../../workflows/index.js';

const require = createRequire(import.meta.url);
let environment: TestWorkflowEnvironment;
let database: DatabaseHandle;

before(async () => {
  environment = await startTestTemporal();
  database = await openDatabase({ inMemory: true });
});
after(async () => {
  await environment?.teardown();
  await database?.close();
});

test('workerProbeWorkflow runs on a worker over the inventory', async () => {
  const inventory = createInventory(database.db, createSecretCipher(randomBytes(32)));
  const worker = await Worker.create({
    connection: environment.nativeConnection,
    taskQueue: 'probe-test',
    workflowsPath: require.resolve('../../workflows/index.ts'),
    activities: createActivities({
      inventory,
      databaseKind: database.kind,
      systemPower: createInventorySystemPower(inventory),
      netboot: createNetbootService({ inventory, urls: { httpBase: 'http://127.0.0.1' } }),
      rescueShell: createSshRescueShell(),
      admission: createRefusingAdmission(),
    }),
  });
  const result = await worker.runUntil(
    environment.client.workflow.execute(workerProbeWorkflow, { taskQueue: 'probe-test', workflowId: `probe-${randomBytes(4).toString('hex')}` }),
  );
  assert.equal(result.database, 'pglite');
  assert.equal(result.systems, 0);
  assert.equal(result.pid, process.pid);
});
