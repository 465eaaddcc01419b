// docker-compose.yml checked against the Compose specification's JSON schema, as published in the Go module
// of compose-go (github.com/compose-spec/compose-go/v2, schema/compose-spec.json: the schema `docker compose`
// itself validates files with), fetched through the Go module proxy into Go's module cache. Docker itself does
// not run here; this catches a file Compose would refuse, and a Temporal server version drifting from the one
// the cluster tests run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_VERSION } from '../../temporal/server-binary.js';

const execFileAsync = promisify(execFile);
const COMPOSE_FILE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const COMPOSE_GO = 'github.com/compose-spec/compose-go/v2@v2.16.2';

async function composeSpecSchema(): Promise<object> {
  const { stdout } = await execFileAsync('go', ['mod', 'download', '-json', COMPOSE_GO], { cwd: '/', timeout: 120_000 }).catch((error: Error & { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }));
  const { Dir: directory, Error: failure } = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (directory === undefined) throw new Error(`go mod download ${COMPOSE_GO}: ${failure ?? 'no module directory'}`);
  return JSON.parse(await readFile(join(directory, 'schema', 'compose-spec.json'), 'utf8')) as object;
}

type ComposeFile = { services: Record<string, Record<string, unknown>> };

test('docker-compose.yml is valid under the Compose specification, and runs the Temporal server version the tests run', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
  const validate = ajv.compile(await composeSpecSchema());
  const compose = parse(await readFile(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
  assert.equal(validate(compose), true, JSON.stringify(validate.errors, null, 2));

  // The validator is not vacuous: the same file with a misspelt key or a malformed dependency is refused.
  const misspelt = structuredClone(compose);
  misspelt.services.api!.enviroment = { A: '1' };
  assert.equal(validate(misspelt), false);
  const badDependency = structuredClone(compose);
  badDependency.services.worker!.depends_on = { temporal: { condition: 'service_ready' } };
  assert.equal(validate(badDependency), false);

  const image = String(compose.services.temporal?.image);
  assert.equal(image.split(':')[1], TEMPORAL_SERVER_VERSION.replace(/^v/, ''), `the compose Temporal image ${image} is the server version the tests run`);
});
