// Temporal's own connection settings over mutual TLS, on the real Temporal server (the dev server has no TLS
// options) with a CA, server and client certificates made for the test. Our worker and client, built as
// production builds them from loadConfig(), connect with a temporal.toml profile (TEMPORAL_CONFIG_FILE,
// TEMPORAL_PROFILE) and with the TEMPORAL_TLS_* variables, and run a workflow; without the client certificate,
// with a stranger's, or in plaintext, the server refuses the connection and the error says so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { startTlsTemporalServer, type TlsTemporalServer } from '../support/temporal-tls-server.js';
import { loadConfig, type RescuedConfig } from '../../config/environment.js';
import { connectTemporal } from '../../workers/components.js';
import type { TemporalConnectionError } from '../../temporal/connection-diagnosis.js';
import { createRescueWorker } from '../../workers/temporal-worker.js';
import { describeTemporalConnection } from '../../temporal/connection-settings.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createInventory } from '../../db/inventory.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createNetbootService } from '../../boot/netboot.js';
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { createEncryptionCodec } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';
import { workerProbeWorkflow } from '../../workflows/index.js';

describe('Temporal connection settings: mTLS to the real Temporal server', () => {
  let server: TlsTemporalServer;
  let work: string;
  let database: DatabaseHandle;
  let profileFile: string;
  const codec = createEncryptionCodec({ keys: [{ id: 'mtls-test', key: randomBytes(32) }], source: 'test' });

  before(async () => {
    server = await startTlsTemporalServer();
    work = await mkdtemp(join(tmpdir(), 'mtls-'));
    database = await openDatabase({ inMemory: true });
    const { certificates: c } = server;
    profileFile = join(work, 'temporal.toml');
    await writeFile(
      profileFile,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"',
        '',
        '[profile.fleet]',
        `address = "${server.address}"`,
        'namespace = "default"',
        '[profile.fleet.tls]',
        `client_cert_path = "${c.clientCert}"`,
        `client_key_path = "${c.clientKey}"`,
        `server_ca_cert_path = "${c.ca}"`,
        'server_name = "localhost"',
        '',
      ].join('\n'),
    );
    // A fresh server has no namespace: register it over mTLS (retrying while the server finishes starting).
    const connection = await connectTemporal(profileConfig(), server.address);
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') });
          break;
        } catch (error) {
          if (/already exists|AlreadyExists/i.test((error as Error).message)) break;
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      for (;;) {
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      await connection.close();
    }
  });
  after(async () => {
    await database?.close();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  function profileConfig(): RescuedConfig {
    return loadConfig({ TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'fleet', RESCUED_DATA_DIR: work });
  }

  async function runProbe(config: RescuedConfig): Promise<{ database: string; pid: number }> {
    const address = config.temporalAddress!;
    const inventory = createInventory(database.db, createSecretCipher(randomBytes(32)));
    const taskQueue = `mtls-${randomBytes(4).toString('hex')}`;
    const { worker, connection: workerConnection } = await createRescueWorker({
      settings: config.temporal,
      address,
      namespace: config.temporalNamespace,
      taskQueue,
      payloadCodec: codec,
      dependencies: {
        inventory,
        databaseKind: database.kind,
        systemPower: createInventorySystemPower(inventory),
        netboot: createNetbootService({ inventory, urls: { httpBase: 'http://127.0.0.1' } }),
        rescueShell: createSshRescueShell(),
        admission: createRefusingAdmission(),
      },
    });
    const connection = await connectTemporal(config, address);
    try {
      const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: rescuedDataConverter(codec) });
      return await worker.runUntil(client.workflow.execute(workerProbeWorkflow, { taskQueue, workflowId: `probe-${randomBytes(4).toString('hex')}` }));
    } finally {
      await connection.close();
      await workerConnection.close();
    }
  }

  test('a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): worker and client connect over mTLS and run a workflow', async () => {
    const config = profileConfig();
    assert.equal(config.temporalAddress, server.address, 'the profile names the server, so no embedded Temporal');
    const line = describeTemporalConnection(config.temporal, server.address);
    assert.match(line, /mTLS \(client cert .*client\.pem\)/);
    assert.match(line, /server name localhost/);
    assert.match(line, /profile fleet of /);
    const key = await readFile(server.certificates.clientKey, 'utf8');
    assert.equal(line.includes(key.split('\n')[1]!), false, 'the description shows no key');
    const result = await runProbe(config);
    assert.equal(result.database, 'pglite');
    assert.equal(result.pid, process.pid);
  });

  test('the TEMPORAL_TLS_* variables (certificate and key as data, CA as a path) do the same', async () => {
    const { certificates: c } = server;
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS_CLIENT_CERT_DATA: await readFile(c.clientCert, 'utf8'),
      TEMPORAL_TLS_CLIENT_KEY_DATA: await readFile(c.clientKey, 'utf8'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: c.ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      RESCUED_DATA_DIR: work,
    });
    assert.match(describeTemporalConnection(config.temporal, server.address), /mTLS \(client cert given as data\)/);
    const result = await runProbe(config);
    assert.equal(result.database, 'pglite');
  });

  test('without the client certificate, with a stranger CA\'s, or in plaintext, the connection is refused with a clear error', async () => {
    const { certificates: c } = server;
    // A refusal of our settings stops a process's start; only a Temporal that may not be there yet is waited for.
    // Temporal hangs up on plaintext without a TLS alert, as a proxy with nothing behind it would: that is waited
    // for, with both causes in the warning.
    const attempts: Array<[string, Record<string, string>, RegExp, 'refused' | 'unreachable']> = [
      ['no client certificate', { TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: c.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' }, /the server requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH/, 'refused'],
      [
        "a stranger CA's certificate",
        { TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS_CLIENT_CERT_PATH: c.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: c.strangerKey, TEMPORAL_TLS_SERVER_CA_CERT_PATH: c.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' },
        /the server refused our client certificate/,
        'refused',
      ],
      ['plaintext', { TEMPORAL_ADDRESS: server.address }, /it expects TLS \(set TEMPORAL_TLS=true .*\), or it is a proxy whose Temporal is not there yet/, 'unreachable'],
    ];
    for (const [what, env, why, failure] of attempts) {
      const config = loadConfig({ ...env, RESCUED_DATA_DIR: work });
      await assert.rejects(
        (async () => {
          const connection = await connectTemporal(config, server.address);
          try {
            await connection.workflowService.describeNamespace({ namespace: 'default' });
          } finally {
            await connection.close();
          }
        })(),
        (error: Error) => {
          console.log(`refused (${what}): ${error.message}`);
          assert.match(error.message, why, what);
          assert.match(error.message, new RegExp(`cannot connect to Temporal at ${server.address.replace('.', '\\.')}`), `${what}: ${error.message}`);
          assert.equal((error as TemporalConnectionError).failure, failure, what);
          return true;
        },
        what,
      );
    }
  });
});
