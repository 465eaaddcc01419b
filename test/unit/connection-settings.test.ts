// Temporal's own connection settings, read by @temporalio/envconfig as the `temporal` CLI reads them:
// variables, temporal.toml profiles, which wins, what is refused and how it is described (never a secret).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientConnectionOptions, describeTemporalConnection, loadTemporalConnectionSettings, TemporalSettingsError } from '../../temporal/connection-settings.js';
import { ConfigurationError, loadConfig } from '../../config/environment.js';

let folder: string;
let profiles: string;
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHsecretkeymaterial\n-----END PRIVATE KEY-----\n';

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'temporal-settings-'));
  await writeFile(join(folder, 'client.pem'), PEM);
  await writeFile(join(folder, 'client.key'), KEY);
  profiles = join(folder, 'temporal.toml');
  await writeFile(
    profiles,
    [
      '[profile.default]',
      'address = "temporal.internal:7233"',
      'namespace = "fleet"',
      '',
      '[profile.cloud]',
      'address = "ops.abc12.tmprl.cloud:7233"',
      'namespace = "ops.abc12"',
      'api_key = "cloud-api-key-123"',
      '',
      '[profile.mtls]',
      'address = "temporal.internal:7233"',
      '[profile.mtls.tls]',
      `client_cert_path = "${join(folder, 'client.pem')}"`,
      `client_key_path = "${join(folder, 'client.key')}"`,
      'server_name = "temporal.internal"',
      '',
      '[profile.lax]',
      'address = "x:7233"',
      '[profile.lax.tls]',
      'disable_host_verification = true',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('nothing set: no address (the embedded dev server), namespace default, plaintext', () => {
  const settings = loadTemporalConnectionSettings({});
  assert.equal(settings.address, undefined);
  assert.equal(settings.namespace, 'default');
  assert.equal(settings.tls, undefined);
  assert.equal(describeTemporalConnection(settings, '127.0.0.1:7233'), '127.0.0.1:7233, namespace default, plaintext');
});

test('the default profile of TEMPORAL_CONFIG_FILE, another by TEMPORAL_PROFILE; variables win over the profile', () => {
  assert.equal(loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles }).address, 'temporal.internal:7233');
  assert.equal(loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles }).namespace, 'fleet');
  const overridden = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_NAMESPACE: 'other', TEMPORAL_ADDRESS: 'elsewhere:7233' });
  assert.equal(overridden.address, 'elsewhere:7233');
  assert.equal(overridden.namespace, 'other');
  const config = loadConfig({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'mtls' });
  assert.equal(config.temporalAddress, 'temporal.internal:7233', 'config/environment.ts reads the same settings');
  assert.deepEqual(config.temporal.tls?.clientCertPair?.crt, new TextEncoder().encode(PEM));
  assert.equal(config.temporal.tls?.serverNameOverride, 'temporal.internal');
});

test('an API key (Temporal Cloud) turns TLS on and is passed on, and never shown', () => {
  const settings = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'cloud' });
  assert.equal(settings.apiKey, 'cloud-api-key-123');
  assert.deepEqual(settings.tls, {});
  const options = clientConnectionOptions(settings, settings.address!);
  assert.equal(options.apiKey, 'cloud-api-key-123');
  const line = describeTemporalConnection(settings, settings.address!);
  assert.match(line, /ops\.abc12\.tmprl\.cloud:7233, namespace ops\.abc12, TLS, API key, profile cloud of /);
  assert.equal(line.includes('cloud-api-key-123'), false);
});

test('TEMPORAL_TLS_* variables: certificate and key as data, gRPC metadata; the description names no key and no metadata value', () => {
  const settings = loadTemporalConnectionSettings({
    TEMPORAL_ADDRESS: 'temporal:7233',
    TEMPORAL_TLS_CLIENT_CERT_DATA: PEM,
    TEMPORAL_TLS_CLIENT_KEY_DATA: KEY,
    TEMPORAL_GRPC_META_X_TENANT: 'tenant-secret',
  });
  assert.ok(settings.tls?.clientCertPair);
  assert.deepEqual(settings.metadata, { 'x-tenant': 'tenant-secret' });
  const line = describeTemporalConnection(settings, 'temporal:7233');
  assert.match(line, /mTLS \(client cert given as data\), gRPC metadata x-tenant/);
  assert.equal(line.includes('secretkeymaterial') || line.includes('tenant-secret'), false);
});

test('blank variables count as unset, as in the rest of our configuration', () => {
  const settings = loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: ' ', TEMPORAL_NAMESPACE: '', TEMPORAL_TLS_CLIENT_CERT_PATH: '' });
  assert.equal(settings.address, undefined);
  assert.equal(settings.namespace, 'default');
  assert.equal(settings.tls, undefined);
});

test('mistakes are refused with what was wrong, and loadConfig turns them into configuration errors', () => {
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: join(folder, 'nope.toml') }), /TEMPORAL_CONFIG_FILE names ".*nope\.toml", which does not exist/);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'missing' }), /Profile 'missing' not found/);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'lax' }), /not supported by the Temporal TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME/);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }), TemporalSettingsError);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CLIENT_CERT_DATA: PEM }), /client certificate is set .* but no client key/);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CLIENT_KEY_PATH: join(folder, 'client.key') }), /client key is set .* but no client certificate/);
  assert.throws(() => loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(folder, 'ca.pem') }), /TEMPORAL_TLS_SERVER_CA_CERT_PATH .* names ".*ca\.pem", which does not exist/);
  assert.throws(() => loadConfig({ TEMPORAL_CONFIG_FILE: join(folder, 'nope.toml') }), ConfigurationError);
});

test('RESCUED_CODEC_CORS_ORIGINS: the embedded UI by default; origins only', () => {
  assert.deepEqual(loadConfig({}).codecCorsOrigins, ['http://127.0.0.1:8233', 'http://localhost:8233']);
  assert.deepEqual(loadConfig({ RESCUED_TEMPORAL_UI_PORT: '9000' }).codecCorsOrigins, ['http://127.0.0.1:9000', 'http://localhost:9000']);
  assert.deepEqual(loadConfig({ RESCUED_CODEC_CORS_ORIGINS: 'https://ui.example.org, http://127.0.0.5:8080/' }).codecCorsOrigins, ['https://ui.example.org', 'http://127.0.0.5:8080']);
  assert.throws(() => loadConfig({ RESCUED_CODEC_CORS_ORIGINS: 'https://ui.example.org/temporal' }), /RESCUED_CODEC_CORS_ORIGINS: "https:\/\/ui\.example\.org\/temporal" is not an origin/);
  assert.throws(() => loadConfig({ RESCUED_CODEC_CORS_ORIGINS: '*' }), /is not an origin/);
});
