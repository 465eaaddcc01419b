// Diagnosis and repair over SSH (a real sshd on 127.0.0.1) against ext4 IMAGE FILES in a temp dir, broken on
// purpose: a corrupted file system, a zeroed superblock, an fstab naming UUIDs that do not exist, a default
// kernel that is gone, a full disk. The probes only ever see the image paths given here: never a real disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../support/sshd.js';
import {
  buildExt4Image, clearInodeOf, debianGrubConfig, e2fsckStatus, listImageDirectory, makeScratchDirectory, readImageFile, sha256, zeroPrimarySuperblock,
} from '../support/shell-images.js';
import {
  asDiagnosisReport, diagnose, openSession, problems, repair, type DiagnosisReport, type FileSystemAccessPreference, type RepairReport, type ShellSession,
} from '../../shell/index.js';

let sshd: TestSshd;
let session: ShellSession;
let scratch: string;

const ROOT_UUID = '0a1b2c3d-0000-4000-8000-000000000001';
const DATA_UUID = '0a1b2c3d-0000-4000-8000-000000000002';
const KERNEL = '6.1.0-18-amd64';
const OLD_KERNEL = '6.1.0-9-amd64';
const FIXED_NOW = new Date('2026-11-25T12:00:00Z');
const LATER = new Date('2026-11-26T08:30:00Z');

function image(name: string): string {
  return join(scratch, name);
}

/** A small Debian-like root file system; `extra` adds or replaces files, null removes them. */
function rootFiles(extra: Record<string, string | { sizeBytes: number } | null> = {}): Record<string, string | { sizeBytes: number }> {
  const files: Record<string, string | { sizeBytes: number } | null> = {
    'etc/fstab': `# /etc/fstab\nUUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1\nproc /proc proc defaults 0 0\n`,
    'etc/hostname': 'web01\n',
    'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\n',
    [`boot/vmlinuz-${KERNEL}`]: 'kernel',
    [`boot/initrd.img-${KERNEL}`]: 'initrd',
    [`boot/vmlinuz-${OLD_KERNEL}`]: 'old kernel',
    [`boot/initrd.img-${OLD_KERNEL}`]: 'old initrd',
    'boot/grub/grub.cfg': debianGrubConfig(ROOT_UUID, [KERNEL, OLD_KERNEL]),
    'var/log/syslog': 'Nov 24 10:00:00 web01 systemd[1]: Started ssh.service.\nNov 24 10:00:01 web01 kernel: EXT4-fs error (device vda1): ext4_lookup: deleted inode referenced\n',
    ...extra,
  };
  return Object.fromEntries(Object.entries(files).filter((entry): entry is [string, string | { sizeBytes: number }] => entry[1] !== null));
}

async function diagnosed(devices: string[], fileSystemAccess: FileSystemAccessPreference = 'auto'): Promise<DiagnosisReport> {
  return diagnose(session, { devices, fileSystemAccess, now: () => FIXED_NOW });
}

function problemIds(report: DiagnosisReport): string[] {
  return problems(report.findings).map((item) => item.id);
}

function assertComplete(report: DiagnosisReport): void {
  assert.deepEqual(report.probesRun.filter((run) => !run.ok), [], 'every probe ran');
  assert.equal(report.complete, true);
}

/** Runs a dry run and checks that not a byte of any image changed. */
async function dryRun(report: DiagnosisReport, images: string[]): Promise<RepairReport> {
  const before = images.map(sha256);
  const result = await repair(session, report, { dryRun: true, now: () => FIXED_NOW });
  assert.deepEqual(images.map(sha256), before, 'a dry run changes nothing');
  assert.ok(result.results.every((item) => item.dryRun && !item.changed), 'nothing reported as changed');
  assert.deepEqual(result.remaining, problemIds(report), 'the fresh diagnosis still sees every problem');
  return result;
}

before(async () => {
  scratch = makeScratchDirectory();
  sshd = await startSshd();
  session = await openSession({ host: sshd.host, port: sshd.port, privateKey: sshd.clientKey.privateKey, hostKey: sshd.hostKey, connectTimeoutMs: 10_000 });
});

