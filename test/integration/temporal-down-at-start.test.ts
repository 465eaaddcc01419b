// `npm start` pointed at a Temporal that is not there yet (TEMPORAL_ADDRESS, a loopback port nothing listens on):
// it starts anyway and its API answers 503 naming Temporal; once a real dev server comes up on that port, rescued's
// search attributes, the fleet audit's schedule (with RESCUED_AUDIT_EVERY's interval) and the worker follow, each
// logged once when it first failed and once when it succeeded. Stopped while it still waits, it exits at once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../support/ports.js';
import { startTestTemporal } from '../support/temporal.js';
import { isAlive, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { auditScheduleId } from '../../triggers/audit-client.js';
import { RESCUE_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';

/** What is set up in Temporal at start, as the warnings and the success lines name it. */
const SETUPS = ['register the search attributes', 'reconcile the fleet audit schedule', 'start the rescue worker'];
const STARTS_WITHIN_MS = 90_000;
/** The backoff's longest wait (60 s) and the dev server's start, with room for a loaded host. */
const FOLLOWS_TEMPORAL_WITHIN_MS = 100_000;

function occurrences(text: string, fragment: string): number {
  return text.split(fragment).length - 1;
}

describe('npm start while Temporal is down', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function startWithoutTemporal(options: { auditEvery: string; taskQueue: string }): Promise<{ server: ServeProcess; temporalPort: number; apiUrl: string; dataDir: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'rescued-temporal-down-'));
    const temporalPort = await freePort();
    const apiPort = await freePort();
    const server = startServeProcess({
      RESCUED_DATA_DIR: dataDir,
      RESCUED_API_HOST: '127.0.0.1',
      RESCUED_API_PORT: String(apiPort),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      RESCUED_TASK_QUEUE: options.taskQueue,
      RESCUED_AUDIT_EVERY: options.auditEvery,
      RESCUED_TFTP_PORT: 'off',
      RESCUED_TEMPORAL_METRICS_ADDRESS: 'off',
      RESCUED_LOG_FORMAT: 'json',
    });
    cleanups.push(async () => {
      server.kill();
      await rm(dataDir, { recursive: true, force: true });
    });
    await server.waitFor(/rescued \S+ is running/, STARTS_WITHIN_MS);
    for (const what of SETUPS) await server.waitFor(new RegExp(`could not ${what} \\(.*\\); will retry every 1s to 1m`), 10_000);
    return { server, temporalPort, apiUrl: `http://127.0.0.1:${apiPort}`, dataDir };
  }

  test('the process starts, answers 503 naming Temporal, and sets everything up once Temporal comes', async () => {
    const taskQueue = `down-at-start-${Date.now().toString(36)}`;
    const { server, temporalPort, apiUrl, dataDir } = await startWithoutTemporal({ auditEvery: '45m', taskQueue });
    assert.match(server.output(), /cannot connect to Temporal at 127\.0\.0\.1:\d+.*nothing listens there \(connection refused\); starting without it/);

    const adminToken = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    const reply = await fetch(`${apiUrl}/api/v1/audits/schedule`, { headers: { authorization: `Bearer ${adminToken}` } });
    const body = (await reply.json()) as { error: string; message: string };
    assert.equal(reply.status, 503, JSON.stringify(body));
    assert.equal(body.error, 'unavailable');
    assert.match(body.message, /^Temporal at 127\.0\.0\.1:\d+ did not answer/);

    const temporal: TestWorkflowEnvironment = await startTestTemporal({ port: temporalPort, withSearchAttributes: false });
    cleanups.push(() => temporal.teardown());
    const scheduleId = auditScheduleId(taskQueue);
    await server.waitFor(new RegExp(`fleet audit schedule ${scheduleId} created: every 45m \\(after \\d+ tries\\)`), FOLLOWS_TEMPORAL_WITHIN_MS);
    await server.waitFor(/registered search attributes \S.* \(after \d+ tries\)/, FOLLOWS_TEMPORAL_WITHIN_MS);
    await server.waitFor(new RegExp(`rescue worker polling task queue ${taskQueue} \\(after \\d+ tries\\)`), FOLLOWS_TEMPORAL_WITHIN_MS);

    // What Temporal itself holds: the schedule at the configured interval, the attributes, a worker on the queue.
    const { workflowService, operatorService } = temporal.connection;
    const { schedule } = await workflowService.describeSchedule({ namespace: 'default', scheduleId });
    assert.equal(Number(schedule?.spec?.interval?.[0]?.interval?.seconds), 45 * 60);
    assert.equal(schedule?.state?.paused, false);
    const attributes = await operatorService.listSearchAttributes({ namespace: 'default' });
    for (const { name } of RESCUE_SEARCH_ATTRIBUTES) assert.ok(name in (attributes.customAttributes ?? {}), `${name} registered`);
    // The API's own connection comes back by itself, within gRPC's reconnect backoff.
    const healthy = Date.now() + 60_000;
    let health: { status: string; temporal: { details: { workers: string } } };
    for (;;) {
      health = (await (await fetch(`${apiUrl}/healthz`)).json()) as typeof health;
      if ((health.status === 'ok' && Number(health.temporal.details.workers) >= 1) || Date.now() > healthy) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(health.status, 'ok', JSON.stringify(health));
    assert.ok(Number(health.temporal.details.workers) >= 1, 'the worker polls the task queue');

    // One warning and one success line each, nothing for the tries in between.
    const output = server.output();
    for (const what of SETUPS) assert.equal(occurrences(output, `could not ${what}`), 1, `${what}: one warning\n${output}`);
    assert.equal(occurrences(output, 'tries)'), SETUPS.length, output);

    const { code } = await server.stop('SIGTERM', 30_000);
    assert.equal(code, 0, server.output());
  });

  test('stopped while it waits for Temporal, it exits at once and leaves nothing running', async () => {
    const { server } = await startWithoutTemporal({ auditEvery: '1h', taskQueue: 'down-at-stop' });
    // A few tries in (1 s, then 2 s), the next one waiting on its timer.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const { code, elapsedMs } = await server.stop('SIGTERM', 30_000);
    assert.equal(code, 0, server.output());
    assert.ok(elapsedMs < 5000, `exited ${elapsedMs} ms after SIGTERM`);
    assert.equal(isAlive(server.process.pid!), false);
    const afterStop = server.output().split('SIGTERM received')[1] ?? '';
    assert.doesNotMatch(afterStop, /could not|tries\)/, 'no try, and no line about one, after the stop');
  });
});
