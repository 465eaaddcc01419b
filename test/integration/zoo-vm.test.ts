// The zoo (lab/vm/zoo.ts) in the suite: one QEMU machine booted into the rescue image with a disk (or two) per boot
// failure class; each class diagnosed and repaired over SSH in that VM's kernel (LVM, md, XFS and every mount
// happen there, never on this machine). One VM for all classes keeps the test to a few minutes on one TCG CPU; the
// two disks holding a real Debian userland (its own update-initramfs and grub-mkconfig) get a second VM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZooDisk, runZoo, ZOO_CLASSES, ZOO_INSTALLED_TOOL_CLASSES, type ZooResult, type ZooRun } from '../../lab/vm/zoo.js';
import { readExt4File } from '../../lab/vm/zoo-roots.js';
import { runCommand } from '../../lab/vm/commands.js';
import { bootInstalledDisk } from '../../lab/vm/installed-boot.js';

describe('the zoo of boot failures, in one rescue VM', { timeout: 900_000 }, () => {
  let directory: string;
  let run: ZooRun;
  const byName = new Map<string, ZooResult>();

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'rescued-zoo-test-'));
    run = await runZoo(directory);
    for (const result of run.results) byName.set(result.name, result);
    console.log(`# zoo: VM up in ${run.bootMs} ms; ${run.results.map((result) => `${result.name}: ${result.verdict} ${result.seconds} s`).join('; ')}`);
  });

  after(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  function result(name: string): ZooResult {
    const found = byName.get(name);
    assert.ok(found, `no result for ${name}`);
    return found;
  }

  function actions(name: string, playbook: string): string {
    const found = result(name).repairReport?.results.find((item) => item.playbook === playbook);
    assert.ok(found, `${name}: ${playbook} did not run: ${result(name).detail}`);
    return found.actions.join('\n');
  }

  const repairedClasses = [
    'ext4: corrupted superblock', 'ext4: journal needs recovery', 'ext4: orphan inodes', 'ext4: cleared inodes',
    'xfs: metadata corruption', 'xfs: dirty log', 'fstab: root by a UUID that is gone', 'boot: default kernel removed',
    'boot: initramfs missing', 'boot: bad kernel update', 'boot: grub root=UUID gone', 'root file system 100% full',
    'LVM: root LV with file system errors', 'md RAID 1: member missing',
    ZOO_INSTALLED_TOOL_CLASSES.initramfs, ZOO_INSTALLED_TOOL_CLASSES.grubRoot,
  ];
  for (const name of repairedClasses) {
    test(`${name}: named, repaired, and the fresh diagnosis agrees`, () => {
      const outcome = result(name);
      assert.equal(outcome.verdict, 'repaired', `${outcome.finding}: ${outcome.detail}`);
      const after = outcome.repairReport?.after;
      assert.ok(after?.complete, 'the re-diagnosis ran every probe');
      assert.deepEqual(after.findings.filter((item) => item.severity === 'critical').map((item) => item.id), []);
    });
  }

  test('ext4 damage is named by class in the finding', () => {
    assert.match(result('ext4: corrupted superblock').before?.findings.find((item) => item.id.startsWith('filesystems:errors:'))?.summary ?? '', /superblock/);
    assert.match(result('ext4: orphan inodes').before?.findings.find((item) => item.id.startsWith('filesystems:errors:'))?.summary ?? '', /orphan inodes/);
    assert.match(actions('ext4: journal needs recovery', 'filesystem-repair'), /journal replayed/);
  });

  test('XFS: the dirty log is replayed by a mount, never zeroed without the policy', () => {
    const log = actions('xfs: dirty log', 'xfs-repair');
    assert.match(log, /log replayed by mounting/);
    assert.doesNotMatch(log, /LOG ZEROED/);
    assert.match(actions('xfs: metadata corruption', 'xfs-repair'), /xfs_repair \/dev\/vd[a-z]: done/);
    // The XFS roots are read like the ext4 ones (a read-only norecovery mount, even with the log dirty).
    // (corrupt XFS metadata: the kernel refuses even that mount, so only after the repair).
    for (const [name, when] of [['xfs: dirty log', 'before'], ['xfs: metadata corruption', 'after']] as const) {
      const report = when === 'before' ? result(name).before : result(name).repairReport?.after;
      const ids = report?.findings.map((item) => item.id) ?? [];
      assert.ok(ids.some((id) => id.startsWith('fstab:ok:')) && ids.some((id) => id.startsWith('boot:ok:')), `${name} (${when}): ${ids.join(', ')}`);
    }
  });

  test('boot: the fallbacks say which of the installed system\'s tools are missing', () => {
    const named = (name: string, prefix: string) => result(name).before?.findings.find((item) => item.id.startsWith(prefix))?.summary ?? '';
    assert.match(named('boot: initramfs missing', 'boot:initramfs-missing:'), /has neither update-initramfs nor dracut: .*\(update-initramfs: absent, dracut: absent\)/);
    assert.match(named('boot: grub root=UUID gone', 'boot:grub-root-missing:'), /has no grub-mkconfig: the repair corrects root= in grub\.cfg itself/);
    const initramfs = actions('boot: initramfs missing', 'initramfs-rebuild');
    assert.match(initramfs, /update-initramfs and dracut are both absent from the installed system/);
    assert.match(initramfs, /default set to "Debian GNU\/Linux, with Linux 6\.1\.0-27-amd64"/);
    const grub = actions('boot: grub root=UUID gone', 'grub-root-correct');
    assert.match(grub, /grub-mkconfig: absent/);
    assert.match(grub, /root=UUID=[0-9a-f-]+ replaced by root=UUID=[0-9a-f-]+ .* on 2 linux line\(s\)/);
    assert.match(actions('boot: bad kernel update', 'kernel-previous-default'), /is empty \(a failed update\)/);
  });

  test('boot: an installed Debian repairs itself in the chroot with its own update-initramfs and grub-mkconfig', async () => {
    const initramfsClass = result(ZOO_INSTALLED_TOOL_CLASSES.initramfs);
    assert.match(initramfsClass.before?.findings.find((item) => item.id === initramfsClass.finding)?.summary ?? '', /update-initramfs: \/usr\/sbin\/update-initramfs/);
    const rebuilt = actions(ZOO_INSTALLED_TOOL_CLASSES.initramfs, 'initramfs-rebuild');
    const version = /chroot update-initramfs -c -k (\S+): exit 0/.exec(rebuilt)?.[1];
    assert.ok(version, rebuilt);
    assert.match(rebuilt, new RegExp(`the initramfs of ${version.replace(/[.+]/g, '\\$&')} is back`));
    assert.doesNotMatch(rebuilt, /default set to/, 'no fallback to another kernel');
    // The initramfs on the repaired disk is the installed system's own: zstd-compressed newc with its init,
    // busybox and the modules its /etc/initramfs-tools/modules names.
    const disk = initramfsClass.disks?.[0];
    assert.ok(disk);
    const image = await readExt4File(disk, `/boot/initrd.img-${version}`);
    assert.ok(image && image.length > 100_000, `initrd.img-${version}: ${image?.length ?? 'missing'} bytes`);
    assert.equal(image.subarray(0, 4).toString('hex'), '28b52ffd', 'zstd frame magic');
    const copy = join(directory, 'rebuilt-initrd.img');
    writeFileSync(copy, image);
    const files = (await runCommand('sh', ['-c', 'zstd -dc "$1" | cpio -t --quiet', 'sh', copy], { timeoutMs: 60_000 })).stdout.split('\n');
    for (const wanted of ['init', 'usr/bin/busybox', `usr/lib/modules/${version}/kernel/drivers/block/virtio_blk.ko`, `usr/lib/modules/${version}/modules.dep`]) {
      assert.ok(files.includes(wanted), `the rebuilt initramfs holds ${wanted}`);
    }
    const grubClass = result(ZOO_INSTALLED_TOOL_CLASSES.grubRoot);
    const generated = actions(ZOO_INSTALLED_TOOL_CLASSES.grubRoot, 'grub-root-correct');
    assert.match(generated, /grub-mkconfig: \/usr\/sbin\/grub-mkconfig/);
    assert.match(generated, /chroot grub-mkconfig -o \/boot\/grub\/grub\.cfg: exit 0/);
    assert.match(generated, /grub\.cfg regenerated/);
    assert.doesNotMatch(generated, /replaced by root=/, 'no correction by hand');
    const grubDisk = grubClass.disks?.[0];
    assert.ok(grubDisk);
    const config = (await readExt4File(grubDisk, '/boot/grub/grub.cfg'))?.toString('utf8') ?? '';
    const uuid = /^Filesystem UUID:\s*(\S+)/m.exec((await runCommand('dumpe2fs', ['-h', grubDisk])).stdout)?.[1];
    assert.match(config, /automatically generated by grub-mkconfig/);
    const roots = [...config.matchAll(/^\s*linux\s+\S+\s+root=(\S+)/gm)].map((match) => match[1]);
    assert.ok(roots.length >= 2, config);
    assert.deepEqual([...new Set(roots)], [`UUID=${uuid}`], 'every entry boots the root by its UUID');
  });

  test('a full root: package caches and rotated logs removed, never live logs', () => {
    const freed = actions('root file system 100% full', 'free-space');
    assert.match(freed, /removed [1-9]\d* file\(s\)/);
    assert.match(freed, /apt package cache/);
    assert.match(freed, /rotated log/);
  });

  test('LVM: a missing physical volume is reported with what is gone, as a reinstall', () => {
    const outcome = result('LVM: physical volume missing');
    assert.equal(outcome.verdict, 'reinstall needed');
    const found = outcome.before?.findings.find((item) => item.id === outcome.finding);
    assert.match(found?.summary ?? '', /volume group "zoomiss" is missing 1 physical volume\(s\): PV UUID \S+ \(/);
    assert.match(found?.summary ?? '', /logical volume\(s\) root had extents on it/);
    assert.match(outcome.detail, /zoomiss\/root/);
  });

  test('md RAID 1: started degraded, the missing member named', () => {
    const outcome = result('md RAID 1: member missing');
    assert.match(outcome.before?.findings.find((item) => item.id === outcome.finding)?.summary ?? '', /member role 1 is missing/);
    assert.match(actions('md RAID 1: member missing', 'raid-assemble-degraded'), /started degraded/);
    const degraded = outcome.repairReport?.after.findings.find((item) => item.id.startsWith('storage:md-degraded:'));
    assert.equal(degraded?.severity, 'warning', 'still degraded until a new disk is added');
    assert.match(degraded?.summary ?? '', /member role 1 is missing; add a new disk/);
    assert.ok(outcome.repairReport?.after.devices.some((device) => device.kind === 'volume' && device.fileSystem?.type === 'ext4'), 'the file system on the array was examined');
  });

  // The classes that decide whether the machine boots: broken, the disk does not get through GRUB and the
  // initramfs; repaired, it boots (lab/vm/installed-boot.ts). A fresh broken copy of each is the control.
  const bootDeciding = ['ext4: corrupted superblock', 'fstab: root by a UUID that is gone', 'boot: default kernel removed', 'boot: grub root=UUID gone'];
  test('the boot-deciding classes: broken they do not boot, repaired they do', async () => {
    for (const name of bootDeciding) {
      const zooClass = ZOO_CLASSES.find((item) => item.name === name);
      assert.ok(zooClass);
      const broken = join(directory, `control-${bootDeciding.indexOf(name)}.raw`);
      await buildZooDisk(zooClass.disks[0]!, broken);
      const before = await bootInstalledDisk(broken);
      assert.equal(before.booted, false, `${name}, broken: ${before.message}`);
      const repaired = result(name).disks?.[0];
      assert.ok(repaired);
      const after = await bootInstalledDisk(repaired);
      assert.equal(after.booted, true, `${name}, repaired: ${after.message}`);
      console.log(`# ${name}: broken "${before.message}"; repaired "${after.message}"`);
    }
  });

  test('every class diagnosed, at least 10 repaired', () => {
    assert.deepEqual(run.results.filter((item) => item.verdict === 'missed').map((item) => `${item.name}: ${item.detail}`), []);
    assert.ok(run.results.filter((item) => item.verdict === 'repaired').length >= 10);
  });
});
