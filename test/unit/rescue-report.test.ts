// The rescue report: the diagnosis before and after repair side by side, what each playbook did, and every
// evidence field printed as readable text (never `[object Object]`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRescueReport } from '../../rescue/report.js';
import { renderRescueReport } from '../../cli/commands/rescue.js';
import { formatTree, formatValue } from '../../cli/output.js';
import type { RescueRunView } from '../../db/repositories/rescues.js';

const finding = (id: string, severity: string, summary: string, evidence: unknown[] = []) => ({ id, probe: id.split(':')[0], subject: id.split(':').slice(2).join(':'), severity, summary, device: '/dev/vda1', evidence });

function run(overrides: Partial<RescueRunView> = {}): RescueRunView {
  return {
    id: 1, workflowId: 'rescue-web01', runId: 'r1', system: 'web01', reason: 'node down', requestedBy: 'alertmanager', state: 'repaired', outcome: 'repaired',
    environment: 'rescue-deb', startedAt: '2026-11-25T12:00:00.000Z', finishedAt: '2026-11-25T12:05:00.000Z',
    steps: [{ step: 'diagnosing', startedAt: '2026-11-25T12:01:00.000Z', finishedAt: '2026-11-25T12:02:00.000Z', outcome: 'done' }],
    diagnosisBeforeRepair: { findings: [
      finding('filesystems:errors:/dev/vda1', 'critical', 'e2fsck -fn: errors left uncorrected', [{ command: "'e2fsck' '-fn' '/dev/vda1'", exitCode: 4, output: 'Pass 1: Checking inodes\nInode 12 has illegal blocks' }]),
      finding('fstab:unresolved:/dev/vda1:/etc/fstab:/data', 'critical', 'line 3 (/dev/sdzz1 on /data, ext4) names nothing present'),
      finding('boot:no-grub-config:/dev/vda1:/boot', 'critical', 'no grub/grub.cfg'),
      finding('block-devices:device:/dev/vda1', 'info', 'partition /dev/vda1, 64 MiB'),
    ] },
    diagnosis: { findings: [
      finding('filesystems:clean:/dev/vda1', 'info', 'e2fsck -fn: no errors'),
      finding('boot:no-grub-config:/dev/vda1:/boot', 'critical', 'no grub/grub.cfg', [{ command: 'debugfs ls /boot', exitCode: 0, output: 'vmlinuz-6.1' }]),
      finding('free-space:low:/dev/vda1', 'warning', '95% used'),
      finding('block-devices:device:/dev/vda1', 'info', 'partition /dev/vda1, 64 MiB'),
    ] },
    repairs: [
      { playbook: 'filesystem-repair', subject: '/dev/vda1', status: 'changed', changed: true, actions: ['e2fsck -fy /dev/vda1: errors corrected'], findings: ['filesystems:errors:/dev/vda1'], evidence: [{ command: "'e2fsck' '-fy' '/dev/vda1'", exitCode: 1, output: 'Clear? yes' }] },
      { playbook: 'fstab-correct', subject: '/dev/vda1:/etc/fstab', status: 'changed', changed: true, actions: ['kept the original as /etc/fstab.rescued-20261125T120000Z', 'line 3 (/data): /dev/sdzz1 replaced by UUID=abc'], findings: ['fstab:unresolved:/dev/vda1:/etc/fstab:/data'], evidence: [] },
      { playbook: 'bootloader-reinstall', subject: '/dev/vda1', status: 'unavailable', changed: false, actions: ['grub-install is not available'], findings: ['boot:no-grub-config:/dev/vda1:/boot'], evidence: [], error: { kind: 'command-failed', message: 'no grub-install' } },
    ],
    evidence: {
      selection: 'pinned by profile web',
      power: { bootdevVia: 'ipmitool', cycleVia: 'ipmitool', attempts: [{ driver: 'ipmitool', outcome: 'ok', failure: null }, { driver: 'redfish', outcome: 'skipped', failure: 'not configured' }] },
      phoneHome: { ip: '127.0.0.2', hostKey: 'SHA256:abc', afterPowerCycles: 1 },
      verification: '127.0.0.2:22 answered after 1 tries',
    },
    error: null,
    ...overrides,
  };
}

