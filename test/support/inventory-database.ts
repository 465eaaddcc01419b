// A fresh test database with the inventory over it, a distro (d) and a profile (p) to create systems on:
// for tests of the domain modules without the API. Dropped after `run`.
import { randomBytes } from 'node:crypto';
import { createInventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { distroCreate, profileCreate } from '../../inventory/schemas.js';
import type { testDatabases } from './databases.js';

type TestDatabase = ReturnType<typeof testDatabases>[number];
export type OpenedDatabase = Awaited<ReturnType<TestDatabase['open']>>;
export type TestInventory = ReturnType<typeof createInventory>;

export async function withInventory(
  database: TestDatabase,
  run: (opened: { handle: OpenedDatabase; inventory: TestInventory; guard: TestInventory['guard']; actor: { name: string } }) => Promise<void>,
): Promise<void> {
  const handle = await database.open();
  try {
    const inventory = createInventory(handle.db, createSecretCipher(randomBytes(32)), { admissions: handle.admissions });
    const actor = { name: 'test' };
    await inventory.distros.create(distroCreate.parse({ name: 'd', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }), actor);
    await inventory.profiles.create(profileCreate.parse({ name: 'p', distro: 'd' }), actor);
    await run({ handle, inventory, guard: inventory.guard, actor });
  } finally {
    await handle.drop();
  }
}
