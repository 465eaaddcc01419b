// Which playbooks a repair runs, in what order; how a file system is reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRepair } from '../../shell/repair.js';
import { asDiagnosisReport } from '../../shell/diagnose.js';
import { chooseAccessMethod } from '../../shell/file-systems/open.js';
import { toolInventory } from '../../shell/tools.js';
import type { Finding } from '../../shell/findings.js';

function problem(id: string, device: string, repair: Finding['repair'], severity: Finding['severity'] = 'critical'): Finding {
  return { id, probe: 'fstab', severity, subject: device, device, summary: id, evidence: [], ...(repair ? { repair } : {}) };
}

test('one run per playbook and device, file system repair first, info findings ignored', () => {
  const plan = planRepair([
    problem('free', '/dev/vda1', 'free-space', 'warning'),
    problem('fstab-a', '/dev/vda1', 'fstab-correct'),
    problem('fstab-b', '/dev/vda1', 'fstab-correct'),
    problem('fs-b', '/dev/vdb1', 'filesystem-repair'),
    problem('fs-a', '/dev/vda1', 'filesystem-repair'),
    problem('kernel', '/dev/vda1', undefined),
    problem('info', '/dev/vda1', 'free-space', 'info'),
  ]);
  assert.deepEqual(plan.map((run) => [run.playbook, run.device, run.findings.map((item) => item.id)]), [
    ['filesystem-repair', '/dev/vda1', ['fs-a']],
    ['filesystem-repair', '/dev/vdb1', ['fs-b']],
    ['fstab-correct', '/dev/vda1', ['fstab-a', 'fstab-b']],
    ['free-space', '/dev/vda1', ['free']],
  ]);
});

test('auto reads with debugfs and writes through a mount, each falling back to the other', () => {
  const both = toolInventory({ debugfs: '/sbin/debugfs', mount: '/bin/mount' });
  assert.equal(chooseAccessMethod('auto', both, false, 'ext4'), 'debugfs');
  assert.equal(chooseAccessMethod('auto', both, true, 'ext4'), 'mount');
  assert.equal(chooseAccessMethod('auto', toolInventory({ debugfs: '/sbin/debugfs' }), true, 'ext4'), 'debugfs');
  assert.equal(chooseAccessMethod('auto', toolInventory({ mount: '/bin/mount' }), false, 'ext4'), 'mount');
  assert.equal(chooseAccessMethod('auto', both, false, 'xfs'), 'mount', 'debugfs reads only ext2/3/4');
  assert.equal(chooseAccessMethod('debugfs', both, true, 'ext4'), 'debugfs');
  assert.equal(chooseAccessMethod('mount', both, false, 'ext4'), 'mount');
});

test('a stored diagnosis is checked before a repair trusts it', () => {
  const report = { host: 'h', fileSystemAccess: 'auto', requestedDevices: null, devices: [{ path: '/dev/vda' }], findings: [problem('a', '/dev/vda1', 'fstab-correct')] };
  assert.equal(asDiagnosisReport(report), report);
  assert.throws(() => asDiagnosisReport(null), /not an object/);
  assert.throws(() => asDiagnosisReport({ ...report, fileSystemAccess: 'ftp' }), /fileSystemAccess/);
  assert.throws(() => asDiagnosisReport({ ...report, findings: [{ ...problem('a', '/dev/vda1', undefined), severity: 'bad' }] }), /findings\[0\]\.severity/);
  assert.throws(() => asDiagnosisReport({ ...report, findings: [{ ...problem('a', '/dev/vda1', undefined), repair: 'format-disk' }] }), /findings\[0\]\.repair/);
  assert.doesNotThrow(() => asDiagnosisReport({ ...report, findings: [{ ...problem('a', '/dev/vda1', undefined), repair: null }] }));
});
