// The zoo's pure parts: naming ext4 damage, reading xfs_repair, mdadm --examine, LVM's JSON reports and the
// md/dm listing, correcting root= in grub.cfg, judging whether a kernel can boot, and the XFS log policy (-L only
// when allowed, and said). Outputs are the tools' own, as printed by e2fsprogs 1.47, xfsprogs 6.1, mdadm 4.2 and
// lvm2 2.03 on Debian bookworm (copied from runs on this machine and in the rescue VM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyExtDamage, describeExtDamage, e2fsckModified } from '../../shell/ext-damage.js';
import { interpretXfsRepairCheck, refusedForDirtyLog } from '../../shell/xfs-repair-output.js';
import { missingRoles, parseLogicalVolumes, parseMdExamine, parsePhysicalVolumes } from '../../shell/md-examine.js';
import { parseStackedDevices, stackedOn } from '../../shell/storage.js';
import { replaceKernelRoot } from '../../shell/playbooks/grub-root-correct.js';
import { entryComplete, type BootInventory } from '../../shell/boot-files.js';
import { kernelRootArgument, parseGrubConfig } from '../../shell/grub.js';
import { xfsRepairPlaybook } from '../../shell/playbooks/xfs-repair.js';
import { storageProbe } from '../../shell/probes/storage.js';
import { DiagnosisContext } from '../../shell/probes/context.js';
import { PlaybookContext } from '../../shell/playbooks/types.js';
import { toolInventory } from '../../shell/tools.js';
import type { ExecResult, RescueHost } from '../../shell/rescue-host.js';

const ORPHAN_FSCK = `Pass 1: Checking inodes, blocks, and sizes
Deleted inode 16 has zero dtime.  Fix? no

Pass 2: Checking directory structure
Pass 5: Checking group summary information
Block bitmap differences:  -(2332--2351)
Fix? no

Inode bitmap differences:  -16
Fix? no
`;

test('ext4 damage is named: orphan list, journal, superblock, cleared inodes', () => {
  const orphans = classifyExtDamage(ORPHAN_FSCK, 'Filesystem features:      has_journal ext_attr extent\nFirst orphan inode:       16\n');
  assert.deepEqual(orphans.classes, ['orphan-inodes']);
  assert.equal(orphans.firstOrphanInode, 16);
  assert.match(describeExtDamage(orphans), /orphan inodes .*first inode 16/);

  const journal = classifyExtDamage('Warning: skipping journal recovery because doing a read-only filesystem check.\nPass 1: Checking inodes\n',
    'Filesystem features:      has_journal ext_attr resize_inode dir_index filetype needs_recovery extent 64bit\n');
  assert.deepEqual(journal.classes, ['journal-recovery']);

  const superblock = classifyExtDamage('ext2fs_open2: Superblock checksum does not match superblock\n../e2fsck/e2fsck: Superblock invalid, trying backup blocks....\n', '');
  assert.ok(superblock.classes.includes('superblock'));

  const cleared = classifyExtDamage("Entry 'syslog' in /var/log (12) has deleted/unused inode 14.  Clear? no\n", 'First orphan inode:       0\n');
  assert.deepEqual(cleared.classes.sort(), ['cleared-inodes', 'directories']);

  assert.equal(e2fsckModified('/dev/vdc: recovering journal\nPass 1: ...\n'), true);
  assert.equal(e2fsckModified('Clearing orphaned inode 16 (uid=0, gid=0, mode=0100644, size=20000)\n'), true);
  assert.equal(e2fsckModified('Pass 1: Checking inodes, blocks, and sizes\n/dev/vdc: 13/8192 files\n'), false);
});

test('xfs_repair: corruption, a dirty log, and the refusal that asks for -L', () => {
  const corrupt = interpretXfsRepairCheck(1, 'Phase 1 - find and verify superblock...\nPhase 2 - using internal log\n        - zero log...\nagf_freeblks 1234, counted 20470 in ag 1\nagi_count 999, counted 0 in ag 2\nNo modify flag set, skipping phase 5\n');
  assert.equal(corrupt.corrupt, true);
  assert.equal(corrupt.dirtyLog, false);
  assert.deepEqual(corrupt.problems, ['agf_freeblks 1234, counted 20470 in ag 1', 'agi_count 999, counted 0 in ag 2']);

  const dirty = interpretXfsRepairCheck(0, 'Phase 2 - using internal log\nALERT: The filesystem has valuable metadata changes in a log which is being ignored because the -n option was used.  Expect spurious inconsistencies which may be resolved by first mounting the filesystem to replay the log.\n');
  assert.equal(dirty.dirtyLog, true);
  assert.equal(dirty.corrupt, false);

  const refusal = 'ERROR: The filesystem has valuable metadata changes in a log which needs to\nbe replayed.  Mount the filesystem to replay the log, and unmount it before\nre-running xfs_repair.  If you are unable to mount the filesystem, then use\nthe -L option to destroy the log and attempt a repair.\n';
  assert.equal(refusedForDirtyLog(2, refusal), true);
  assert.equal(refusedForDirtyLog(0, 'Phase 7 - verify and correct link counts...\ndone\n'), false);
  assert.equal(interpretXfsRepairCheck(1, 'Phase 1 - find and verify superblock...\nbad primary superblock - bad magic number !!!\n').unreadable, true);
});

