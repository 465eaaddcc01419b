import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectRescueEnvironment, versionMatches, type MachineForSelection } from '../../rescue/selection.js';
import { createHandshakeSecrets, hostKeyFingerprint, rescueKernelArguments } from '../../rescue/handshake.js';
import type { RescueEnvironmentView } from '../../inventory/schemas.js';

const env = (name: string, over: Partial<RescueEnvironmentView> = {}): RescueEnvironmentView => ({
  name, kernel: 'k', initrd: 'i', kernelArgs: '', arch: 'x86_64', firmware: ['bios', 'uefi'], osFamilies: ['redhat', 'debian'], osVersions: ['*'],
  capabilities: ['ssh', 'phone-home'], comment: '', createdAt: '', updatedAt: '', ...over,
});
const machine: MachineForSelection = { name: 'web01', arch: 'x86_64', firmware: 'uefi', osFamily: 'redhat', osVersion: '9.4', pins: [{ source: 'system web01', environment: null }, { source: 'profile rhel9', environment: null }] };

test('version patterns', () => {
  assert.ok(versionMatches('9', '9.4'));
  assert.ok(versionMatches('9.*', '9.4'));
  assert.ok(versionMatches('*', null));
  assert.ok(!versionMatches('8', '9.4'));
  assert.ok(!versionMatches('9', '90'));
});

test('the most specific fitting environment wins; arch, firmware, family and capabilities must fit', () => {
  const environments = [env('generic'), env('rhel9-only', { osFamilies: ['redhat'], osVersions: ['9'] }), env('arm', { arch: 'aarch64' }), env('bios-only', { firmware: ['bios'], osFamilies: ['redhat'], osVersions: ['9'] }), env('no-ssh', { capabilities: ['phone-home'], osFamilies: ['redhat'], osVersions: ['9'] })];
  const selected = selectRescueEnvironment(machine, environments);
  assert.deepEqual(selected.ok && selected.environment, 'rhel9-only');
});

test('a pin on the system, then on the profile, wins', () => {
  const environments = [env('generic'), env('special', { arch: 'aarch64' })];
  const pinned = selectRescueEnvironment({ ...machine, pins: [{ source: 'system web01', environment: null }, { source: 'profile rhel9', environment: 'special' }] }, environments);
  assert.deepEqual(pinned, { ok: true, environment: 'special', reason: 'pinned by profile rhel9' });
});

test('none fitting says what was looked for', () => {
  const selected = selectRescueEnvironment(machine, [env('arm', { arch: 'aarch64' })]);
  assert.equal(selected.ok, false);
  assert.match(selected.reason, /no rescue environment fits web01 \(arch x86_64, firmware uefi, OS redhat 9\.4/);
  assert.match(selected.reason, /arm \[aarch64/);
});

test('handshake: fresh token and ed25519 key; kernel args carry the public key, never the private one', () => {
  const a = createHandshakeSecrets('rescue-web01');
  const b = createHandshakeSecrets('rescue-web01');
  assert.notEqual(a.token, b.token);
  assert.match(a.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* rescue-web01$/);
  const args = rescueKernelArguments({ callbackUrl: 'http://10.0.2.2:8080/boot/rescue/T/ready', token: a.token, publicKey: a.publicKey });
  assert.ok(!args.includes('PRIVATE'));
  const encoded = /rescued\.sshkey=(\S+)/.exec(args)![1]!;
  assert.equal(Buffer.from(encoded, 'base64url').toString(), a.publicKey);
  assert.match(hostKeyFingerprint(a.publicKey), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('the ephemeral private key is an OpenSSH key that ssh-keygen reads back to the same public key', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const secrets = createHandshakeSecrets('rescue-key-check');
  assert.match(secrets.privateKeyPem, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  const directory = mkdtempSync(join(tmpdir(), 'rescued-key-'));
  try {
    writeFileSync(join(directory, 'key'), secrets.privateKeyPem, { mode: 0o600 });
    assert.equal(execFileSync('ssh-keygen', ['-y', '-f', join(directory, 'key')], { encoding: 'utf8' }).trim(), secrets.publicKey);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
