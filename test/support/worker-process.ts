// A rescue worker as its own process, for the test that SIGKILLs one mid-rescue. Configured by the
// environment: DATABASE_URL, TASK_QUEUE, SECRET_KEY_HEX, BOOT_HTTP_BASE, DISK_IMAGE, and Temporal's own
// variables (TEMPORAL_ADDRESS, TEMPORAL_TLS_*, a profile) read as production reads them; with
// RESCUED_PAYLOAD_KEYS set, it encrypts the history as production does.
import { createRequire } from 'node:module';
import { NativeConnection, Worker } from '@temporalio/worker';
import { openDatabase } from '../../db/client.js';
import { createInventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createNetbootService } from '../../boot/netboot.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createRefusingAdmission } from './refusing-admission.js';
import { rescueMetricsSinks } from '../../observability/rescue-sinks.js';
import { loadTemporalConnectionSettings, workerConnectionOptions } from '../../temporal/connection-settings.js';
import { createEncryptionCodec, payloadKeyRing } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';

const require = createRequire(import.meta.url);
const environment = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`worker-process: ${name} is not set`);
  return value;
};

const key = Buffer.from(environment('SECRET_KEY_HEX'), 'hex');
const database = await openDatabase({ databaseUrl: environment('DATABASE_URL'), dataDir: '/nonexistent' });
const inventory = createInventory(database.db, createSecretCipher(key));
const disk = environment('DISK_IMAGE');
const temporal = loadTemporalConnectionSettings(process.env);
if (temporal.address === undefined) throw new Error('worker-process: TEMPORAL_ADDRESS (or a profile with an address) is not set');
const payloadKeys = process.env.RESCUED_PAYLOAD_KEYS;
const worker = await Worker.create({
  connection: await NativeConnection.connect(workerConnectionOptions(temporal, temporal.address)),
  namespace: temporal.namespace,
  taskQueue: environment('TASK_QUEUE'),
  ...(payloadKeys ? { dataConverter: rescuedDataConverter(createEncryptionCodec(payloadKeyRing({ keys: payloadKeys, file: undefined }, key))) } : {}),
  workflowsPath: require.resolve('../../workflows/index.ts'),
    sinks: rescueMetricsSinks(),
  activities: createActivities({
    inventory,
    databaseKind: database.kind,
    systemPower: createInventorySystemPower(inventory),
    netboot: createNetbootService({ inventory, urls: { httpBase: environment('BOOT_HTTP_BASE') } }),
    rescueShell: createSshRescueShell({ devicesFor: () => [disk], fileSystemAccess: 'debugfs' }),
    admission: createRefusingAdmission(),
  }),
});
console.log(`worker-process ${process.pid} ready`);
await worker.run();
await database.close();
