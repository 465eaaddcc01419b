// The console's format and levels: pretty at a terminal, JSON elsewhere, RESCUED_LOG_FORMAT/RESCUED_LOG_LEVEL
// over both; health checks and boot fetches at debug through the API's own logging options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { chooseLogFormat, createConsoleLog } from '../../observability/console.js';
import { ConfigurationError, loadConfig } from '../../config/environment.js';
import { apiLogging } from '../../api/logging.js';
import { registerHealthRoutes } from '../../api/routes/health.js';

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter((line) => line !== '') };
}

test('a terminal gets pretty lines, anything else JSON, and RESCUED_LOG_FORMAT overrides both', () => {
  assert.equal(chooseLogFormat({ format: undefined, isTerminal: true }), 'pretty');
  assert.equal(chooseLogFormat({ format: undefined, isTerminal: false }), 'json');
  assert.equal(chooseLogFormat({ format: 'json', isTerminal: true }), 'json');
  assert.equal(chooseLogFormat({ format: 'pretty', isTerminal: false }), 'pretty');
  assert.equal(loadConfig({}).logFormat, undefined);
  assert.equal(loadConfig({ RESCUED_LOG_FORMAT: 'JSON' }).logFormat, 'json');
  assert.equal(loadConfig({ RESCUED_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
  assert.throws(() => loadConfig({ RESCUED_LOG_FORMAT: 'xml' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_LOG_FORMAT must be pretty or json, got "xml"/.test(e.message));
  assert.equal(loadConfig({ RESCUED_LOG_LEVEL: 'debug' }).logLevel, 'debug');
  assert.throws(() => loadConfig({ RESCUED_LOG_LEVEL: 'loud' }), (e: unknown) => e instanceof ConfigurationError && /RESCUED_LOG_LEVEL must be one of .*"loud"/.test(e.message));
});

test('JSON lines carry pino levels and the message; debug lines only at debug', () => {
  const out = capture();
  const log = createConsoleLog({ name: 'rescued', level: 'info', format: 'json', destination: out.stream });
  log.debug('tftp 10.0.2.15:1234 pxelinux.0 26000 bytes');
  log.info('rescued is running');
  log.warn('temporal: could not register search attributes');
  const lines = out.lines().map((line) => JSON.parse(line) as { level: number; msg: string; name: string });
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [[30, 'rescued is running'], [40, 'temporal: could not register search attributes']]);
  assert.equal(lines[0]!.name, 'rescued');
  const verbose = capture();
  createConsoleLog({ name: 'rescued', level: 'debug', format: 'json', destination: verbose.stream }).debug('tftp transfer');
  assert.equal((JSON.parse(verbose.lines()[0]!) as { level: number }).level, 20);
});

test('pretty lines are for a person: time, level and message, no JSON', () => {
  const out = capture();
  const log = createConsoleLog({ name: 'rescued', level: 'info', format: 'pretty', destination: out.stream });
  log.info('guard: web01 started a rescue');
  const [line] = out.lines();
  assert.match(line!, /^\[\d\d:\d\d:\d\d\] INFO: guard: web01 started a rescue$/);
});

for (const level of ['info', 'debug'] as const) {
  test(`at ${level}, a health check logs at debug and an API call at info`, async () => {
    const out = capture();
    const app = Fastify({ ...apiLogging({ level, stream: out.stream }) });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    registerHealthRoutes(app, { version: 'test', database: { describe: () => ({}), check: async () => undefined }, temporal: { describe: () => ({}), check: async () => undefined } });
    app.get('/api/v1/ping', async () => ({ pong: true }));
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/ping' })).statusCode, 200);
    } finally {
      await app.close();
    }
    const lines = out.lines().map((line) => JSON.parse(line) as { level: number; msg: string; req?: { url: string }; reqId: string });
    const health = lines.filter((l) => l.reqId === 'req-1');
    const ping = lines.filter((l) => l.reqId === 'req-2');
    assert.deepEqual(ping.map((l) => [l.level, l.msg]), [[30, 'incoming request'], [30, 'request completed']]);
    if (level === 'info') assert.deepEqual(health, [], 'nothing of the health check at info');
    else assert.deepEqual(health.map((l) => [l.level, l.msg]), [[20, 'incoming request'], [20, 'request completed']]);
  });
}
