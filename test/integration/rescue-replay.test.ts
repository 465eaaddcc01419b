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
import { randomBytes } from 'node:crypto';
import { createEncryptionCodec } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';

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

// The fixture was recorded before the history was encrypted. Production workers now run with the payload
// codec; plaintext payloads pass through it, so histories from before encryption still replay there.
test('the recorded (unencrypted) history replays on a worker with the production data converter', async () => {
  const json = JSON.parse(await readFile(new URL('../fixtures/rescue-history.json', import.meta.url), 'utf8')) as Parameters<typeof historyFromJSON>[0];
  const codec = createEncryptionCodec({ keys: [{ id: 'replay', key: randomBytes(32) }], source: 'test' });
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows/index.ts'), dataConverter: rescuedDataConverter(codec) }, historyFromJSON(json), 'rescue-web01');
});
