// fstab parsing, resolution against the file systems present, and the correction plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entryIsOptional, fstabEntries, namesLocalDevice, parseFstab, parseFstabSource, replaceFstabSpec, resolveFstabSource, type KnownFileSystem,
} from '../../shell/fstab.js';
import { planFstabCorrection, replaceFstabType } from '../../shell/fstab-correction.js';
import { describeFstabJudgment, isKnownFileSystemType, judgeFstab, typeFits } from '../../shell/fstab-check.js';
import { blockDeviceTable, parseProcPartitions, type BlockDeviceTable } from '../../shell/devices.js';

const ROOT = '11111111-1111-4111-8111-111111111111';
const DATA = '22222222-2222-4222-8222-222222222222';

const SAMPLE = [
  '# /etc/fstab: static file system information.',
  '#',
  `UUID=${ROOT.toUpperCase()}  /          ext4  errors=remount-ro 0 1`,
  `LABEL=data                                /srv/my\\040data  ext4  defaults,nofail 0 2`,
  '/dev/sda2  none  swap  sw  0 0',
  'proc  /proc  proc  defaults  0 0',
  'tmpfs /tmp tmpfs defaults 0 0',
  '/dev/disk/by-uuid/33333333-3333-4333-8333-333333333333 /boot ext4 defaults 0 2',
  'PARTUUID=abcd-01 /efi vfat umask=0077 0 1',
  '',
  'garbage',
].join('\n');

/** The rescue host's disks: vda with partitions 1 and 2, vdb with 1, an empty vdc. */
const TABLE: BlockDeviceTable = { disks: [{ name: 'vda', partitions: ['vda1', 'vda2'] }, { name: 'vdb', partitions: ['vdb1'] }, { name: 'vdc', partitions: [] }] };

const known: KnownFileSystem[] = [
  { device: '/dev/vda1', type: 'ext4', uuid: ROOT, label: 'root' },
  { device: '/dev/vdb1', type: 'ext4', uuid: DATA, label: 'data' },
];

test('parses entries, comments, blanks and malformed lines, with escaped blanks', () => {
  const lines = parseFstab(`${SAMPLE}\n`);
  assert.deepEqual(lines.map((line) => line.kind), ['comment', 'comment', 'entry', 'entry', 'entry', 'entry', 'entry', 'entry', 'entry', 'blank', 'malformed']);
  const entries = fstabEntries(lines);
  assert.equal(entries[0]?.source.kind, 'uuid');
  assert.equal(entries[0]?.source.value, ROOT, 'UUIDs compare in lower case');
  assert.equal(entries[0]?.pass, 1);
  assert.equal(entries[1]?.mountPoint, '/srv/my data');
  assert.deepEqual(entries[1]?.options, ['defaults', 'nofail']);
  assert.equal(entryIsOptional(entries[1]!), true);
  assert.deepEqual(entries.map(namesLocalDevice), [true, true, true, false, false, true, true]);
});

test('source forms: tags, quoted values, /dev/disk/by-*, device paths', () => {
  assert.deepEqual(parseFstabSource('UUID="AbC"'), { kind: 'uuid', value: 'abc' });
  assert.deepEqual(parseFstabSource('LABEL=My\\040Disk'), { kind: 'label', value: 'My Disk' });
  assert.deepEqual(parseFstabSource('/dev/disk/by-label/my\\x20disk'), { kind: 'label', value: 'my disk' });
  assert.deepEqual(parseFstabSource('/dev/disk/by-uuid/ABC'), { kind: 'uuid', value: 'abc' });
  assert.deepEqual(parseFstabSource('/dev/vda1'), { kind: 'device', value: '/dev/vda1' });
  assert.deepEqual(parseFstabSource('server:/export'), { kind: 'other', value: 'server:/export' });
});

test('resolution: found, missing, and what cannot be verified from a rescue environment', () => {
  assert.equal(resolveFstabSource({ kind: 'uuid', value: ROOT }, known).status, 'found');
  assert.equal(resolveFstabSource({ kind: 'uuid', value: 'ffff' }, known).status, 'missing');
  assert.equal(resolveFstabSource({ kind: 'label', value: 'data' }, known).status, 'found');
  assert.equal(resolveFstabSource({ kind: 'label', value: 'Data' }, known).status, 'missing', 'labels are case-sensitive');
  assert.equal(resolveFstabSource({ kind: 'partuuid', value: 'abcd-01' }, known).status, 'unverifiable');
  assert.equal(resolveFstabSource({ kind: 'device', value: '/dev/sda2' }, known).status, 'unverifiable');
  assert.equal(resolveFstabSource({ kind: 'device', value: '/dev/vdb1' }, known).status, 'found');
});