const MD_EXAMINE = `/dev/vdp:
          Magic : a92b4efc
        Version : 1.2
    Feature Map : 0x0
     Array UUID : 86944d90:f8c07328:f2943181:d76ff1b3
           Name : rescue:zooraid  (local to host rescue)
  Creation Time : Sun Nov 29 18:00:00 2026
     Raid Level : raid1
   Raid Devices : 2
    Device Role : Active device 0
    Array State : AA ('A' == active, '.' == missing, 'R' == replacing)
`;

test('mdadm --examine: the array, the member role, and which roles are missing', () => {
  const member = parseMdExamine('/dev/vdp', MD_EXAMINE);
  assert.deepEqual(member, {
    device: '/dev/vdp', arrayUuid: '86944d90:f8c07328:f2943181:d76ff1b3', name: 'rescue:zooraid', level: 'raid1', raidDevices: 2, role: 0, arrayState: 'AA',
  });
  assert.deepEqual(missingRoles([member!]), [1]);
  assert.equal(parseMdExamine('/dev/vda', 'mdadm: No md superblock detected on /dev/vda.\n'), null);
});

test('LVM reports: missing physical volumes and the logical volumes that used them', () => {
  const pvs = JSON.stringify({ report: [{ pv: [
    { pv_name: '/dev/vdn', pv_uuid: 'aaaa-1', vg_name: 'zoomiss', pv_size: '44.00m', pv_missing: '' },
    { pv_name: '[unknown]', pv_uuid: 'bbbb-2', vg_name: 'zoomiss', pv_size: '44.00m', pv_missing: 'missing' },
  ] }] });
  assert.deepEqual(parsePhysicalVolumes(pvs).map((pv) => [pv.name, pv.missing]), [['/dev/vdn', false], ['[unknown]', true]]);
  const lvs = JSON.stringify({ report: [{ lv: [{ lv_name: 'root', vg_name: 'zoomiss', lv_active: '', devices: '/dev/vdn(0),[unknown](0)' }] }] });
  assert.deepEqual(parseLogicalVolumes(lvs), [{ name: 'root', vg: 'zoomiss', active: false, devices: '/dev/vdn(0),[unknown](0)' }]);
  assert.deepEqual(parsePhysicalVolumes('not json'), []);
});

test('volumes stacked on the examined disks are found through md and dm slaves, inactive arrays left out', () => {
  const listing = parseStackedDevices('md127\t\t163840\tvdp \ndm-0\tzoovg-root\t147456\tvdm \ndm-1\tother-lv\t1000\tvdz \nmd126\t\t0\tvdq \ndm-2\tinner\t100\tmd127 \n');
  assert.deepEqual(stackedOn(listing, new Set(['vdp', 'vdm', 'vdq'])).map((device) => device.path), ['/dev/md127', '/dev/mapper/zoovg-root', '/dev/mapper/inner']);
  assert.equal(stackedOn(listing, null).length, 4, 'discovery takes every active one');
});

test('root= in grub.cfg: read from the linux line, replaced only there', () => {
  const text = "menuentry 'x' {\n\tsearch --fs-uuid --set=root 1111\n\tlinux\t/boot/vmlinuz-6.1 root=UUID=dead ro quiet\n\tinitrd\t/boot/initrd.img-6.1\n}\n";
  const config = parseGrubConfig(text);
  assert.equal(kernelRootArgument(config.entries[0]!.kernelArguments), 'UUID=dead');
  const { text: fixed, replaced } = replaceKernelRoot(text, 'UUID=dead', 'UUID=beef');
  assert.equal(replaced, 1);
  assert.match(fixed, /linux\t\/boot\/vmlinuz-6\.1 root=UUID=beef ro quiet/);
  assert.match(fixed, /--set=root 1111/, 'the search line is not a kernel command line');
});

