// Pure parsing in shell/: e2fsck exit codes, df, superblocks, blkid, /proc/partitions, pinned host keys, smartctl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2fsckProblemLines, interpretE2fsckExit, saysNoExtFileSystem } from '../../shell/e2fsck-exit.js';
import { parseDfOutput, percentUsed, usageFromSuperblock } from '../../shell/df.js';
import { extTypeFromFeatures, parseBlkidExport, parseExtSuperblock } from '../../shell/ext-superblock.js';
import { discoverDevices, fileSystemCandidates, parseProcPartitions } from '../../shell/devices.js';
import { hostKeyMatches, parsePinnedHostKey } from '../../shell/host-key.js';
import { interpretSmartctlExit } from '../../shell/probes/smart.js';
import { errorLines } from '../../shell/probes/boot-logs.js';
import { freeSpaceSeverity } from '../../shell/probes/free-space.js';
import { ROTATED_LOG } from '../../shell/playbooks/free-space.js';
import { evidenceText } from '../../shell/evidence.js';

test('e2fsck exit codes', () => {
  assert.equal(interpretE2fsckExit(0).clean, true);
  assert.equal(interpretE2fsckExit(0).description, 'no errors');
  const one = interpretE2fsckExit(1);
  assert.deepEqual([one.clean, one.corrected, one.rebootNeeded, one.uncorrected], [false, true, false, false]);
  const two = interpretE2fsckExit(2);
  assert.deepEqual([two.corrected, two.rebootNeeded], [true, true]);
  const four = interpretE2fsckExit(4);
  assert.deepEqual([four.corrected, four.uncorrected], [false, true]);
  assert.equal(four.description, 'errors left uncorrected');
  assert.equal(interpretE2fsckExit(8).operationalError, true);
  assert.equal(interpretE2fsckExit(12).description, 'errors left uncorrected, operational error');
  assert.equal(interpretE2fsckExit(16).usageError, true);
  assert.equal(interpretE2fsckExit(32).cancelled, true);
  assert.equal(interpretE2fsckExit(128).libraryError, true);
});

test('e2fsck output: no ext file system vs problems', () => {
  const none = 'e2fsck 1.47.0 (5-Feb-2023)\next2fs_open2: Bad magic number in super-block\ne2fsck: Superblock invalid, trying backup blocks...\n\nThe superblock could not be read or does not describe a valid ext2/ext3/ext4\nfilesystem.';
  assert.equal(saysNoExtFileSystem(none), true);
  assert.equal(saysNoExtFileSystem('e2fsck: Bad magic number in super-block while trying to open empty.raw'), true);
  const broken = [
    'ext2fs_open2: Bad magic number in super-block', 'e2fsck: Superblock invalid, trying backup blocks...',
    'Pass 1: Checking inodes, blocks, and sizes', 'Pass 2: Checking directory structure',
    'Padding at end of inode bitmap is not set. Fix? no', '', 'root: ********** WARNING: Filesystem still has errors **********',
    'root: 13/4096 files (0.0% non-contiguous), 2327/16384 blocks',
  ].join('\n');
  assert.equal(saysNoExtFileSystem(broken), false);
  assert.deepEqual(e2fsckProblemLines(broken), [
    'ext2fs_open2: Bad magic number in super-block', 'e2fsck: Superblock invalid, trying backup blocks...', 'Padding at end of inode bitmap is not set. Fix? no',
  ]);
});

test('df -P -k, GNU and busybox', () => {
  const gnu = 'Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/loop3           57288    52004      1056      99% /tmp/rescued-mnt.AbC123\n';
  const [line] = parseDfOutput(gnu);
  assert.equal(line?.fileSystem, '/dev/loop3');
  assert.equal(line?.mountedOn, '/tmp/rescued-mnt.AbC123');
  assert.equal(line?.sizeBytes, 57288 * 1024);
  assert.equal(line?.usedBytes, 52004 * 1024);
  assert.equal(line?.availableBytes, 1056 * 1024);
  assert.equal(line?.usedPercent, 99);
  const busybox = 'Filesystem           1024-blocks    Used Available Capacity Mounted on\n/dev/vda1               264212084  16866788  78634476  18% /mnt/with space\n';
  assert.equal(parseDfOutput(busybox)[0]?.mountedOn, '/mnt/with space');
  assert.equal(parseDfOutput(busybox)[0]?.usedPercent, 18);
  assert.deepEqual(parseDfOutput('df: /nope: No such file or directory\n'), []);
  assert.equal(percentUsed(0, 0), 0);
  assert.equal(percentUsed(901, 99), 91, 'rounded up, as df does');
});

test('free-space thresholds: warning above 90 %, critical above 98 %', () => {
  assert.deepEqual([90, 91, 98, 99].map(freeSpaceSeverity), ['info', 'warning', 'warning', 'critical']);
});

const DUMPE2FS = [
  'Filesystem volume name:   root',
  'Last mounted on:          <not available>',
  'Filesystem UUID:          0A1B2C3D-0000-4000-8000-000000000001',
  'Filesystem features:      has_journal ext_attr resize_inode dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum',
  'Filesystem state:         clean',
  'Inode count:              16384',
  'Block count:              65536',
  'Reserved block count:     3276',
  'Free blocks:              6000',
  'Block size:               1024',
  'Blocks per group:         8192',
  'Inode size:\t          256',
  'Total journal size:       4096k',
].join('\n');

