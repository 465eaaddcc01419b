// test-lane: vm (boots QEMU machines of the virtual lab)
// A BMC's chassis events reach the VM in the BMC's order, whichever order their detached hooks finish in
// (lab/bmc/chassis-control.sh numbers them; lab/vm/vm-power.ts applyChassisEvent drops an older one): a power
// cycle's power-off hook that finishes after its power-on hook must not switch the new boot off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { ensureLabBootImages } from '../../lab/vm/initramfs.js';
import { applyChassisEvent, powerOffVm, vmPowerStatus, writePoweredVmSpec } from '../../lab/vm/vm-power.js';

describe('chassis events in the BMC order', { timeout: 120_000 }, () => {
  let stateDirectory: string;

  before(async () => {
    await ensureLabBootImages();
    stateDirectory = mkdtempSync(join(tmpdir(), 'rescued-chassis-order-'));
    // iPXE keeps trying a port where nothing listens: the VM stays on until it is switched off.
    writePoweredVmSpec(stateDirectory, {
      macAddress: '52:54:00:7e:57:02',
      memoryMiB: 256,
      defaultBootDevice: 'network',
      bootDevices: { network: { kind: 'network', bootFileUrl: `http://10.0.2.2:${await freePort()}/boot.ipxe` } },
    });
  });
  after(async () => {
    if (stateDirectory) {
      await powerOffVm(stateDirectory);
      rmSync(stateDirectory, { recursive: true, force: true });
    }
  });

  test("a cycle's late power-off is dropped; a newer one is applied", async () => {
    const on = await applyChassisEvent(stateDirectory, 'power-on', 'pxe', 8);
    assert.equal(on.applied, true);
    assert.equal(on.status.running, true);
    assert.equal(on.status.bootDevice, 'network');
    const late = await applyChassisEvent(stateDirectory, 'power-off', undefined, 7);
    assert.equal(late.applied, false, 'event 7 comes after event 8 was applied');
    assert.equal(vmPowerStatus(stateDirectory).pid, on.status.pid, 'the boot of event 8 runs on');
    assert.match(readFileSync(join(stateDirectory, 'power.log'), 'utf8'), /"action":"power-off-stale","sequence":7,"last":8/);
    const off = await applyChassisEvent(stateDirectory, 'power-off', undefined, 9);
    assert.equal(off.applied, true);
    assert.equal(vmPowerStatus(stateDirectory).running, false);
    // Without a number (a caller that is not chassis-control), every event is applied.
    assert.equal((await applyChassisEvent(stateDirectory, 'power-on', 'pxe')).status.running, true);
  });
});
