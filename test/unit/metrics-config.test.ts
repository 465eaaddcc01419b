// The metrics settings: /metrics behind a token unless RESCUED_METRICS_PUBLIC=true; where the Temporal SDK's
// exporter and a lone worker's /metrics listen, defaults marked as such (a taken default is skipped, a
// chosen address must work), `off` for none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, loadConfig } from '../../config/environment.js';
import { splitAddress } from '../../observability/temporal-metrics.js';
import { isPublicRoute, METRICS_ROUTE } from '../../api/public-routes.js';

test('metrics settings: defaults, addresses, off, and clear errors', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.metricsPublic, false);
  assert.deepEqual(defaults.temporalMetrics, { address: '127.0.0.1:9464', configured: false });
  assert.deepEqual(defaults.workerMetrics, { address: '0.0.0.0:9465', configured: false });
  const set = loadConfig({ RESCUED_METRICS_PUBLIC: 'true', RESCUED_TEMPORAL_METRICS_ADDRESS: '[::1]:9100', RESCUED_WORKER_METRICS_ADDRESS: 'off' });
  assert.equal(set.metricsPublic, true);
  assert.deepEqual(set.temporalMetrics, { address: '[::1]:9100', configured: true });
  assert.equal(set.workerMetrics, undefined);
  assert.equal(loadConfig({ RESCUED_TEMPORAL_METRICS_ADDRESS: 'OFF' }).temporalMetrics, undefined);
  assert.throws(() => loadConfig({ RESCUED_METRICS_PUBLIC: 'maybe' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_METRICS_PUBLIC must be true or false, got "maybe"/.test(e.message));
  for (const bad of ['9464', 'localhost', 'host:99999', 'http://x:1']) {
    assert.throws(() => loadConfig({ RESCUED_WORKER_METRICS_ADDRESS: bad }), (e: unknown) => e instanceof ConfigurationError && e.message.includes(`RESCUED_WORKER_METRICS_ADDRESS must be host:port`) && e.message.includes(bad), bad);
  }
  assert.deepEqual(splitAddress('[::1]:9100'), ['::1', 9100]);
  assert.deepEqual(splitAddress('0.0.0.0:9465'), ['0.0.0.0', 9465]);
});

test('/metrics is public only when the server is configured so', () => {
  assert.equal(isPublicRoute('GET', '/metrics'), false);
  assert.equal(isPublicRoute('GET', '/metrics', [METRICS_ROUTE]), true);
  assert.equal(isPublicRoute('HEAD', '/metrics', [METRICS_ROUTE]), true);
});
