// The ipmitool driver against a real IPMI-over-LAN BMC (ipmi_sim on 127.0.0.1), through the chain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';
import { freeUdpPort } from '../../lab/bmc/ports.js';
import { PowerClient, type BmcTarget } from '../../power/index.js';
import { value } from '../support/power-results.js';

let bmc: IpmiSimBmc;

before(async () => {
  bmc = await startIpmiSim({ withEventLog: true });
});

after(async () => {
  await bmc?.stop();
});

function ipmi(overrides: Partial<BmcTarget> = {}, options: Record<string, string> = {}): BmcTarget {
  return {
    systemName: 'web01',
    type: 'ipmi',
    address: bmc.host,
    port: bmc.port,
    username: bmc.username,
    password: bmc.password,
    options: { readback_interval: '0.1', retry_delay: '0.2', ...options },
    ...overrides,
  };
}

test('status reads the chassis', async (t) => {
  const started = performance.now();
  const result = await new PowerClient([ipmi()]).getPowerState();
  t.diagnostic(`one chassis power status through the chain: ${Math.round(performance.now() - started)} ms`);
  assert.equal(value(result), 'off');
  assert.equal(result.record.succeededWith, 'ipmitool');
  assert.equal(result.record.attempts[0]?.calls[0]?.description, 'ipmitool chassis power status');
});

test('on powers the chassis on; on again sends nothing and is not an error', async () => {
  const first = value(await new PowerClient([ipmi()]).setPowerState('on'));
  assert.equal(first.stateAfter, 'on');
  assert.deepEqual(first.commands, ['chassis power on']);
  assert.equal(bmc.readChassis().power, 'on');

  const eventsBefore = bmc.readEvents().length;
  const second = value(await new PowerClient([ipmi()]).setPowerState('on'));
  assert.equal(second.actionSent, null);
  assert.equal(bmc.readEvents().length, eventsBefore);
});

test('one-time boot from PXE is set, read back, and used by the next boot', async () => {
  const result = await new PowerClient([ipmi()]).setBootDevice({ device: 'pxe', uefi: true });
  const confirmation = value(result);
  assert.equal(confirmation.confirmed, true);
  assert.equal(confirmation.reading?.device, 'pxe');
  // ipmi_sim keeps the device but not the EFI bit, and never sets "flags valid": said, not hidden.
  assert.match(confirmation.warnings.join(' '), /not valid/);
  assert.deepEqual(result.record.attempts[0]?.calls.map((call) => call.description), [
    'ipmitool chassis bootdev pxe options=efiboot',
    'ipmitool chassis bootparam get 5',
  ]);
  assert.equal(bmc.readChassis().bootDevice, 'pxe');

  const cycleStart = bmc.readEvents().length;
  const transition = value(await new PowerClient([ipmi()]).setPowerState('cycle'));
  assert.equal(transition.stateAfter, 'on');
  const events = bmc.readEvents().slice(cycleStart);
  assert.deepEqual(events.map((event) => [event.action, event.bootDevice]), [['power-off', undefined], ['power-on', 'pxe']]);
  assert.equal(bmc.readChassis().bootDevice, 'none');
});

test('boot from disk and into BIOS setup', async () => {
  assert.equal(value(await new PowerClient([ipmi()]).setBootDevice({ device: 'disk', uefi: false })).reading?.device, 'disk');
  assert.equal(bmc.readChassis().bootDevice, 'default');
  assert.equal(value(await new PowerClient([ipmi()]).setBootDevice({ device: 'bios', uefi: false })).reading?.device, 'bios');
  assert.equal(bmc.readChassis().bootDevice, 'bios');
});

test('cycle: the chassis goes off and on again, and the read-back saw the off', async (t) => {
  const eventsBefore = bmc.readEvents().length;
  const started = performance.now();
  const result = await new PowerClient([ipmi()]).setPowerState('cycle');
  t.diagnostic(`power cycle confirmed in ${Math.round(performance.now() - started)} ms`);
  const transition = value(result);
  assert.equal(transition.stateBefore, 'on');
  assert.equal(transition.observedOff, true);
  assert.match(transition.evidence, /off seen on the way/);
  assert.deepEqual(bmc.readEvents().slice(eventsBefore).map((event) => event.action), ['power-off', 'power-on']);
});

