// The QEMU command line of a lab VM per firmware and boot device (no VM started): what OVMF needs (its code
// read-only and this VM's own variable store, both as pflash; iPXE's EFI ROM on the NIC; the boot device first in
// bootorder), and what a BIOS machine keeps (SeaBIOS, no pflash, its boot order by -boot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQemuArguments, ensureOvmfVars, IPXE_EFI_VIRTIO_ROM_PATH, OVMF_CODE_PATH, OVMF_VARS_FILE_NAME, type LabVmSpec } from '../../lab/vm/qemu.js';

const MAC = '52:54:00:12:34:56';

function withDisk<T>(run: (directory: string, disk: string) => T): T {
  const directory = mkdtempSync(join(tmpdir(), 'rescued-qemu-args-'));
  try {
    const disk = join(directory, 'disk.raw');
    writeFileSync(disk, '');
    return run(directory, disk);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const files = (directory: string, ovmfVarsPath?: string) => ({ serialLogPath: join(directory, 'serial.log'), serconPortPath: join(directory, 'sercon'), appendSerialLog: false, ...(ovmfVarsPath ? { ovmfVarsPath } : {}) });
const devices = (args: string[]) => args.flatMap((value, index) => (args[index - 1] === '-device' ? [value] : []));
const drives = (args: string[]) => args.flatMap((value, index) => (args[index - 1] === '-drive' ? [value] : []));

test('a BIOS VM has no pflash and boots the network once, then the disk, by -boot', () => {
  withDisk((directory, disk) => {
    const args = buildQemuArguments({ boot: { kind: 'network', bootFileUrl: 'tftp://10.0.2.2:69/boot.ipxe' }, disks: [{ path: disk }] }, MAC, files(directory));
    assert.equal(drives(args).filter((drive) => drive.includes('pflash')).length, 0);
    assert.equal(args[args.indexOf('-boot') + 1], 'once=n,order=c', 'a one-time network boot, then the disk');
    assert.ok(devices(args).every((device) => !device.includes('bootindex')));
  });
});

test('a UEFI VM runs OVMF from pflash with its own variable store and iPXE EFI on the NIC', () => {
  withDisk((directory, disk) => {
    const spec: LabVmSpec = { firmware: 'uefi', boot: { kind: 'network', bootFileUrl: 'tftp://10.0.2.2:69/boot.ipxe' }, disks: [{ path: disk }] };
    assert.throws(() => buildQemuArguments(spec, MAC, files(directory)), /OVMF_VARS copy/);
    const vars = join(directory, 'vars.fd');
    const args = buildQemuArguments(spec, MAC, files(directory, vars));
    assert.deepEqual(drives(args).filter((drive) => drive.includes('pflash')), [
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE_PATH}`,
      `if=pflash,format=raw,unit=1,file=${vars}`,
    ]);
    const nic = devices(args).find((device) => device.startsWith('virtio-net-pci'));
    assert.equal(nic, `virtio-net-pci,netdev=n0,mac=${MAC},romfile=${IPXE_EFI_VIRTIO_ROM_PATH},bootindex=0`);
    const blk = devices(args).find((device) => device.startsWith('virtio-blk-pci'));
    assert.match(blk ?? '', /bootindex=1$/, 'the network boots first, then the disk');

    const fromDisk = buildQemuArguments({ ...spec, boot: { kind: 'disk' } }, MAC, files(directory, vars));
    assert.match(devices(fromDisk).find((device) => device.startsWith('virtio-blk-pci')) ?? '', /bootindex=0$/);
    assert.doesNotMatch(devices(fromDisk).find((device) => device.startsWith('virtio-net-pci')) ?? '', /bootindex/);
  });
});

test('unknown firmware is refused by name', () => {
  withDisk((directory) => {
    assert.throws(() => buildQemuArguments({ firmware: 'coreboot' as 'bios', boot: { kind: 'disk' } }, MAC, files(directory)), /firmware must be "bios" or "uefi": "coreboot"/);
  });
});

test('each UEFI VM gets its own copy of OVMF_VARS.fd, kept once made', () => {
  withDisk((directory) => {
    const path = ensureOvmfVars(directory);
    assert.equal(path, join(directory, OVMF_VARS_FILE_NAME));
    assert.deepEqual(readFileSync(path), readFileSync('/usr/share/OVMF/OVMF_VARS.fd'));
    writeFileSync(path, 'changed by the firmware');
    assert.equal(ensureOvmfVars(directory), path);
    assert.equal(readFileSync(path, 'utf8'), 'changed by the firmware', 'a second power-on keeps the VM variable store');
  });
});
