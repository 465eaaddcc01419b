// What every process of ours opens at start: the data folder, the encryption key, the history's payload
// codec, the database with its migrations, the inventory, and (first start) an admin token for the CLI.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RescuedConfig } from '../config/environment.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { createInventory, type Inventory } from '../db/inventory.js';
import { createSecretCipher } from '../secrets/cipher.js';
import { loadOrCreateSecretKey } from '../secrets/key.js';
import type { PayloadCodec } from '@temporalio/common';
import { createEncryptionCodec, payloadKeyRing, type PayloadKeyRing } from '../temporal/payload-codec.js';

export const ADMIN_TOKEN_FILE = 'admin.token';

export interface Runtime {
  database: DatabaseHandle;
  inventory: Inventory;
  /** The key secrets are encrypted with; other keys (status tokens) are derived from it. */
  secretKey: Buffer;
  /** The keys that encrypt what goes into Temporal's history (RESCUED_PAYLOAD_KEYS, or derived from secretKey). */
  payloadKeys: PayloadKeyRing;
  /** The codec over payloadKeys, for every Temporal client and worker of this process, and /codec. */
  payloadCodec: PayloadCodec;
  close(): Promise<void>;
}

export async function openRuntime(config: RescuedConfig): Promise<Runtime> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const key = await loadOrCreateSecretKey({ configuredSecret: config.secretKey, dataDir: config.dataDir });
  const payloadKeys = payloadKeyRing(config.payloadKeys, key);
  const payloadCodec = createEncryptionCodec(payloadKeys);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeouts: config.databaseTimeouts });
  const inventory = createInventory(database.db, createSecretCipher(key), { admissions: database.admissions });
  return { database, inventory, secretKey: key, payloadKeys, payloadCodec, close: () => database.close() };
}

/** With no token in the database, creates an admin token and writes it (0600) where the CLI finds it. */
export async function ensureAdminToken(inventory: Inventory, dataDir: string): Promise<string | undefined> {
  if ((await inventory.tokens.count()) > 0) return undefined;
  const created = await inventory.tokens.create({ name: `admin-${Date.now().toString(36)}`, role: 'admin' }, { name: 'system' });
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  await writeFile(path, `${created.token}\n`, { mode: 0o600 });
  return path;
}