test('reset, soft off, then off when already off', async () => {
  const eventsBefore = bmc.readEvents().length;
  assert.equal(value(await new PowerClient([ipmi()]).setPowerState('reset')).stateAfter, 'on');
  assert.deepEqual(bmc.readEvents().slice(eventsBefore).map((event) => event.action), ['reset']);

  assert.equal(value(await new PowerClient([ipmi()]).setPowerState('soft')).stateAfter, 'off');
  assert.equal(bmc.readEvents().at(-1)?.action, 'soft-off');
  assert.equal(bmc.readChassis().power, 'off');

  assert.equal(value(await new PowerClient([ipmi()]).setPowerState('off')).actionSent, null);
});

test('the system event log', async () => {
  const entries = value(await new PowerClient([ipmi()]).readSystemEventLog());
  assert.equal(entries.length, 2);
  assert.deepEqual(entries.map((entry) => [entry.event, entry.state]), [
    ['Correctable ECC', 'asserted'],
    ['Upper Critical going high', 'asserted'],
  ]);
  assert.match(entries[0]?.sensor ?? '', /Memory/);
});

test('a BMC that acknowledges and does nothing: state-not-reached, never success', async () => {
  bmc.setPowerStuck(true);
  try {
    const result = await new PowerClient([ipmi({}, { readback_timeout: '1' })]).setPowerState('on');
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.failure.kind, 'state-not-reached');
      assert.match(result.failure.message, /web01: power\.set failed with every driver tried: \[ipmitool\] ipmitool: asked on, the BMC accepted chassis power on, but the machine did not read on/);
    }
    assert.equal(bmc.readChassis().power, 'off');
  } finally {
    bmc.setPowerStuck(false);
  }
});

test('a wrong password is an auth error, tried once', async () => {
  const result = await new PowerClient([ipmi({ password: 'not-the-password' }, { retries: '2' })]).getPowerState();
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'auth');
    assert.match(result.failure.message, /web01: power\.get failed with every driver tried: \[ipmitool\] ipmitool: ipmitool chassis power status at 127\.0\.0\.1:\d+: the BMC refused the password \(BMC said: .*RAKP 2 HMAC is invalid/);
  }
  const calls = result.record.attempts[0]?.calls ?? [];
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.try, 1);
});

test('a BMC that is down is retried with backoff, then unreachable', async (t) => {
  const silentPort = await freeUdpPort();
  const started = performance.now();
  const result = await new PowerClient([ipmi({ port: silentPort }, { retries: '2', ipmi_timeout: '1' })]).getPowerState();
  t.diagnostic(`3 tries (ipmitool -N 1 -R 1) against a silent port: ${Math.round(performance.now() - started)} ms`);
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.failure.kind, 'unreachable');
    assert.match(result.failure.message, /no IPMI answer from the BMC/);
  }
  assert.deepEqual(result.record.attempts[0]?.calls.map((call) => [call.try, call.failure?.kind]), [
    [1, 'unreachable'],
    [2, 'unreachable'],
    [3, 'unreachable'],
  ]);
});

test('the chassis hook (for a later QEMU) hears power and boot device changes, and does not block the BMC', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'rescued-chassis-hook-'));
  const hook = join(directory, 'hook.sh');
  const log = join(directory, 'hook.log');
  // Sleeps with its output closed, as a VM launcher would keep running: ipmi_sim must not wait for it.
  const pids = join(directory, 'hook.pids');
  writeFileSync(hook, `#!/bin/sh\necho $$ >> ${pids}\necho "$*" >> ${log}\nexec sleep 5\n`);
  chmodSync(hook, 0o755);
  const hooked = await startIpmiSim({ chassisHook: hook });
  try {
    const target = { ...ipmi(), port: hooked.port, username: hooked.username, password: hooked.password };
    const started = performance.now();
    value(await new PowerClient([target]).setBootDevice({ device: 'pxe', uefi: false }));
    value(await new PowerClient([target]).setPowerState('on'));
    assert.ok(performance.now() - started < 4000, 'ipmi_sim waited for the hook');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (!existsSync(log) || readFileSync(log, 'utf8').split('\n').length < 3)) {
      await new Promise((wait) => setTimeout(wait, 50));
    }
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['boot-device pxe', 'power-on pxe']);
  } finally {
    await hooked.stop();
    for (const pid of existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean) : []) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(directory, { recursive: true, force: true });
  }
});
