// test-lane: vm (boots QEMU machines of the virtual lab)
// End-to-end rescues of virtual machines that really boot, break and come back (issue 12, item 4), on one
// shared stack (test/support/e2e-lab.ts): each case breaks a lab machine through the lab, which boots it
// broken from its disk; an Alertmanager alert at the webhook starts the rescue; the machine network-boots through
// our TFTP and HTTP servers (iPXE), its power goes through ipmitool to ipmi_sim, whose chassis control powers
// the QEMU machine; the rescue image phones home, is diagnosed and repaired over SSH, the machine boots its
// installed OS from the repaired disk (its own GRUB: in the MBR, or on the ESP under OVMF), and the verification
// hears that OS's SSH server. A disk that only a reinstall fixes gets, after an approval, the machine's previous
// profile through rescued's install path and the lab installer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEndToEndLab, type EndToEndLab } from '../support/e2e-lab.js';
import { checkDiskImage, rootFileSystemPath } from '../../lab/vm/disks.js';
import { powerOffVm } from '../../lab/vm/vm-power.js';
import { INSTALLED_OS_UP } from '../../lab/fleet/installed-os.js';
import type { LabMachineSpec } from '../../lab/fleet/virtual-lab.js';

const MACHINES: LabMachineSpec[] = [
  { name: 'e2e-sb' },
  { name: 'e2e-fstab' },
  { name: 'e2e-silent' },
  { name: 'e2e-kernel' },
  { name: 'e2e-uefi', firmware: 'uefi' },
];