test('superblock fields from dumpe2fs -h / tune2fs -l', () => {
  const superblock = parseExtSuperblock(DUMPE2FS);
  assert.ok(superblock);
  assert.equal(superblock.uuid, '0a1b2c3d-0000-4000-8000-000000000001');
  assert.equal(superblock.label, 'root');
  assert.equal(superblock.lastMountedOn, null);
  assert.equal(superblock.inodeSize, 256);
  assert.equal(superblock.journalBytes, 4096 * 1024);
  assert.equal(extTypeFromFeatures(superblock.features), 'ext4');
  assert.equal(extTypeFromFeatures(['has_journal', 'ext_attr']), 'ext3');
  assert.equal(extTypeFromFeatures(['ext_attr']), 'ext2');
  assert.equal(parseExtSuperblock('tune2fs: Bad magic number in super-block while trying to open x'), null);
  const usage = usageFromSuperblock(superblock);
  assert.ok(usage);
  // 65536 blocks - (4096 inode table + 4096 journal + 16 bitmap) blocks = 57328; 6000 free, 3276 reserved.
  assert.equal(usage.sizeBytes, 57328 * 1024);
  assert.equal(usage.availableBytes, (6000 - 3276) * 1024);
  assert.equal(usage.usedPercent, Math.ceil(((57328 - 6000) * 100) / (57328 - 6000 + 2724)));
});

test('blkid -o export', () => {
  const fields = parseBlkidExport('DEVNAME=/dev/vda1\nLABEL=my\\ disk\nUUID=ABC\nTYPE=ext4\nPARTUUID=1234-01\n');
  assert.equal(fields.get('LABEL'), 'my disk');
  assert.equal(fields.get('TYPE'), 'ext4');
});

test('/proc/partitions: disks, their partitions, and what is never examined', () => {
  const text = [
    'major minor  #blocks  name', '',
    ' 254        0   10485760 vda', ' 254        1    9436160 vda1', ' 254        2          1 vda2', ' 254        5    1046528 vda5',
    ' 259        0  500107608 nvme0n1', ' 259        1     524288 nvme0n1p1', ' 259        2  499582279 nvme0n1p2',
    '   7        0      65536 loop0', '  11        0    1048575 sr0', ' 254       16    2097152 vdb',
  ].join('\n');
  const partitions = parseProcPartitions(text);
  assert.equal(partitions.length, 10);
  const devices = discoverDevices(partitions, ['loop0', 'nvme0n1', 'sr0', 'vda', 'vdb']);
  assert.deepEqual(devices.map((device) => [device.path, device.kind, device.parent]), [
    ['/dev/nvme0n1', 'disk', null], ['/dev/nvme0n1p1', 'partition', '/dev/nvme0n1'], ['/dev/nvme0n1p2', 'partition', '/dev/nvme0n1'],
    ['/dev/vda', 'disk', null], ['/dev/vda1', 'partition', '/dev/vda'], ['/dev/vda5', 'partition', '/dev/vda'],
    ['/dev/vdb', 'disk', null],
  ]);
  assert.equal(devices.find((device) => device.path === '/dev/vda1')?.sizeBytes, 9436160 * 1024);
  assert.deepEqual(fileSystemCandidates(devices).map((device) => device.path), ['/dev/nvme0n1p1', '/dev/nvme0n1p2', '/dev/vda1', '/dev/vda5', '/dev/vdb']);
});

test('pinned host key lines', () => {
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]);
  const line = `ssh-ed25519 ${blob.toString('base64')} root@rescue`;
  const pinned = parsePinnedHostKey(line);
  assert.equal(pinned.type, 'ssh-ed25519');
  assert.equal(hostKeyMatches(pinned, blob), true);
  const other = Buffer.from(blob);
  other[other.length - 1] = 8;
  assert.equal(hostKeyMatches(pinned, other), false);
  assert.throws(() => parsePinnedHostKey(`ssh-rsa ${blob.toString('base64')}`), /says ssh-rsa but its key is ssh-ed25519/);
  assert.throws(() => parsePinnedHostKey('not a key'), /not an OpenSSH public key line/);
  assert.throws(() => parsePinnedHostKey(''), /not an OpenSSH public key line/);
});

test('smartctl exit bits', () => {
  assert.equal(interpretSmartctlExit(0).description, 'SMART health PASSED');
  assert.equal(interpretSmartctlExit(2).severity, 'info');
  assert.equal(interpretSmartctlExit(8).severity, 'critical');
  assert.equal(interpretSmartctlExit(16).severity, 'warning');
});

test('log error lines: only errors, newest last, the cut first line dropped', () => {
  const lines = errorLines('rror: half a line\nNov 25 ok\nNov 25 kernel: EXT4-fs error (device vda1)\nNov 25 systemd: Failed to mount /data\nNov 25 fine\n');
  assert.deepEqual(lines, ['Nov 25 kernel: EXT4-fs error (device vda1)', 'Nov 25 systemd: Failed to mount /data']);
});

test('rotated logs are recognised, live logs are not', () => {
  for (const name of ['syslog.1', 'syslog.2.gz', 'messages-20240101', 'dpkg.log.1', 'kern.log.4.xz', 'old.gz']) assert.ok(ROTATED_LOG.test(name), name);
  for (const name of ['syslog', 'kern.log', 'boot.log', 'wtmp', 'lastlog']) assert.ok(!ROTATED_LOG.test(name), name);
});

test('evidence output keeps head and tail', () => {
  assert.equal(evidenceText('  short  '), 'short');
  const long = `${'a'.repeat(5000)}END`;
  const trimmed = evidenceText(long, 200);
  assert.ok(trimmed.startsWith('a'.repeat(34)));
  assert.ok(trimmed.endsWith('END'));
  assert.ok(trimmed.length <= 200);
  assert.match(trimmed, /\[cut 4867 bytes\]/);
});
