// Valid bearer tokens are remembered for a few seconds (a storm of webhook deliveries costs no database round
// trip each), and removal still holds: at once through the process that removed the token, within
// TOKEN_CACHE_MS through another process on the same database. Two repositories over one database stand for
// two API processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenRepository, TOKEN_CACHE_MS } from '../../db/repositories/tokens.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { testDatabases } from '../support/databases.js';

for (const database of testDatabases()) {
  test(`${database.label}: a removed token stops at once here and within ${TOKEN_CACHE_MS} ms on another API`, async () => {
    const handle = await database.open();
    try {
      const cipher = createSecretCipher(randomBytes(32));
      const here = createTokenRepository(handle.db, cipher);
      const elsewhere = createTokenRepository(handle.db, cipher);
      const actor = { name: 'test' };

      const first = await here.create({ name: 'alertmanager', role: 'webhook' }, actor);
      assert.deepEqual(await here.authenticate(first.token), { name: 'alertmanager', role: 'webhook' });
      assert.deepEqual(await elsewhere.authenticate(first.token), { name: 'alertmanager', role: 'webhook' }, 'both processes now remember it');
      await here.remove('alertmanager', actor);
      assert.equal(await here.authenticate(first.token), undefined, 'refused at once by the process that removed it');
      const removedAt = Date.now();
      let refusedAfter: number | undefined;
      while (Date.now() - removedAt < TOKEN_CACHE_MS + 2_000) {
        if ((await elsewhere.authenticate(first.token)) === undefined) {
          refusedAfter = Date.now() - removedAt;
          break;
        }
        await sleep(200);
      }
      assert.ok(refusedAfter !== undefined && refusedAfter <= TOKEN_CACHE_MS + 500, `the other process refused it after ${refusedAfter ?? 'never'} ms`);

      // A wrong token is not remembered as wrong: one created afterwards under any name works at once.
      const second = await here.create({ name: 'alertmanager', role: 'webhook' }, actor);
      assert.equal(await elsewhere.authenticate(first.token), undefined);
      assert.deepEqual(await elsewhere.authenticate(second.token), { name: 'alertmanager', role: 'webhook' });
    } finally {
      await handle.drop();
    }
  });
}