test('before and after, finding by finding, with the playbooks that worked on each', () => {
  const report = buildRescueReport(run());
  assert.equal(report.repaired, true);
  const outcome = Object.fromEntries(report.comparison.map((item) => [item.id, [item.outcome, item.before?.severity ?? null, item.after?.severity ?? null]]));
  assert.deepEqual(outcome, {
    'filesystems:errors:/dev/vda1': ['resolved', 'critical', null],
    'fstab:unresolved:/dev/vda1:/etc/fstab:/data': ['resolved', 'critical', null],
    'boot:no-grub-config:/dev/vda1:/boot': ['remaining', 'critical', 'critical'],
    'block-devices:device:/dev/vda1': ['unchanged', 'info', 'info'],
    'filesystems:clean:/dev/vda1': ['unchanged', null, 'info'],
    'free-space:low:/dev/vda1': ['appeared', null, 'warning'],
  });
  assert.deepEqual(report.comparison.find((item) => item.id === 'boot:no-grub-config:/dev/vda1:/boot')?.playbooks, [{ playbook: 'bootloader-reinstall', status: 'unavailable' }]);
  assert.equal(report.playbooks[2]?.error, 'no grub-install');
});

test('the CLI prints both diagnoses side by side, what each playbook changed, and readable evidence', () => {
  const text = renderRescueReport(buildRescueReport(run()), { evidence: true });
  assert.doesNotMatch(text, /\[object Object\]/);
  assert.match(text, /diagnosis before and after repair:\nOUTCOME\s+PROBE\s+SUBJECT\s+BEFORE\s+AFTER\s+PLAYBOOK/);
  assert.match(text, /✓ resolved\s+filesystems\s+\/dev\/vda1\s+critical\s+gone\s+filesystem-repair \(changed\)/);
  assert.match(text, /✗ remaining\s+boot\s+\/dev\/vda1:\/boot\s+critical\s+critical\s+bootloader-reinstall \(unavailable\)/);
  assert.match(text, /! appeared\s+free-space/);
  assert.match(text, /  filesystems \/dev\/vda1  \[resolved\]\n    before: critical, e2fsck -fn: errors left uncorrected\n    after:  gone\n      \$ 'e2fsck' '-fn' '\/dev\/vda1'  \(exit 4\)\n        Pass 1: Checking inodes\n        Inode 12 has illegal blocks/);
  assert.match(text, /what each playbook did:\n  filesystem-repair on \/dev\/vda1: changed\n    - e2fsck -fy \/dev\/vda1: errors corrected\n      \$ 'e2fsck' '-fy' '\/dev\/vda1'  \(exit 1\)\n        Clear\? yes/);
  assert.match(text, /fstab-correct on \/dev\/vda1:\/etc\/fstab: changed\n    - kept the original as \/etc\/fstab\.rescued-20261125T120000Z\n    - line 3 \(\/data\): \/dev\/sdzz1 replaced by UUID=abc/);
  assert.match(text, /    error: no grub-install/);
  assert.match(text, /evidence:\n  selection: pinned by profile web\n  power:\n    bootdev via: ipmitool\n    cycle via: ipmitool\n    attempts:\n      - driver: ipmitool\n        outcome: ok\n        failure: -\n      - driver: redfish\n        outcome: skipped\n        failure: not configured\n  phone home:\n    ip: 127.0.0.2/);
  const quiet = renderRescueReport(buildRescueReport(run()));
  assert.doesNotMatch(quiet, /\$ 'e2fsck'/, 'command outputs only with --evidence');
});

test('a run without repair shows its one diagnosis; a run without any shows that', () => {
  const diagnosed = run({ diagnosisBeforeRepair: null, repairs: [], outcome: 'needs-attention' });
  const report = buildRescueReport(diagnosed);
  assert.equal(report.repaired, false);
  assert.ok(report.comparison.every((item) => item.outcome === 'not-repaired' && item.after === null));
  const text = renderRescueReport(report);
  assert.match(text, /diagnosis \(no repair ran\):\nSEVERITY\s+PROBE\s+SUBJECT\s+FINDING\ninfo\s+filesystems[^\n]*\ncritical\s+boot\s+\/dev\/vda1:\/boot\s+no grub\/grub.cfg/);
  assert.match(text, /problems:\n  boot \/dev\/vda1:\/boot\n    critical: no grub\/grub.cfg/);
  const empty = renderRescueReport(buildRescueReport(run({ diagnosisBeforeRepair: null, diagnosis: null, repairs: [], evidence: {} })));
  assert.match(empty, /diagnosis: \(none yet\)\n\(none\)/);
  assert.match(empty, /evidence:\n  -$/);
});

test('nested values print as text: formatValue and formatTree', () => {
  assert.equal(formatValue({ a: { b: 1 }, c: [1, 2] }), 'a={"b":1}, c=[1,2]');
  assert.deepEqual(formatTree({ note: 'two\nlines', list: ['a', 'b'], empty: [] }), ['note:', '    two', '    lines', 'list: a, b', 'empty: -']);
});