describe('end-to-end rescues of lab machines', { timeout: 600_000 }, () => {
  let lab: EndToEndLab;

  before(async () => {
    lab = await startEndToEndLab(MACHINES);
  });
  after(async () => {
    await lab?.stop();
  });

  /** Diagnostics for a failed assertion: the rescue's status and the machine's console. */
  const evidence = (name: string, status: unknown) => `${JSON.stringify(status, null, 2)}\n--- ${name} console ---\n${lab.console(name).slice(-4000)}`;

  async function waitForState(name: string, state: string, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status } = await lab.api.rescues.status(name);
      if (status.state === state) return;
      if (status.outcome !== null || Date.now() > deadline) throw new Error(`the rescue of ${name} never reached ${state}: ${evidence(name, status)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function repairedAfter(name: string, fault: 'superblock' | 'fstab', findingPattern: RegExp): Promise<void> {
    await lab.breakMachine(name, fault);
    const alert = await lab.fireAlert(name);
    assert.equal(alert.status, 200, JSON.stringify(alert.body));
    const result = await lab.outcome(name);
    assert.equal(result.outcome, 'repaired', evidence(name, result.status));
    assert.equal(result.status.requestedBy, 'automation:alertmanager');
    assert.ok(result.status.findingsBeforeRepair?.some((f) => findingPattern.test(`${f.id} ${f.summary ?? ''}`)), evidence(name, result.status.findingsBeforeRepair));
    const verification = String(result.status.evidence.verification);
    assert.match(verification, /^SSH at 127\.0\.0\.1:\d+ .*answered/, 'the installed OS itself answered, over SSH');
    assert.ok(verification.includes(`:${lab.machine(name).sshHostPort} `), verification);
    const consoleText = lab.console(name);
    assert.match(consoleText, /RESCUED-RESCUE: phoned home/, 'the rescue image came up and called back');
    assert.match(consoleText, INSTALLED_OS_UP, 'the installed OS booted from the repaired disk');
    // The TFTP fetch of the per-MAC iPXE script is in the console (iPXE's own output).
    assert.match(consoleText, /boot\.ipxe/);
    const machine = lab.machine(name);
    await powerOffVm(machine.vmDirectory);
    assert.equal((await checkDiskImage(rootFileSystemPath({ path: machine.diskPath, rootOffsetBytes: machine.diskRootOffsetBytes }))).exitCode, 0, 'the disk is clean after the rescue');
  }

  test('(a) a corrupted superblock: repaired, the installed OS boots from its disk and answers', async () => {
    await repairedAfter('e2e-sb', 'superblock', /superblock|file.?system|e2fsck|fsck/i);
  });

  test('(b) an fstab entry that cannot be satisfied: repaired the same way', async () => {
    await repairedAfter('e2e-fstab', 'fstab', /fstab/i);
  });

  test('(d) the rescue image never phones home: cycles as configured, fails with what the machine fetched, boot config gone', async () => {
    const name = 'e2e-silent';
    await lab.breakMachine(name, 'superblock');
    await lab.breakMachine(name, 'no-phone-home');
    assert.equal((await lab.fireAlert(name)).status, 200);
    const result = await lab.outcome(name);
    assert.equal(result.outcome, 'failed', evidence(name, result.status));
    assert.equal(result.status.powerCycles, 2, 'power-cycled as often as configured (maxPowerCycles 2)');
    assert.match(String(result.status.error), /did not phone home after 2 power cycle/);
    const fetches = JSON.stringify(result.status.evidence.bootFetches);
    assert.match(fetches, /boot\.ipxe|ipxe/i, `the evidence names what the machine fetched: ${fetches}`);
    assert.match(fetches, /silent\.cpio\.gz/, `and the image it fetched: ${fetches}`);
    assert.match(lab.console(name), /RESCUED-LAB-MARKER this-image-never-phones-home/);
    // The rescue boot config is gone: the per-MAC iPXE script no longer boots the rescue image.
    const script = await fetch(`${lab.api.url}/boot/ipxe/${lab.machine(name).mac}`).then((r) => r.text());
    assert.doesNotMatch(script, /silent\.cpio\.gz|rescued\.callback/, script);
  });

  test('(c) kernel gone: approval, a reinstall of the previous profile through a real autoinstall run, outcome reinstalled', async () => {
    const name = 'e2e-kernel';
    // The lab recorded the install the machine's disk came from (its profile, through the install-status callbacks).
    const history = await lab.api.request('GET', `/api/v1/systems/${name}/install-history`);
    assert.equal(history.body[0]?.outcome, 'success', JSON.stringify(history.body));
    const patched = await lab.api.request('PATCH', `/api/v1/systems/${name}`, { body: { rescuePolicy: 'repair-then-reinstall' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await lab.breakMachine(name, 'kernel-gone');
    assert.equal((await lab.fireAlert(name)).status, 200);
    await waitForState(name, 'awaiting-approval');
    const approved = await lab.api.request('POST', `/api/v1/rescues/${name}/approve`, { body: { comment: 'e2e' } });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const result = await lab.outcome(name);
    assert.equal(result.outcome, 'reinstalled', evidence(name, result.status));
    assert.match(String(result.status.evidence.approval), /^approved by /);
    const consoleText = lab.console(name);
    assert.match(consoleText, /error: file `\/boot\/vmlinuz-[^']*' not found/, 'the machine first failed in its own boot loader');
    // The installer ran from rescued's install boot config, called back, wrote the image; then the new OS booted.
    assert.match(consoleText, /RESCUED-INSTALLER: called started[\s\S]*RESCUED-INSTALLER: called finished[\s\S]*RESCUED-INSTALLED: sshd up/, consoleText.slice(-4000));
    const installs = await lab.api.request('GET', `/api/v1/systems/${name}/install-history`);
    assert.equal(installs.body.length, 2, JSON.stringify(installs.body));
    assert.equal(installs.body[0]?.outcome, 'success', JSON.stringify(installs.body));
    assert.equal(installs.body[0]?.profile, 'lab');
    assert.match(String(result.status.evidence.verification), /answered/);
  });

  test('(e) a UEFI machine (OVMF): a corrupted superblock repaired through the UEFI boot path', async () => {
    await repairedAfter('e2e-uefi', 'superblock', /superblock|file.?system|e2fsck|fsck/i);
  });
});
