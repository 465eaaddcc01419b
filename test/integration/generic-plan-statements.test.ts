// Named statements that ask for a generic plan (executeNamed's `genericPlan`, the alerts' machine lookup) run on
// PostgreSQL sessions that plan every named statement once (plan_cache_mode = force_generic_plan), and the rest
// of the pool keeps PostgreSQL's own choice: there, a drizzle statement with parameters is planned for its
// values. On the real PostgreSQL of DATABASE_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { executeNamed, rowsOf } from '../../db/client.js';
import { testDatabases } from '../support/databases.js';

const postgres = testDatabases().find((database) => database.label === 'postgres');

test('generic-plan statements on PostgreSQL', { skip: postgres === undefined ? 'DATABASE_URL is not set' : false }, async (t) => {
  const handle = await postgres!.open();
  t.after(() => handle.drop());
  const mode = sql`select current_setting('plan_cache_mode') as mode`;
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await executeNamed(handle.db, 'plan_mode_probe', mode, { genericPlan: true }), [{ mode: 'force_generic_plan' }]);
    assert.deepEqual(await executeNamed(handle.db, 'plan_mode_probe', mode), [{ mode: 'auto' }]);
  }
  const [plain] = rowsOf<{ mode: string }>(await handle.db.execute(mode));
  assert.equal(plain!.mode, 'auto', "the pool's other statements keep PostgreSQL's choice");
});
