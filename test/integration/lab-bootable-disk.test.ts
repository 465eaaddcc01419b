// The lab's installed OS boots from its own disk through a real boot path: SeaBIOS → the MBR's boot.img → GRUB's
// core.img → grub.cfg on the root partition → the kernel and initramfs in /boot, or OVMF → the ESP's
// EFI/BOOT/BOOTX64.EFI → the same. Once up it answers SSH on port 22, which rescued's OS check (rescue/os-check.ts)
// reads. A disk broken the way the breakers break it does not come up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootableDisk, type BootableDisk } from '../../lab/vm/bootable-disk.js';
import { breakLabDisk, checkDiskImage, readFileFromDiskImage, rootFileSystemPath } from '../../lab/vm/disks.js';
import { startLabVm, type LabVm, type LabVmFirmware } from '../../lab/vm/qemu.js';
import { sshAnswers } from '../../rescue/os-check.js';
import { runCommand } from '../../lab/vm/commands.js';
import { freePort } from '../support/ports.js';

describe('bootable lab disks', () => {
  let work: string;
  const vms = new Set<LabVm>();

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'rescued-bootable-'));
  });
  after(async () => {
    await Promise.allSettled([...vms].map((vm) => vm.stop()));
    rmSync(work, { recursive: true, force: true });
  });

  async function boot(disk: BootableDisk, firmware: LabVmFirmware): Promise<{ vm: LabVm; sshPort: number; started: number }> {
    const sshPort = await freePort();
    const started = Date.now();
    // snapshot: the image stays as built, whatever the guest writes.
    const vm = await startLabVm({ firmware, boot: { kind: 'disk' }, disks: [{ path: disk.path, snapshot: true }], sshHostPort: sshPort, memoryMiB: 256 });
    vms.add(vm);
    return { vm, sshPort, started };
  }

  async function bootsToSsh(firmware: LabVmFirmware): Promise<void> {
    const disk = await buildBootableDisk({ directory: work, name: `${firmware}-healthy`, firmware });
    assert.equal(disk.firmware, firmware);
    const table = await runCommand('sfdisk', ['--json', disk.path]);
    assert.equal(JSON.parse(table.stdout).partitiontable.label, firmware === 'bios' ? 'dos' : 'gpt');
    assert.equal((await checkDiskImage(rootFileSystemPath(disk))).exitCode, 0, 'the root partition is a clean ext4');
    assert.match(await readFileFromDiskImage(rootFileSystemPath(disk), '/boot/grub/grub.cfg'), new RegExp(`root=UUID=${disk.uuid}`));
    const { vm, sshPort, started } = await boot(disk, firmware);
    try {
      // Before its sshd runs, QEMU's user network accepts the connection anyway: the banner is the proof.
      await vm.waitForSerial(/RESCUED-GRUB: loading Linux/, 60_000);
      const grubAt = Date.now() - started;
      await vm.waitForSerial(/RESCUED-INSTALLED: (sshd up|failed)[^\r\n]*/, 120_000);
      assert.match(vm.serialLog(), /RESCUED-INSTALLED: sshd up 10\.0\.2\.15/, vm.serialLog().slice(-2000));
      const answer = await sshAnswers('127.0.0.1', sshPort, 10_000);
      assert.deepEqual(answer, { answered: true, detail: 'an SSH server identified itself' });
      console.log(`# ${firmware} disk: GRUB loading Linux at ${grubAt} ms, SSH banner at ${Date.now() - started} ms`);
      assert.match(vm.serialLog(), new RegExp(`booted root=UUID=${disk.uuid} from /dev/vda${firmware === 'bios' ? 1 : 2} \\(ext4\\)`));
    } finally {
      await vm.stop();
      vms.delete(vm);
    }
  }

  test('a BIOS disk boots its installed OS from its own GRUB to an SSH banner', () => bootsToSsh('bios'));

  test('a UEFI disk (GPT, ESP with BOOTX64.EFI) boots under OVMF to an SSH banner', () => bootsToSsh('uefi'));

  test('a disk with a zeroed superblock stops in GRUB; the breakers work at the partition offset', async () => {
    const disk = await buildBootableDisk({ directory: work, name: 'bios-superblock' });
    await breakLabDisk(disk, 'zeroed-superblock');
    assert.notEqual((await checkDiskImage(rootFileSystemPath(disk))).exitCode, 0, 'e2fsck sees the damage inside the partition');
    const table = await runCommand('sfdisk', ['--json', disk.path]);
    assert.equal(JSON.parse(table.stdout).partitiontable.partitions.length, 1, 'the partition table is untouched');

    const { vm, sshPort, started } = await boot(disk, 'bios');
    try {
      await vm.waitForSerial(new RegExp(`error: no such device: ${disk.uuid}`), 60_000);
      console.log(`# broken BIOS disk: GRUB gave up at ${Date.now() - started} ms`);
      const answer = await sshAnswers('127.0.0.1', sshPort, 3_000);
      assert.equal(answer.answered, false, `no SSH server on a machine stuck in GRUB: ${answer.detail}`);
      assert.doesNotMatch(vm.serialLog(), /Linux version/, 'no kernel was loaded');
    } finally {
      await vm.stop();
      vms.delete(vm);
    }

    const other = await buildBootableDisk({ directory: work, name: 'uefi-breakers', firmware: 'uefi' });
    const fstab = await breakLabDisk(other, 'bad-fstab-uuid');
    assert.match(await readFileFromDiskImage(rootFileSystemPath(other), '/etc/fstab'), new RegExp(`UUID=${fstab.damage.missingUuid}`));
    const gone = await breakLabDisk(other, 'kernel-gone');
    assert.deepEqual([...(gone.damage.removedFiles ?? [])].sort(), [`/boot/initrd.img-${other.kernelVersion}`, `/boot/vmlinuz-${other.kernelVersion}`]);
    const listing = await runCommand('debugfs', ['-R', 'ls /boot', rootFileSystemPath(other)]);
    assert.doesNotMatch(listing.stdout, /vmlinuz|initrd\.img/);
    assert.equal((await checkDiskImage(rootFileSystemPath(other))).exitCode, 0, 'removing the kernel leaves a clean file system');

    // A given root tree (a zoo root, say) is copied as it is; only the boot files and grub.cfg are the lab's.
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    writeFileSync(join(tree, 'etc', 'fstab'), 'UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 defaults 0 1\n');
    writeFileSync(join(tree, 'etc', 'hostname'), 'zoo\n');
    writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), 'menuentry old {}\n');
    const fromTree = await buildBootableDisk({ directory: work, name: 'from-tree', rootTree: tree, uuid: '0a1b2c3d-0000-4000-8000-000000000001' });
    const inside = rootFileSystemPath(fromTree);
    assert.equal(await readFileFromDiskImage(inside, '/etc/hostname'), 'zoo\n');
    assert.match(await readFileFromDiskImage(inside, '/etc/fstab'), /^UUID=0a1b2c3d-0000-4000-8000-000000000001 \/ ext4 defaults/);
    assert.match(await readFileFromDiskImage(inside, '/boot/grub/grub.cfg'), /root=UUID=0a1b2c3d-0000-4000-8000-000000000001 ro console=ttyS0/);
    await assert.rejects(buildBootableDisk({ directory: work, name: 'bad', firmware: 'coreboot' as 'bios' }), /firmware must be "bios" or "uefi": "coreboot"/);
  });
});