test('replaceFstabSpec keeps the rest of the line as written', () => {
  assert.equal(replaceFstabSpec('  UUID=old\t/data  ext4 defaults 0 2', 'UUID=new'), '  UUID=new\t/data  ext4 defaults 0 2');
});

test('correction: / to the file system it was read from, a mount point to the only fs with its name as label, the rest commented out', () => {
  const text = [
    '# static',
    'UUID=99999999-9999-4999-8999-999999999999 / ext4 errors=remount-ro 0 1',
    'UUID=88888888-8888-4888-8888-888888888888 /data ext4 defaults 0 2',
    'UUID=77777777-7777-4777-8777-777777777777 /srv ext4 defaults 0 2',
    'proc /proc proc defaults 0 0',
  ].join('\n');
  const plan = planFstabCorrection({
    lines: parseFstab(text),
    known: [...known, { device: '/dev/vdc1', type: 'ext4', uuid: '44444444-4444-4444-8444-444444444444', label: 'scratch' }],
    rootDevice: '/dev/vda1',
    blockDevices: TABLE,
    date: '2026-11-25',
  });
  assert.deepEqual(plan.changes.map((change) => [change.mountPoint, change.action, change.to]), [
    ['/', 'replaced', `UUID=${ROOT}`],
    ['/data', 'replaced', `UUID=${DATA}`],
    ['/srv', 'commented-out', null],
  ]);
  assert.equal(plan.text, [
    '# static',
    `# rescued: UUID=99999999-9999-4999-8999-999999999999 replaced by UUID=${ROOT} (no file system has UUID 99999999-9999-4999-8999-999999999999; the file system this fstab was read from) (2026-11-25)`,
    `UUID=${ROOT} / ext4 errors=remount-ro 0 1`,
    `# rescued: UUID=88888888-8888-4888-8888-888888888888 replaced by UUID=${DATA} (no file system has UUID 88888888-8888-4888-8888-888888888888; the only file system labelled "data") (2026-11-25)`,
    `UUID=${DATA} /data ext4 defaults 0 2`,
    '# rescued: commented out, no file system has UUID 77777777-7777-4777-8777-777777777777 (2026-11-25)',
    '#UUID=77777777-7777-4777-8777-777777777777 /srv ext4 defaults 0 2',
    'proc /proc proc defaults 0 0',
    '',
  ].join('\n'));
  // The corrected file needs nothing more: the plan is a fixed point.
  const again = planFstabCorrection({ lines: parseFstab(plan.text), known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: '2026-11-26' });
  assert.deepEqual(again.changes, []);
  assert.equal(again.text, plan.text);
});

