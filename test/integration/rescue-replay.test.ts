// Determinism: a recorded history of a real rescue (test/fixtures/rescue-history.json, from the happy path
// of rescue-workflow.test.ts) must replay on the current workflow code. A change that reorders, adds or
// removes a step without versioning fails here instead of in production, where running rescues would
// break. Re-record only for an intended, versioned change:
//   RESCUED_RECORD_HISTORY=$PWD/test/fixtures/rescue-history.json node scripts/run-tests.mjs test/integration/rescue-workflow.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';

const require = createRequire(import.meta.url);

test('the recorded rescue history replays on the current workflow code', async () => {
  const json = JSON.parse(await readFile(new URL('../fixtures/rescue-history.json', import.meta.url), 'utf8')) as Parameters<typeof historyFromJSON>[0];
  const history = historyFromJSON(json);
  assert.ok((history.events?.length ?? 0) > 50, 'a whole rescue, not a stub');
  const kinds = JSON.stringify(json);
  for (const step of ['identifyMachine', 'selectRescueEnvironment', 'pushRescueBootConfig', 'setBootDevice', 'setPowerState', 'diagnoseMachine', 'repairMachine', 'verifyMachineUp', 'clearRescueBootConfig']) {
    assert.ok(kinds.includes(step), `${step} is in the recorded history`);
  }
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows/index.ts') }, history, 'rescue-web01');
});