after(async () => {
  await session?.close();
  await sshd?.stop();
  // Nothing mounted or left behind by the mount-based file system access.
  const mounts = readFileSync('/proc/mounts', 'utf8');
  const leftovers = readdirSync('/tmp').filter((name) => name.startsWith('rescued-mnt.') || name.startsWith('rescued-debugfs.'));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  assert.doesNotMatch(mounts, /rescued-mnt\./, 'every mount was undone');
  assert.deepEqual(leftovers, [], 'no temp mount points or files left');
});

test('a healthy system: a clean, complete, JSON-plain report', async (t) => {
  const root = buildExt4Image(image('healthy.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles() });
  const checksum = sha256(root);
  const report = await diagnosed([root]);
  t.diagnostic(`diagnosis of one 64 MiB file system over SSH: ${report.durationMs} ms (${report.probesRun.map((run) => `${run.probe} ${run.durationMs}`).join(', ')})`);
  assertComplete(report);
  assert.deepEqual(problemIds(report), []);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  assert.equal(sha256(root), checksum, 'a diagnosis changes nothing');
  assert.equal(report.devices[0]?.fileSystem?.uuid, ROOT_UUID);
  assert.equal(report.devices[0]?.kind, 'file');
  const ids = report.findings.map((item) => item.id);
  for (const expected of [`filesystems:clean:${root}`, `fstab:ok:${root}:/etc/fstab`, `boot:ok:${root}:/boot/grub/grub.cfg`, `free-space:ok:${root}`, `boot-logs:errors:${root}:/var/log`]) {
    assert.ok(ids.includes(expected), `${expected} in ${ids.join(', ')}`);
  }
  const logs = report.findings.find((item) => item.probe === 'boot-logs');
  assert.match(logs?.evidence[0]?.output ?? '', /EXT4-fs error/);
  assert.doesNotMatch(logs?.evidence[0]?.output ?? '', /Started ssh/);
  const smart = report.findings.find((item) => item.probe === 'smart');
  if (!report.tools.smartctl) assert.match(smart?.summary ?? '', /not available/);
});

test('a device that does not exist is a critical finding, not an error', async () => {
  const report = await diagnosed([image('nope.img')]);
  assertComplete(report);
  const missing = report.findings.find((item) => item.id === `block-devices:missing:${image('nope.img')}`);
  assert.equal(missing?.severity, 'critical');
  assert.ok(problemIds(report).includes('fstab:no-root:' + report.host), 'and no installed system was found');
});

describe('(a) a corrupted file system', () => {
  for (const damage of ['cleared inode', 'zeroed primary superblock'] as const) {
    test(`${damage}: critical finding, dry run changes nothing, e2fsck -fy repairs, re-diagnosis clean, second run unchanged`, async (t) => {
      const root = buildExt4Image(image(`corrupt-${damage.split(' ')[0]}.img`), { uuid: ROOT_UUID, label: 'root', files: rootFiles() });
      if (damage === 'cleared inode') clearInodeOf(root, '/etc/hostname');
      else zeroPrimarySuperblock(root);
      assert.equal(e2fsckStatus(root), 4);

      const report = await diagnosed([root]);
      assertComplete(report);
      const critical = report.findings.find((item) => item.id === `filesystems:errors:${root}`);
      assert.ok(critical, problemIds(report).join(', '));
      assert.equal(critical.severity, 'critical');
      assert.equal(critical.repair, 'filesystem-repair');
      assert.match(critical.evidence[0]?.command ?? '', /'e2fsck' '-fn'/);
      if (damage === 'zeroed primary superblock') assert.equal(report.devices[0]?.fileSystem, null, 'no identity without a superblock');

      const dry = await dryRun(report, [root]);
      assert.equal(dry.results.find((item) => item.playbook === 'filesystem-repair')?.status, 'would-change');

      const started = performance.now();
      const fixed = await repair(session, report, { dryRun: false, now: () => FIXED_NOW });
      t.diagnostic(`repair (e2fsck -fy) and re-diagnosis: ${Math.round(performance.now() - started)} ms`);
      const result = fixed.results.find((item) => item.playbook === 'filesystem-repair');
      assert.equal(result?.status, 'changed', JSON.stringify(result));
      assert.equal(result?.changed, true);
      assert.ok(fixed.resolved.includes(`filesystems:errors:${root}`));
      assertComplete(fixed.after);
      assert.deepEqual(fixed.remaining, []);
      assert.equal(e2fsckStatus(root), 0);
      assert.equal(fixed.after.devices[0]?.fileSystem?.uuid, ROOT_UUID);

      const again = await repair(session, report, { dryRun: false, now: () => LATER });
      assert.deepEqual(again.results.map((item) => [item.playbook, item.status, item.changed]), [['filesystem-repair', 'unchanged', false]]);
    });
  }
});

describe('(b) an fstab that names file systems that do not exist', () => {
  for (const access of ['auto', 'debugfs', 'mount'] as const) {
    test(`fixed where identifiable, commented out where not, backup kept (file system access: ${access})`, async () => {
      const wrongRoot = '0a1b2c3d-0000-4000-8000-00000000dead';
      const original = [
        '# /etc/fstab: static file system information.',
        `UUID=${wrongRoot} /     ext4 errors=remount-ro 0 1`,
        'UUID=ffffffff-0000-4000-8000-000000000002 /data ext4 defaults 0 2',
        'UUID=eeeeeeee-0000-4000-8000-000000000003 /srv  ext4 defaults 0 2',
        'proc /proc proc defaults 0 0',
        '',
      ].join('\n');
      const root = buildExt4Image(image(`fstab-${access}-root.img`), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ 'etc/fstab': original }) });
      const data = buildExt4Image(image(`fstab-${access}-data.img`), { uuid: DATA_UUID, label: 'data', sizeMiB: 16, files: { 'README': 'data\n' } });

      const report = await diagnosed([root, data], access);
      assertComplete(report);
      assert.deepEqual(problemIds(report).sort(), [`fstab:unresolved:${root}:/etc/fstab:/`, `fstab:unresolved:${root}:/etc/fstab:/data`, `fstab:unresolved:${root}:/etc/fstab:/srv`].sort());
      assert.ok(report.findings.filter((item) => item.probe === 'fstab' && item.severity !== 'info').every((item) => item.severity === 'critical' && item.repair === 'fstab-correct'));

      const dry = await dryRun(report, [root, data]);
      const planned = dry.results.find((item) => item.playbook === 'fstab-correct');
      assert.equal(planned?.status, 'would-change');
      assert.match(planned?.actions.join('\n') ?? '', /would keep the original as \/etc\/fstab\.rescued-20261125T120000Z/);

      // As the activities do it: the report stored as JSON, read back and checked.
      const stored = asDiagnosisReport(JSON.parse(JSON.stringify(report)));
      const fixed = await repair(session, stored, { dryRun: false, now: () => FIXED_NOW });
      assert.deepEqual(fixed.results.map((item) => [item.playbook, item.status]), [['fstab-correct', 'changed']], JSON.stringify(fixed.results));
      assert.equal(readImageFile(root, '/etc/fstab'), [
        '# /etc/fstab: static file system information.',
        `# rescued: UUID=${wrongRoot} replaced by UUID=${ROOT_UUID} (no file system has UUID ${wrongRoot}; the file system this fstab was read from) (2026-11-25)`,
        `UUID=${ROOT_UUID} /     ext4 errors=remount-ro 0 1`,
        `# rescued: UUID=ffffffff-0000-4000-8000-000000000002 replaced by UUID=${DATA_UUID} (no file system has UUID ffffffff-0000-4000-8000-000000000002; the only file system labelled "data") (2026-11-25)`,
        `UUID=${DATA_UUID} /data ext4 defaults 0 2`,
        '# rescued: commented out, no file system has UUID eeeeeeee-0000-4000-8000-000000000003 (2026-11-25)',
        '#UUID=eeeeeeee-0000-4000-8000-000000000003 /srv  ext4 defaults 0 2',
        'proc /proc proc defaults 0 0',
        '',
      ].join('\n'));
      assert.equal(readImageFile(root, '/etc/fstab.rescued-20261125T120000Z'), original);
      assert.deepEqual(fixed.remaining, []);
      assertComplete(fixed.after);
      assert.equal(e2fsckStatus(root), 0, 'the writes left a consistent file system');

      const again = await repair(session, report, { dryRun: false, now: () => LATER });
      assert.deepEqual(again.results.map((item) => [item.playbook, item.status, item.changed]), [['fstab-correct', 'unchanged', false]]);
      assert.deepEqual(listImageDirectory(root, '/etc').filter((name) => name.startsWith('fstab.rescued-')), ['fstab.rescued-20261125T120000Z'], 'no second backup');
    });
  }
});