test('correction: the only unused ext4 fs is taken when one entry is broken, not when two compete', () => {
  const spare: KnownFileSystem[] = [known[0]!, { device: '/dev/vdb1', type: 'ext4', uuid: DATA, label: null }];
  const one = planFstabCorrection({ lines: parseFstab('UUID=dead /home ext4 defaults 0 2\n'), known: spare, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.equal(one.changes[0]?.action, 'replaced');
  assert.equal(one.changes[0]?.to, `UUID=${DATA}`);
  const two = planFstabCorrection({ lines: parseFstab('UUID=dead /home ext4 defaults 0 2\nUUID=beef /opt ext4 defaults 0 2\n'), known: spare, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(two.changes.map((change) => change.action), ['commented-out', 'commented-out']);
});

test('correction: a file system another entry already uses is never taken twice', () => {
  const lines = parseFstab(`UUID=${DATA} /data ext4 defaults 0 2\nUUID=dead /backup ext4 defaults 0 2\n`);
  const plan = planFstabCorrection({ lines, known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(plan.changes.map((change) => change.action), ['commented-out']);
});

test('correction: nothing to do leaves the text byte for byte', () => {
  const text = `# hello\n\nUUID=${ROOT} / ext4 defaults 0 1\n`;
  const plan = planFstabCorrection({ lines: parseFstab(text), known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(plan.changes, []);
  assert.equal(plan.text, text);
});

test('judgment: device paths against the disk table, UUID and LABEL against the file systems, types, and /', () => {
  const text = [
    `UUID=${ROOT} / ext4 errors=remount-ro 0 1`,
    '/dev/vdb1 /data ext4 defaults 0 2',
    '/dev/vda7 /srv ext4 defaults 0 2',
    '/dev/sdc1 /backup ext4 defaults,nofail 0 2',
    '/dev/nvme0n1p2 /scratch xfs defaults 0 2',
    '/dev/vda2 none swap sw 0 0',
    '/dev/vdc1 /empty ext4 defaults 0 2',
    'LABEL=gone /gone ext4 defaults 0 2',
    'UUID=ffff /typo ext5 defaults 0 2',
    `LABEL=data /data2 xfs defaults 0 2`,
    '/dev/mapper/vg-home /home ext4 defaults 0 2',
    'PARTUUID=abcd-01 /efi vfat umask=0077 0 1',
    'proc /proc proc defaults 0 0',
    'server:/export /mnt nfs defaults 0 0',
  ].join('\n');
  const judgment = judgeFstab({ lines: parseFstab(text), known, rootDevice: '/dev/vda1', blockDevices: TABLE });
  const verdicts = Object.fromEntries(judgment.entries.map((item) => [item.entry.mountPoint, [item.source.status, ...item.problems.map((problem) => problem.check)]]));
  assert.deepEqual(verdicts, {
    '/': ['matched'],
    '/data': ['matched'],
    '/srv': ['missing', 'unresolved'],
    '/backup': ['missing', 'unresolved'],
    '/scratch': ['missing', 'unresolved'],
    none: ['unjudged'],
    '/empty': ['missing', 'unresolved'],
    '/gone': ['missing', 'unresolved'],
    '/typo': ['missing', 'unresolved', 'unknown-type'],
    '/data2': ['matched', 'wrong-type'],
    '/home': ['unjudged'],
    '/efi': ['unjudged'],
  });
  const reason = (mountPoint: string) => judgment.entries.find((item) => item.entry.mountPoint === mountPoint)?.problems[0]?.detail;
  assert.equal(reason('/srv'), 'disk /dev/vda has no partition 7: its partition table holds /dev/vda1, /dev/vda2');
  assert.equal(reason('/empty'), 'disk /dev/vdc has no partition 1: its partition table holds none');
  assert.equal(reason('/backup'), 'this machine has no disk /dev/sdc (its disks: /dev/vda, /dev/vdb, /dev/vdc)');
  assert.equal(reason('/scratch'), 'this machine has no disk /dev/nvme0n1 (its disks: /dev/vda, /dev/vdb, /dev/vdc)');
  assert.equal(reason('/gone'), 'no file system is labelled gone');
  assert.equal(reason('/data2'), 'the entry says xfs, but /dev/vdb1 holds ext4');
  assert.equal(judgment.entries.find((item) => item.entry.mountPoint === '/backup')?.optional, true);
  const swap = judgment.entries.find((item) => item.entry.mountPoint === 'none');
  assert.match(swap?.source.status === 'unjudged' ? swap.source.reason : '', /exists in the rescue environment, but its file system was not identified/);
});

test('judgment: a / entry that names another file system, and a cloned UUID that is not a mismatch', () => {
  const other = parseFstab('/dev/vdb1 / ext4 defaults 0 1\n');
  const judged = judgeFstab({ lines: other, known, rootDevice: '/dev/vda1', blockDevices: TABLE });
  assert.deepEqual(judged.entries[0]?.problems.map((problem) => problem.check), ['not-root']);
  assert.equal(judged.entries[0]?.problems[0]?.detail, 'it names /dev/vdb1, but this fstab lives on /dev/vda1');
  const clone: KnownFileSystem[] = [{ device: '/dev/vdb1', type: 'ext4', uuid: ROOT, label: 'root' }, known[0]!];
  const cloned = judgeFstab({ lines: parseFstab(`UUID=${ROOT} / ext4 defaults 0 1\n`), known: clone, rootDevice: '/dev/vda1', blockDevices: TABLE });
  assert.deepEqual(cloned.entries[0]?.problems, [], 'the same UUID on the fstab\'s own file system is a match');
  const fixed = planFstabCorrection({ lines: other, known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(fixed.changes.map((change) => [change.action, change.to]), [['replaced', `UUID=${ROOT}`]]);
});

test('the summary never claims a match it did not check', () => {
  const summary = (text: string) => describeFstabJudgment(judgeFstab({ lines: parseFstab(text), known, rootDevice: '/dev/vda1', blockDevices: TABLE }));
  assert.equal(summary(`UUID=${ROOT} / ext4 defaults 0 1\n/dev/vdb1 /data ext4 defaults 0 2\n`), '2 of 2 device entries match a file system present (/ by UUID, /data by device path)');
  const partly = summary(`UUID=${ROOT} / ext4 defaults 0 1\n/dev/vda2 none swap sw 0 0\nPARTUUID=abcd-01 /efi vfat umask=0077 0 1\n`);
  assert.match(partly, /^1 of 3 device entries match a file system present \(\/ by UUID\); 2 not checked: none \(\/dev\/vda2 exists/);
  assert.match(partly, /\/efi \(PARTUUID cannot be read without blkid\)/);
  assert.equal(summary('PARTUUID=abcd-01 /efi vfat umask=0077 0 1\n'), 'none of 1 device entry could be matched to a file system present; 1 not checked: /efi (PARTUUID cannot be read without blkid)');
  assert.doesNotMatch(summary('/dev/vda2 none swap sw 0 0\n'), /match a file system/);
  assert.equal(summary('proc /proc proc defaults 0 0\n'), 'no entry names a local device');
});

test('types: what Linux knows, and which fit a file system', () => {
  for (const type of ['ext4', 'xfs', 'vfat', 'swap', 'auto', 'btrfs', 'fuse.sshfs', 'nfs4', 'ext3,ext4']) assert.ok(isKnownFileSystemType(type), type);
  for (const type of ['ext5', 'xsf', 'ext4,foo', '']) assert.ok(!isKnownFileSystemType(type), type);
  assert.ok(typeFits('ext3', 'ext4'));
  assert.ok(typeFits('auto', 'xfs'));
  assert.ok(typeFits('vfat', 'msdos'));
  assert.ok(!typeFits('xfs', 'ext4'));
});

test('correction: device paths that name nothing, types that are wrong or unknown', () => {
  const text = [
    `UUID=${ROOT} / ext4 errors=remount-ro 0 1`,
    '/dev/sdb1 /data ext4 defaults 0 2',
    '/dev/vda7 /srv ext4 defaults 0 2',
    `UUID=${DATA} /mnt/x xfs defaults 0 2`,
    'LABEL=gone /gone ext5 defaults 0 2',
  ].join('\n');
  const plan = planFstabCorrection({ lines: parseFstab(text), known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: '2026-11-25' });
  assert.deepEqual(plan.changes.map((change) => [change.lineNumber, change.action, change.from, change.to]), [
    [2, 'commented-out', '/dev/sdb1', null],
    [3, 'commented-out', '/dev/vda7', null],
    [4, 'retyped', 'xfs', 'ext4'],
    [5, 'commented-out', 'LABEL=gone', null],
  ]);
  assert.equal(plan.text.split('\n').slice(1, 5).join('\n'), [
    '# rescued: commented out, this machine has no disk /dev/sdb (its disks: /dev/vda, /dev/vdb, /dev/vdc) (2026-11-25)',
    '#/dev/sdb1 /data ext4 defaults 0 2',
    '# rescued: commented out, disk /dev/vda has no partition 7: its partition table holds /dev/vda1, /dev/vda2 (2026-11-25)',
    '#/dev/vda7 /srv ext4 defaults 0 2',
  ].join('\n'));
  assert.match(plan.text, /# rescued: type xfs replaced by ext4 \(\/dev\/vdb1 holds ext4\) \(2026-11-25\)\nUUID=\S+ \/mnt\/x ext4 defaults 0 2/);
  // /mnt/x names vdb1 (labelled data) by UUID: /data must not be handed the same file system.
  const again = planFstabCorrection({ lines: parseFstab(plan.text), known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(again.changes, [], 'a corrected file needs nothing more');
  const byPath = planFstabCorrection({ lines: parseFstab('/dev/sdb1 /data ext4 defaults 0 2\n'), known, rootDevice: '/dev/vda1', blockDevices: TABLE, date: 'd' });
  assert.deepEqual(byPath.changes.map((change) => [change.action, change.to]), [['replaced', `UUID=${DATA}`]], 'by UUID when the file system can be identified');
  assert.equal(replaceFstabType('  /dev/x\t/a   xfs  defaults 0 0', 'ext4'), '  /dev/x\t/a   ext4  defaults 0 0');
});

test('the block-device table: every disk the kernel lists, with the partitions its table holds', () => {
  const partitions = parseProcPartitions([
    'major minor  #blocks  name', '', ' 254 0 1048576 vda', ' 254 1 524288 vda1', ' 254 2 1 vda2', ' 254 5 262144 vda5',
    ' 259 0 2097152 nvme0n1', ' 259 1 1048576 nvme0n1p1', ' 7 0 100 loop0', ' 1 2 3 bad\u0000name',
  ].join('\n'));
  assert.deepEqual(blockDeviceTable(partitions, ['vda', 'nvme0n1', 'loop0']), { disks: [
    { name: 'loop0', partitions: [] },
    { name: 'nvme0n1', partitions: ['nvme0n1p1'] },
    { name: 'vda', partitions: ['vda1', 'vda2', 'vda5'] },
  ] });
});
