// The whole server as `npm start` runs it with nothing configured: embedded Temporal (the official CLI),
// PGlite, API and worker. It must answer, run a workflow on its worker, write the CLI's admin token, keep
// BMC passwords out of every file and log, and stop cleanly on SIGINT with no process left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../support/ports.js';
import { runRescuectl } from '../support/cli.js';
import { temporalCliForTests } from '../support/temporal.js';
import { isAlive, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { createEncryptionCodec, payloadKeyRing } from '../../temporal/payload-codec.js';
import { rescuedDataConverter } from '../../temporal/data-converter.js';

const PASSWORD = 'stack-bmc-pass-Yx3';

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('npm start with nothing configured', () => {
  let dataDir: string;
  let server: ServeProcess;
  const output = () => server.output();
  let ports: { api: number; temporal: number; ui: number; tftp: number };
  let temporalPid: number;
  let env: Record<string, string>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rescued-stack-'));
    ports = { api: await freePort(), temporal: await freePort(), ui: await freePort(), tftp: await freePort() };
    const cli = await temporalCliForTests();
    server = startServeProcess({
      RESCUED_DATA_DIR: dataDir,
      RESCUED_API_HOST: '127.0.0.1',
      RESCUED_API_PORT: String(ports.api),
      RESCUED_TEMPORAL_PORT: String(ports.temporal),
      RESCUED_TEMPORAL_UI_PORT: String(ports.ui),
      RESCUED_TEMPORAL_CLI: cli,
      RESCUED_TFTP_HOST: '127.0.0.1',
      RESCUED_TFTP_PORT: String(ports.tftp),
    });
    await server.waitFor(/Press Ctrl-C to stop\./, 90_000);
    temporalPid = Number(await readFile(join(dataDir, 'temporal', 'temporal.pid'), 'utf8'));
    env = { RESCUED_SERVER: `http://127.0.0.1:${ports.api}`, RESCUED_DATA_DIR: dataDir };
  });

  after(async () => {
    server?.kill();
    if (temporalPid && isAlive(temporalPid)) process.kill(temporalPid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  test('prints where everything is', () => {
    assert.match(output(), new RegExp(`API\\s+http://127\\.0\\.0\\.1:${ports.api}/api/v1`));
    assert.match(output(), new RegExp(`Temporal\\s+127\\.0\\.0\\.1:${ports.temporal}`));
    assert.match(output(), new RegExp(`Temporal UI\\s+http://127\\.0\\.0\\.1:${ports.ui}`));
    assert.match(output(), /Database\s+PGlite in /);
    assert.match(output(), new RegExp(`TFTP\\s+127\\.0\\.0\\.1:${ports.tftp}, root `));
    assert.ok(output().includes(`Data folder   ${dataDir}`));
    // The fleet audit's schedule is reconciled where the client connects (RESCUED_AUDIT_EVERY, default 1h).
    assert.match(output(), /temporal: fleet audit schedule rescued-fleet-audit-rescued created: every 1h/);
  });

  test('the API, the worker and the Temporal UI answer', async () => {
    const health = await fetch(`http://127.0.0.1:${ports.api}/healthz`);
    const body = (await health.json()) as { status: string; temporal: { details: { workers: string } } };
    assert.equal(health.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    assert.ok(Number(body.temporal.details.workers) >= 1, 'a worker polls our task queue');
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /<html/i);

    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      // The history is encrypted with the key derived from the data folder's secret key (no RESCUED_PAYLOAD_KEYS):
      // a client without it cannot read the result; one with it can, and so can the codec endpoint.
      const workflowId = `probe-${Date.now()}`;
      await assert.rejects(new Client({ connection }).workflow.execute('workerProbeWorkflow', { taskQueue: 'rescued', workflowId }), /encrypted|encoding/i);
      const secretKey = Buffer.from((await readFile(join(dataDir, 'secret.key'), 'utf8')).trim(), 'hex');
      const codec = createEncryptionCodec(payloadKeyRing({ keys: undefined, file: undefined }, secretKey));
      const result = await new Client({ connection, dataConverter: rescuedDataConverter(codec) }).workflow.execute('workerProbeWorkflow', { taskQueue: 'rescued', workflowId: `${workflowId}-2` });
      assert.equal((result as { database: string }).database, 'pglite');
      // The console is JSON when stdout is not a terminal, so the quotes arrive escaped.
      assert.match(output(), /history encryption AES-256-GCM, sealing with key \\?"secret-key-1\\?"; keys derived from the secret key/);
      const preflight = await fetch(`http://127.0.0.1:${ports.api}/codec/decode`, { method: 'OPTIONS', headers: { origin: `http://127.0.0.1:${ports.ui}`, 'access-control-request-method': 'POST' } });
      assert.equal(preflight.status, 204, 'the embedded UI may call the codec');
      const uiSettings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
      assert.equal(uiSettings.Codec?.Endpoint, `http://127.0.0.1:${ports.api}/codec`, 'the Web UI is pointed at our codec endpoint');
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const name of ['RescueSystem', 'RescueMac', 'RescueStep', 'RescueOutcome']) assert.ok(name in (attributes.customAttributes ?? {}), `${name} registered`);
    } finally {
      await connection.close();
    }
  });

  test('the admin token is written 0600 and the CLI uses it with no setup', async () => {
    const tokenFile = join(dataDir, 'admin.token');
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dataDir, 'secret.key'))).mode & 0o777, 0o600);
    let result = await runRescuectl(['distro', 'add', '--name', 'deb12', '--kernel', 'linux', '--initrd', 'initrd.gz', '--arch', 'x86_64', '--breed', 'debian', '--os-version', '12'], env);
    assert.equal(result.code, 0, result.stderr);
    result = await runRescuectl(['profile', 'add', '--name', 'deb12-base', '--distro', 'deb12'], env);
    assert.equal(result.code, 0, result.stderr);
    result = await runRescuectl(['system', 'add', '--name', 'db01', '--profile', 'deb12-base', '--mac', '52:54:00:aa:bb:01', '--power-type', 'ipmi', '--power-address', '127.0.0.1', '--power-user', 'admin', '--power-pass', PASSWORD], env);
    assert.equal(result.code, 0, result.stderr);
    result = await runRescuectl(['system', 'list'], env);
    assert.match(result.stdout, /db01\s+deb12-base\s+52:54:00:aa:bb:01/);
  });

  test('a fleet audit runs on the stack\'s own worker; its schedule is there', async () => {
    // Nothing listens on db01's BMC: the audit finds it suspect, quickly with no retries.
    let result = await runRescuectl(['system', 'edit', 'db01', '--power-options', 'retries=0 ipmi_timeout=1'], env);
    assert.equal(result.code, 0, result.stderr);
    result = await runRescuectl(['audit', 'run', '--wait', '--interval', '0.5'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^audit 1 \(manual, finished\): 1 probed, 0 healthy, 1 suspect, 0 broken/);
    result = await runRescuectl(['audit', 'report'], env);
    assert.match(result.stdout, /db01\s+suspect\s+the BMC does not answer/);
    result = await runRescuectl(['audit', 'schedule'], env);
    assert.match(result.stdout, /every\s*:\s*1h/);
    assert.match(result.stdout, /catchup window\s*:\s*10m/);
  });

  test('SIGINT stops everything, and no BMC password is in any file or log', async () => {
    const { code } = await server.stop('SIGINT', 60_000);
    assert.equal(code, 0, output());
    assert.equal(isAlive(temporalPid), false, 'the embedded Temporal server is gone');
    assert.match(output(), /SIGINT received, stopping/);
    assert.equal(output().includes(PASSWORD), false, 'not in the server output');
    for (const file of await filesUnder(dataDir)) {
      const content = await readFile(file);
      assert.equal(content.includes(PASSWORD), false, `not in ${file}`);
    }
  });
});
