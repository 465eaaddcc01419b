// grub.cfg and grubenv: menu entries, the default entry, and writing a new default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareKernelVersions, defaultReferenceFor, findEntry, initramfsVersionOf, kernelVersionOf, parseGrubConfig, parseGrubEnv, renderGrubEnv,
  resolveDefaultEntry, GRUBENV_SIZE,
} from '../../shell/grub.js';
import { withGrubDefault } from '../../shell/playbooks/kernel-previous-default.js';
import { debianGrubConfig } from '../support/shell-images.js';

const UUID = '0a1b2c3d-0000-4000-8000-000000000001';
const cfg = debianGrubConfig(UUID, ['6.1.0-18-amd64', '6.1.0-9-amd64']);

test('menu entries, their index paths, ids and kernels', () => {
  const config = parseGrubConfig(cfg);
  assert.deepEqual(config.entries.map((entry) => [entry.indexPath, entry.kernel]), [
    ['0', '/boot/vmlinuz-6.1.0-18-amd64'],
    ['1>0', '/boot/vmlinuz-6.1.0-18-amd64'],
    ['1>1', '/boot/vmlinuz-6.1.0-9-amd64'],
  ]);
  assert.equal(config.entries[2]?.id, `gnulinux-6.1.0-9-amd64-advanced-${UUID}`);
  assert.deepEqual(config.entries[0]?.initrd, ['/boot/initrd.img-6.1.0-18-amd64']);
  assert.deepEqual(config.defaultSettings.map((setting) => setting.value), ['${next_entry}', '0']);
});

test('the default: a number, an id path, a title, saved_entry from grubenv', () => {
  const config = parseGrubConfig(cfg);
  const resolved = resolveDefaultEntry(config, null);
  assert.equal(resolved.status, 'found');
  assert.equal(resolved.status === 'found' && resolved.entry.indexPath, '0');
  const nested = config.entries[2]!;
  assert.equal(defaultReferenceFor(nested), `gnulinux-advanced-${UUID}>gnulinux-6.1.0-9-amd64-advanced-${UUID}`);
  assert.equal(findEntry(config.entries, defaultReferenceFor(nested)), nested);
  assert.equal(findEntry(config.entries, '1>1'), nested);
  assert.equal(findEntry(config.entries, 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-9-amd64'), nested);
  assert.equal(findEntry(config.entries, nested.id!), null, 'GRUB does not find a submenu entry by its own id alone');
  assert.equal(findEntry(config.entries, '7'), null);

  const saved = parseGrubConfig(cfg.replace('set default="0"', 'set default="${saved_entry}"'));
  const fromEnv = resolveDefaultEntry(saved, new Map([['saved_entry', '1>1']]));
  assert.equal(fromEnv.status === 'found' && fromEnv.via, 'grubenv');
  assert.equal(fromEnv.status === 'found' && fromEnv.entry, saved.entries[2]);
  const noEnv = resolveDefaultEntry(saved, null);
  assert.equal(noEnv.status === 'found' && noEnv.entry.indexPath, '0');
});

test('writing the default keeps the rest of grub.cfg', () => {
  const config = parseGrubConfig(cfg);
  const line = config.defaultSettings.at(-1)!.lineNumber;
  const changed = withGrubDefault(cfg, line, '1>1');
  assert.equal(changed.split('\n')[line - 1], '   set default="1>1"');
  assert.equal(changed.split('\n').length, cfg.split('\n').length);
  const reparsed = parseGrubConfig(changed);
  assert.equal(resolveDefaultEntry(reparsed, null).status === 'found' && (resolveDefaultEntry(reparsed, null) as { entry: { indexPath: string } }).entry.indexPath, '1>1');
  assert.match(withGrubDefault('menuentry x {\n}\n', null, 'a"b'), /^set default="a\\"b"\n/);
});

test('grubenv: parsed, rendered to exactly 1024 bytes', () => {
  const rendered = renderGrubEnv(new Map([['saved_entry', 'gnulinux-x'], ['next_entry', '']]));
  assert.equal(Buffer.byteLength(rendered), GRUBENV_SIZE);
  assert.ok(rendered.startsWith('# GRUB Environment Block\nsaved_entry=gnulinux-x\nnext_entry=\n#'));
  assert.deepEqual([...parseGrubEnv(rendered)], [['saved_entry', 'gnulinux-x'], ['next_entry', '']]);
  assert.throws(() => renderGrubEnv(new Map([['x', 'y'.repeat(2000)]])), /larger than 1024/);
});

test('kernel and initramfs file names, versions in natural order', () => {
  assert.equal(kernelVersionOf('vmlinuz-6.1.0-18-amd64'), '6.1.0-18-amd64');
  assert.equal(kernelVersionOf('vmlinuz'), null);
  assert.equal(kernelVersionOf('config-6.1.0-18-amd64'), null);
  assert.equal(initramfsVersionOf('initrd.img-6.1.0-18-amd64'), '6.1.0-18-amd64');
  assert.equal(initramfsVersionOf('initramfs-5.14.0-362.el9.x86_64.img'), '5.14.0-362.el9.x86_64');
  assert.equal(initramfsVersionOf('initramfs-5.14.0-362.el9.x86_64kdump.img'), null);
  assert.deepEqual(['6.1.0-9-amd64', '6.1.0-18-amd64', '6.1.0-10-amd64'].sort(compareKernelVersions), ['6.1.0-9-amd64', '6.1.0-10-amd64', '6.1.0-18-amd64']);
});

test('boot files: /boot on the root, or a separate /boot named in fstab', async () => {
  const { bootLocation, kernelFileName } = await import('../../shell/boot-files.js');
  const { parseFstab } = await import('../../shell/fstab.js');
  const known = [
    { device: '/dev/vda2', type: 'ext4', uuid: 'aaaa', label: 'root' },
    { device: '/dev/vda1', type: 'ext4', uuid: 'bbbb', label: 'boot' },
  ];
  const onRoot = bootLocation('/dev/vda2', parseFstab('UUID=aaaa / ext4 defaults 0 1\n'), known);
  assert.deepEqual(onRoot, { device: '/dev/vda2', directory: '/boot' });
  assert.equal(kernelFileName(onRoot, '/boot/vmlinuz-6.1.0-18-amd64'), 'vmlinuz-6.1.0-18-amd64');
  assert.equal(kernelFileName(onRoot, '(hd0,msdos1)/boot/vmlinuz-6.1.0-18-amd64'), 'vmlinuz-6.1.0-18-amd64');
  assert.equal(kernelFileName(onRoot, '/vmlinuz'), null, 'outside the boot directory: not checked');
  const separate = bootLocation('/dev/vda2', parseFstab('UUID=aaaa / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n'), known);
  assert.deepEqual(separate, { device: '/dev/vda1', directory: '/' });
  assert.equal(kernelFileName(separate, '/vmlinuz-6.1.0-18-amd64'), 'vmlinuz-6.1.0-18-amd64');
  const missingBoot = bootLocation('/dev/vda2', parseFstab('UUID=aaaa / ext4 defaults 0 1\nUUID=gone /boot ext4 defaults 0 2\n'), known);
  assert.deepEqual(missingBoot, { device: '/dev/vda2', directory: '/boot' });
});
