// fstab parsing, resolution against the file systems present, and the correction plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entryIsOptional, fstabEntries, namesLocalDevice, parseFstab, parseFstabSource, replaceFstabSpec, resolveFstabSource, type KnownFileSystem,
} from '../../shell/fstab.js';
import { planFstabCorrection } from '../../shell/fstab-correction.js';

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
    date: '2026-11-25',
  });
  assert.deepEqual(plan.changes.map((change) => [change.mountPoint, change.action, change.to]), [
    ['/', 'replaced', `UUID=${ROOT}`],
    ['/data', 'replaced', `UUID=${DATA}`],
    ['/srv', 'commented-out', null],
  ]);
  assert.equal(plan.text, [
    '# static',
    `# rescued: UUID=99999999-9999-4999-8999-999999999999 not found, replaced by UUID=${ROOT} (the file system this fstab was read from) (2026-11-25)`,
    `UUID=${ROOT} / ext4 errors=remount-ro 0 1`,
    `# rescued: UUID=88888888-8888-4888-8888-888888888888 not found, replaced by UUID=${DATA} (the only file system labelled "data") (2026-11-25)`,
    `UUID=${DATA} /data ext4 defaults 0 2`,
    '# rescued: commented out, UUID=77777777-7777-4777-8777-777777777777 not found (2026-11-25)',
    '#UUID=77777777-7777-4777-8777-777777777777 /srv ext4 defaults 0 2',
    'proc /proc proc defaults 0 0',
    '',
  ].join('\n'));
  // The corrected file needs nothing more: the plan is a fixed point.
  const again = planFstabCorrection({ lines: parseFstab(plan.text), known, rootDevice: '/dev/vda1', date: '2026-11-26' });
  assert.deepEqual(again.changes, []);
  assert.equal(again.text, plan.text);
});

test('correction: the only unused ext4 fs is taken when one entry is broken, not when two compete', () => {
  const spare: KnownFileSystem[] = [known[0]!, { device: '/dev/vdb1', type: 'ext4', uuid: DATA, label: null }];
  const one = planFstabCorrection({ lines: parseFstab('UUID=dead /home ext4 defaults 0 2\n'), known: spare, rootDevice: '/dev/vda1', date: 'd' });
  assert.equal(one.changes[0]?.action, 'replaced');
  assert.equal(one.changes[0]?.to, `UUID=${DATA}`);
  const two = planFstabCorrection({ lines: parseFstab('UUID=dead /home ext4 defaults 0 2\nUUID=beef /opt ext4 defaults 0 2\n'), known: spare, rootDevice: '/dev/vda1', date: 'd' });
  assert.deepEqual(two.changes.map((change) => change.action), ['commented-out', 'commented-out']);
});

test('correction: a file system another entry already uses is never taken twice', () => {
  const lines = parseFstab(`UUID=${DATA} /data ext4 defaults 0 2\nUUID=dead /backup ext4 defaults 0 2\n`);
  const plan = planFstabCorrection({ lines, known, rootDevice: '/dev/vda1', date: 'd' });
  assert.deepEqual(plan.changes.map((change) => change.action), ['commented-out']);
});

test('correction: nothing to do leaves the text byte for byte', () => {
  const text = `# hello\n\nUUID=${ROOT} / ext4 defaults 0 1\n`;
  const plan = planFstabCorrection({ lines: parseFstab(text), known, rootDevice: '/dev/vda1', date: 'd' });
  assert.deepEqual(plan.changes, []);
  assert.equal(plan.text, text);
});