/** A disk of this machine (the rescue host in these tests) and a partition number its table does not hold; null without disks. */
function absentPartitionOfAPresentDisk(): { path: string; disk: string; held: string[] } | null {
  const names = readdirSync('/sys/block').filter((name) => !/^(loop|ram|zram|sr|fd|dm-|md)/.test(name)).sort();
  const disk = names[0];
  if (!disk) return null;
  const partitions = readFileSync('/proc/partitions', 'utf8').split('\n').map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter((name) => name.startsWith(disk) && name !== disk);
  const separator = /\d$/.test(disk) ? 'p' : '';
  let number = 1;
  while (partitions.includes(`${disk}${separator}${number}`)) number += 1;
  return { path: `/dev/${disk}${separator}${number + 6}`, disk: `/dev/${disk}`, held: partitions.map((name) => `/dev/${name}`) };
}

describe('(b2) an fstab judged against the disks, types and its own file system', () => {
  test('a disk that does not exist, a partition its disk does not hold, a LABEL nothing has, an unknown type: corrected by UUID, commented out or retyped, backup kept', async () => {
    const LOGS_UUID = '0a1b2c3d-0000-4000-8000-000000000003';
    const absent = absentPartitionOfAPresentDisk();
    const original = [
      '# /etc/fstab',
      `UUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1`,
      '/dev/sdzz1 /data ext4 defaults 0 2',
      ...(absent ? [`${absent.path} /srv ext4 defaults 0 2`] : []),
      'LABEL=gone /gone ext4 defaults,nofail 0 2',
      `UUID=${LOGS_UUID} /var/log/archive ext5 defaults 0 2`,
      'proc /proc proc defaults 0 0',
      '',
    ].join('\n');
    const root = buildExt4Image(image('judge-root.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ 'etc/fstab': original }) });
    const data = buildExt4Image(image('judge-data.img'), { uuid: DATA_UUID, label: 'data', sizeMiB: 16, files: { README: 'data\n' } });
    const logs = buildExt4Image(image('judge-logs.img'), { uuid: LOGS_UUID, label: 'archive', sizeMiB: 16, files: { README: 'logs\n' } });

    const report = await diagnosed([root, data, logs], 'debugfs');
    assertComplete(report);
    const fstab = (check: string, mountPoint: string) => report.findings.find((item) => item.id === `fstab:${check}:${root}:/etc/fstab:${mountPoint}`);
    assert.equal(fstab('unresolved', '/data')?.severity, 'critical');
    assert.match(fstab('unresolved', '/data')?.summary ?? '', /this machine has no disk \/dev\/sdzz \(its disks: .*\); without nofail the boot stops in emergency mode/);
    if (absent) {
      assert.equal(fstab('unresolved', '/srv')?.severity, 'critical');
      assert.match(fstab('unresolved', '/srv')?.summary ?? '', new RegExp(`disk ${absent.disk} has no partition \\d+: its partition table holds`));
    }
    assert.equal(fstab('unresolved', '/gone')?.severity, 'warning', 'nofail: the boot goes on');
    assert.match(fstab('unresolved', '/gone')?.summary ?? '', /no file system is labelled gone; nofail\/noauto: the boot goes on without it/);
    assert.equal(fstab('unknown-type', '/var/log/archive')?.severity, 'critical');
    assert.match(fstab('unknown-type', '/var/log/archive')?.summary ?? '', /"ext5" is not a file-system type Linux mounts \(the file system there is ext4\)/);
    assert.ok(report.findings.filter((item) => item.probe === 'fstab' && item.severity !== 'info').every((item) => item.repair === 'fstab-correct'));
    assert.equal(report.findings.some((item) => item.id === `fstab:ok:${root}:/etc/fstab`), false, 'no claim that everything matches');

    await dryRun(report, [root, data, logs]);
    const fixed = await repair(session, report, { dryRun: false, now: () => FIXED_NOW, fileSystemAccess: 'debugfs' });
    const result = fixed.results.find((item) => item.playbook === 'fstab-correct');
    assert.equal(result?.status, 'changed', JSON.stringify(fixed.results));
    assert.match(result?.actions.join('\n') ?? '', /kept the original as \/etc\/fstab\.rescued-20261125T120000Z/);
    assert.match(result?.actions.join('\n') ?? '', new RegExp(`line 3 \\(/data\\): /dev/sdzz1 replaced by UUID=${DATA_UUID} \\(this machine has no disk /dev/sdzz`));
    assert.match(result?.actions.join('\n') ?? '', /\(\/var\/log\/archive\): type ext5 replaced by ext4/);
    const written = readImageFile(root, '/etc/fstab') ?? '';
    assert.match(written, new RegExp(`\\n# rescued: /dev/sdzz1 replaced by UUID=${DATA_UUID} \\(.*\\) \\(2026-11-25\\)\\nUUID=${DATA_UUID} /data ext4 defaults 0 2\\n`));
    if (absent) assert.match(written, new RegExp(`\\n# rescued: commented out, disk ${absent.disk} has no partition .*\\n#${absent.path} /srv ext4 defaults 0 2\\n`));
    assert.match(written, /\n# rescued: commented out, no file system is labelled gone \(2026-11-25\)\n#LABEL=gone \/gone ext4 defaults,nofail 0 2\n/);
    assert.match(written, new RegExp(`\\n# rescued: type ext5 replaced by ext4 \\(.*judge-logs\\.img holds ext4\\) \\(2026-11-25\\)\\nUUID=${LOGS_UUID} /var/log/archive ext4 defaults 0 2\\n`));
    assert.equal(readImageFile(root, '/etc/fstab.rescued-20261125T120000Z'), original);
    assert.deepEqual(fixed.remaining, []);
    const ok = fixed.after.findings.find((item) => item.id === `fstab:ok:${root}:/etc/fstab`);
    assert.equal(ok?.summary, '3 of 3 device entries match a file system present (/ by UUID, /data by UUID, /var/log/archive by UUID)');
    assert.equal(e2fsckStatus(root), 0);

    const again = await repair(session, report, { dryRun: false, now: () => LATER, fileSystemAccess: 'debugfs' });
    assert.deepEqual(again.results.map((item) => [item.playbook, item.status, item.changed]), [['fstab-correct', 'unchanged', false]]);
    assert.match(again.results[0]?.actions[0] ?? '', /^nothing to correct in \/etc\/fstab: 3 of 3 device entries match/);
  });

  test('a / entry that names another file system is pointed back at its own; what cannot be checked is said so', async () => {
    // A disk this machine has (the rescue host here) but that is not examined: it exists, its file system is unknown.
    const present = absentPartitionOfAPresentDisk()?.disk;
    const original = `UUID=${DATA_UUID} / ext4 errors=remount-ro 0 1\n${present ? `${present} /srv ext4 defaults 0 2\n` : ''}PARTUUID=0000-01 /efi vfat umask=0077 0 1\n`;
    const root = buildExt4Image(image('notroot-root.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ 'etc/fstab': original }) });
    const data = buildExt4Image(image('notroot-data.img'), { uuid: DATA_UUID, label: 'data', sizeMiB: 16, files: { README: 'data\n' } });
    const report = await diagnosed([root, data], 'debugfs');
    const notRoot = report.findings.find((item) => item.id === `fstab:not-root:${root}:/etc/fstab:/`);
    assert.equal(notRoot?.severity, 'warning');
    assert.match(notRoot?.summary ?? '', new RegExp(`it names .*notroot-data\\.img, but this fstab lives on .*notroot-root\\.img`));
    const fixed = await repair(session, report, { dryRun: false, now: () => FIXED_NOW, fileSystemAccess: 'debugfs' });
    assert.equal(fixed.results[0]?.status, 'changed', JSON.stringify(fixed.results));
    assert.match(readImageFile(root, '/etc/fstab') ?? '', new RegExp(`\\nUUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1\\n`));
    assert.deepEqual(fixed.remaining, []);
    // /srv names a disk of the rescue host that was not examined, /efi a PARTUUID: neither counted as a match.
    const ok = fixed.after.findings.find((item) => item.id === `fstab:ok:${root}:/etc/fstab`);
    const count = present ? 3 : 2;
    assert.match(ok?.summary ?? '', new RegExp(`^1 of ${count} device entries match a file system present \\(/ by UUID\\); ${count - 1} not checked: `));
    if (present) assert.match(ok?.summary ?? '', /\/srv \(\/dev\/\S+ exists in the rescue environment, but its file system was not identified/);
    assert.ok(fixed.after.findings.some((item) => item.id === `fstab:unverifiable:${root}:/etc/fstab:/efi` && item.severity === 'info'));
  });
});

describe('(c) kernels and the boot loader', () => {
  test('the default kernel is gone: the previous one becomes the default', async () => {
    const root = buildExt4Image(image('kernel-gone.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ [`boot/vmlinuz-${KERNEL}`]: null, [`boot/initrd.img-${KERNEL}`]: null }) });
    const report = await diagnosed([root]);
    assertComplete(report);
    const missing = report.findings.find((item) => item.id === `boot:default-kernel-missing:${root}:/boot/grub/grub.cfg`);
    assert.ok(missing, problemIds(report).join(', '));
    assert.equal(missing.severity, 'critical');
    assert.equal(missing.repair, 'kernel-previous-default');
    assert.match(missing.summary, new RegExp(`vmlinuz-${KERNEL}, which does not exist`));

    await dryRun(report, [root]);
    const fixed = await repair(session, report, { dryRun: false, now: () => FIXED_NOW });
    assert.deepEqual(fixed.results.map((item) => [item.playbook, item.status]), [['kernel-previous-default', 'changed']], JSON.stringify(fixed.results));
    assert.deepEqual(fixed.remaining, []);
    const grub = readImageFile(root, '/boot/grub/grub.cfg') ?? '';
    assert.match(grub, new RegExp(`set default="gnulinux-advanced-${ROOT_UUID}>gnulinux-${OLD_KERNEL}-advanced-${ROOT_UUID}"`));
    assert.equal(readImageFile(root, '/boot/grub/grub.cfg.rescued-20261125T120000Z'), debianGrubConfig(ROOT_UUID, [KERNEL, OLD_KERNEL]));
    const ok = fixed.after.findings.find((item) => item.id === `boot:ok:${root}:/boot/grub/grub.cfg`);
    assert.match(ok?.summary ?? '', new RegExp(`vmlinuz-${OLD_KERNEL}`));

    const again = await repair(session, report, { dryRun: false, now: () => LATER });
    assert.deepEqual(again.results.map((item) => [item.status, item.changed]), [['unchanged', false]]);
  });

  test('no kernel at all: critical, with no playbook (reinstall is the answer)', async () => {
    const root = buildExt4Image(image('no-kernel.img'), {
      uuid: ROOT_UUID, label: 'root',
      files: rootFiles({ [`boot/vmlinuz-${KERNEL}`]: null, [`boot/vmlinuz-${OLD_KERNEL}`]: null, [`boot/initrd.img-${KERNEL}`]: null, [`boot/initrd.img-${OLD_KERNEL}`]: null }),
    });
    const report = await diagnosed([root]);
    const noKernel = report.findings.find((item) => item.id === `boot:no-kernel:${root}:/boot`);
    assert.equal(noKernel?.severity, 'critical');
    assert.equal(noKernel?.repair, undefined);
    const defaultMissing = report.findings.find((item) => item.probe === 'boot' && item.id.includes('default-kernel-missing'));
    assert.equal(defaultMissing?.repair, undefined, 'no entry to fall back to');
  });

  test('a kernel without its initramfs is a warning; no grub.cfg is critical and the reinstall is `unavailable` here', async () => {
    const root = buildExt4Image(image('no-grub.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ 'boot/grub/grub.cfg': null, [`boot/initrd.img-${OLD_KERNEL}`]: null }) });
    const report = await diagnosed([root]);
    const noGrub = report.findings.find((item) => item.id === `boot:no-grub-config:${root}:/boot`);
    assert.equal(noGrub?.severity, 'critical');
    assert.equal(noGrub?.repair, 'bootloader-reinstall');
    assert.equal(report.findings.find((item) => item.id === `boot:no-initramfs-${OLD_KERNEL}:${root}:/boot`)?.severity, 'warning');
    const checksum = sha256(root);
    const attempt = await repair(session, report, { dryRun: false });
    const reinstall = attempt.results.find((item) => item.playbook === 'bootloader-reinstall');
    assert.equal(reinstall?.status, 'unavailable');
    assert.equal(reinstall?.changed, false);
    assert.equal(sha256(root), checksum);
    assert.ok(attempt.remaining.includes(`boot:no-grub-config:${root}:/boot`), 'still there, and said so');
  });

  test('a playbook that is not allowed does not run', async () => {
    const root = buildExt4Image(image('not-allowed.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles({ [`boot/vmlinuz-${KERNEL}`]: null }) });
    const report = await diagnosed([root]);
    const checksum = sha256(root);
    const attempt = await repair(session, report, { dryRun: false, allowed: ['filesystem-repair', 'free-space'] });
    assert.deepEqual(attempt.results.map((item) => [item.playbook, item.status]), [['kernel-previous-default', 'not-allowed']]);
    assert.equal(sha256(root), checksum);
  });
});

describe('(d) a full file system', () => {
  for (const access of ['auto', 'mount'] as const) {
    test(`package caches and rotated logs are removed, live logs kept (file system access: ${access})`, async () => {
      const root = buildExt4Image(image(`full-${access}.img`), {
        uuid: ROOT_UUID, label: 'root',
        files: rootFiles({
          'var/cache/apt/archives/linux-image-6.1.0-18-amd64_6.1.76-1_amd64.deb': { sizeBytes: 46 * 1024 * 1024 },
          'var/cache/apt/archives/libc6_2.36-9+deb12u4_amd64.deb': { sizeBytes: 3 * 1024 * 1024 },
          'var/cache/apt/archives/lock': '',
          'var/log/syslog.1': 'old log\n'.repeat(10_000),
          'var/log/apt/history.log.1.gz': 'gz',
        }),
      });
      const report = await diagnosed([root], access);
      assertComplete(report);
      const low = report.findings.find((item) => item.id === `free-space:low:${root}`);
      assert.ok(low, problemIds(report).join(', '));
      assert.ok(low.severity === 'warning' || low.severity === 'critical');
      assert.equal(low.repair, 'free-space');

      const dry = await dryRun(report, [root]);
      assert.match(dry.results[0]?.actions.join('\n') ?? '', /would remove 4 file\(s\)/);

      const fixed = await repair(session, report, { dryRun: false, fileSystemAccess: access });
      assert.deepEqual(fixed.results.map((item) => [item.playbook, item.status]), [['free-space', 'changed']], JSON.stringify(fixed.results));
      assert.match(fixed.results[0]?.actions[0] ?? '', /^removed 4 file\(s\)/);
      assert.deepEqual(fixed.remaining, []);
      assert.deepEqual(listImageDirectory(root, '/var/cache/apt/archives').sort(), ['lock', 'partial'].filter((name) => listImageDirectory(root, '/var/cache/apt/archives').includes(name)).sort());
      assert.equal(readImageFile(root, '/var/log/syslog.1'), null);
      assert.notEqual(readImageFile(root, '/var/log/syslog'), null, 'the live log is kept');
      assert.equal(e2fsckStatus(root), 0);

      const again = await repair(session, report, { dryRun: false, fileSystemAccess: access });
      assert.deepEqual(again.results.map((item) => [item.status, item.changed]), [['unchanged', false]]);
    });
  }
});

test('a cancelled diagnosis stops, and still unmounts what it mounted', async () => {
  const root = buildExt4Image(image('cancelled.img'), { uuid: ROOT_UUID, label: 'root', files: rootFiles() });
  const controller = new AbortController();
  const steps: string[] = [];
  await assert.rejects(diagnose(session, {
    devices: [root],
    fileSystemAccess: 'mount',
    signal: controller.signal,
    onProgress: (step) => {
      steps.push(step);
      if (step === 'probe free-space') controller.abort(new Error('cancelled'));
    },
  }), /cancelled/);
  assert.deepEqual(steps, ['probe block-devices', 'probe storage', 'probe filesystems', 'probe fstab', 'probe boot', 'probe free-space']);
  assert.doesNotMatch(readFileSync('/proc/mounts', 'utf8'), new RegExp(root.replaceAll('/', '\\/')));
  assert.doesNotMatch(readFileSync('/proc/mounts', 'utf8'), /rescued-mnt\./);
});

test('no image is left attached to a loop device', () => {
  if (!existsSync('/sys/block')) return;
  const attached = readdirSync('/sys/block').filter((name) => name.startsWith('loop')).flatMap((name) => {
    const backing = join('/sys/block', name, 'loop', 'backing_file');
    return existsSync(backing) ? [readFileSync(backing, 'utf8').trim()] : [];
  });
  assert.deepEqual(attached.filter((file) => file.startsWith(scratch)), []);
});