test('a kernel boots only with a non-empty vmlinuz and initramfs', () => {
  const config = parseGrubConfig("menuentry 'new' {\n linux /boot/vmlinuz-2 root=UUID=a\n initrd /boot/initrd.img-2\n}\nmenuentry 'old' {\n linux /boot/vmlinuz-1 root=UUID=a\n initrd /boot/initrd.img-1\n}\n");
  const inventory = (sizes: Record<string, number>): BootInventory => ({
    location: { device: '/dev/vda1', directory: '/boot' },
    entries: Object.entries(sizes).map(([name, sizeBytes]) => ({ name, type: 'file', sizeBytes })),
    kernels: [], initramfs: [], listingEvidence: { command: 'ls', exitCode: 0, output: '' }, grub: null,
  });
  const [newest, older] = config.entries;
  assert.equal(entryComplete(inventory({ 'vmlinuz-2': 10, 'initrd.img-2': 10 }), newest!), true);
  assert.equal(entryComplete(inventory({ 'vmlinuz-2': 0, 'initrd.img-2': 10 }), newest!), false, 'an empty kernel: a failed update');
  assert.equal(entryComplete(inventory({ 'vmlinuz-2': 10, 'initrd.img-2': 0 }), newest!), false, 'an empty initramfs');
  assert.equal(entryComplete(inventory({ 'vmlinuz-2': 10 }), newest!), false, 'no initramfs');
  assert.equal(entryComplete(inventory({ 'vmlinuz-1': 10, 'initrd.img-1': 10 }), older!), true);
});

/** A rescue host that answers commands from a script of (pattern, result) pairs, and records what ran. */
function scriptedHost(answers: Array<[RegExp, Partial<ExecResult>]>): RescueHost & { ran: string[] } {
  const ran: string[] = [];
  return {
    name: 'fake', ran,
    async exec(command) {
      const line = command.join(' ');
      ran.push(line);
      const answer = answers.find(([pattern]) => pattern.test(line))?.[1] ?? {};
      return { exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 1, commandLine: line, ...answer };
    },
    async writeFile() {},
  };
}

const REFUSAL = 'ERROR: The filesystem has valuable metadata changes in a log which needs to be replayed.';

for (const allowed of [false, true]) {
  test(`xfs-repair on a log that cannot be replayed: -L ${allowed ? 'used and said' : 'refused'} as the policy ${allowed ? 'allows' : 'forbids'}`, async () => {
    let repairs = 0;
    const host = scriptedHost([
      [/^cat \/proc\/mounts/, { stdout: '' }],
      [/^xfs_repair -n/, { exitCode: 1, stdout: 'ALERT: The filesystem has valuable metadata changes in a log which is being ignored\nagf_freeblks 1, counted 2 in ag 0\n' }],
      [/^xfs_repair -L/, { exitCode: 0, stdout: 'Phase 2 - using internal log\n        - zero log...\n' }],
      [/^sh -c .*mount -t xfs/, { exitCode: 1, stderr: 'mount: mounting /dev/vdf on /tmp/x failed: Structure needs cleaning' }],
    ]);
    const originalExec = host.exec.bind(host);
    host.exec = async (command, options) => {
      const result = await originalExec(command, options);
      if (command[0] === 'xfs_repair' && command.length === 2) {
        repairs += 1;
        return repairs === 1 ? { ...result, exitCode: 2, stderr: REFUSAL } : { ...result, exitCode: 0 };
      }
      if (command.join(' ').startsWith('xfs_repair -n') && repairs >= 2) return { ...result, exitCode: 0, stdout: 'Phase 7 - verify link counts...\n' };
      return result;
    };
    const context = new PlaybookContext(host, toolInventory({ xfs_repair: '/usr/sbin/xfs_repair' }), [], undefined, false, 'auto', new Date('2026-11-29T00:00:00Z'), 60_000, null, { allowXfsLogZeroing: allowed });
    const result = await xfsRepairPlaybook.run(context, { device: '/dev/vdf', findings: [] });
    if (allowed) {
      assert.equal(result.status, 'changed', JSON.stringify(result));
      assert.ok(result.actions.some((action) => /LOG ZEROED.*policy allows/.test(action)), result.actions.join('\n'));
      assert.ok(host.ran.some((line) => line === 'xfs_repair -L /dev/vdf'));
    } else {
      assert.equal(result.status, 'failed');
      assert.match(result.actions.join('\n'), /does not allow/);
      assert.ok(!host.ran.some((line) => line.includes('-L')), 'xfs_repair -L never ran');
    }
  });
}

test('the storage probe names the tool the rescue image lacks for an LVM or md member', async () => {
  const host = scriptedHost([]);
  const device = (path: string, type: string) => ({ path, kind: 'disk' as const, sizeBytes: 1, parent: null, partitions: [], fileSystem: { type, uuid: null, label: null, partUuid: null, partLabel: null, source: 'blkid' as const } });
  const context = new DiagnosisContext(host, toolInventory({}), [device('/dev/vdb', 'LVM2_member'), device('/dev/vdc', 'linux_raid_member')], { fileSystemAccess: 'auto', fsckTimeoutMs: 1000 });
  const findings = await storageProbe.run(context);
  assert.deepEqual(findings.map((item) => [item.id, item.severity]), [['storage:unavailable-mdadm:/dev/vdc', 'critical'], ['storage:unavailable-lvm:/dev/vdb', 'critical']]);
  assert.match(findings[0]!.summary, /the rescue image lacks mdadm \(mdadm\)/);
  assert.match(findings[1]!.summary, /the rescue image lacks lvm \(lvm2\)/);
  assert.deepEqual(host.ran, [], 'nothing run without the tools');
});
