// The lab's boot images without booting them: the newc writer as cpio(1) reads it, what the rescue image holds,
// and the rescue contract helpers (kernel args in, phone-home body out).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { CpioArchive } from '../../lab/vm/cpio.js';
import { ensureLabBootImages } from '../../lab/vm/initramfs.js';
import { ensureLabKernel } from '../../lab/vm/kernel.js';
import { parseRescuePhoneHome, rescueKernelArguments } from '../../lab/vm/contract.js';

function cpioList(archive: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('cpio', ['-tv', '--quiet'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`cpio -tv: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(archive);
  });
}

describe('lab boot images', { timeout: 180_000 }, () => {
  test('the newc writer produces what cpio(1) reads: parents first, modes, symlinks, device nodes', async () => {
    const archive = new CpioArchive()
      .file('etc/rescue/start', '#!/bin/sh\necho hi\n', 0o755)
      .symlink('bin/sh', '/bin/busybox')
      .characterDevice('dev/console', 5, 1)
      .directory('root', 0o700);
    const listing = (await cpioList(archive.toBuffer())).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).at(-1) === '/bin/busybox' ? line.split(/\s+/).at(-3) : line.split(/\s+/).at(-1));
    assert.deepEqual(names, ['.', 'etc', 'etc/rescue', 'etc/rescue/start', 'bin', 'bin/sh', 'dev', 'dev/console', 'root']);
    assert.match(listing[3] ?? '', /^-rwxr-xr-x .* 18 /);
    assert.match(listing[5] ?? '', /^lrwxrwxrwx .* bin\/sh -> \/bin\/busybox$/);
    assert.match(listing[7] ?? '', /^crw------- .* 5,\s+1 /);
    assert.match(listing[8] ?? '', /^drwx------ /);
    assert.throws(() => new CpioArchive().file('../escape', 'x'), /not a path inside the archive/);
  });

  test('the kernel is cached and the rescue image holds its tools and the virtio modules, deps first', async () => {
    const images = await ensureLabBootImages();
    const started = Date.now();
    const again = await ensureLabKernel();
    assert.ok(Date.now() - started < 1000, 'a second ensureLabKernel() uses the cache');
    assert.deepEqual(again, images.kernel);
    assert.match(images.kernel.version, /^\d+\.\d+\.\d+-\d+-cloud-amd64$/);

    for (const tool of ['busybox', 'sh', 'udhcpc', 'wget', 'mount', 'sync', 'fdisk', 'e2fsck', 'dropbear', 'dropbearkey', 'chroot', 'xfs_repair', 'lvm', 'vgchange', 'pvs', 'mdadm']) {
      assert.ok(images.rescue.tools.includes(tool), `rescue image has ${tool}`);
    }
    const moduleNames = images.rescue.modules.map((path) => path.split('/').at(-1));
    for (const module of ['virtio_pci.ko', 'virtio_net.ko', 'virtio_blk.ko', 'xfs.ko', 'dm-mod.ko', 'md-mod.ko', 'raid1.ko']) assert.ok(moduleNames.includes(module), module);
    assert.ok(moduleNames.indexOf('md-mod.ko') < moduleNames.indexOf('raid1.ko'), 'md-mod before raid1');
    assert.ok(moduleNames.indexOf('virtio.ko') < moduleNames.indexOf('virtio_pci.ko'), 'virtio before virtio_pci');
    assert.ok(moduleNames.indexOf('net_failover.ko') < moduleNames.indexOf('virtio_net.ko'), 'net_failover before virtio_net');

    const listing = await cpioList(gunzipSync(readFileSync(images.rescue.path)));
    // lvm2's own library comes from the unpacked package, not from this machine (which has no lvm2 installed).
    for (const path of ['init', 'etc/inittab', 'etc/rescue/start', 'sbin/e2fsck', 'usr/sbin/dropbear', 'lib64/ld-linux-x86-64.so.2', `lib/modules/${images.kernel.version}/load-order`,
      'usr/sbin/lvm', 'usr/sbin/mdadm', 'usr/sbin/xfs_repair', 'etc/lvm/lvm.conf', 'lib/x86_64-linux-gnu/libdevmapper-event.so.1.02.1']) {
      assert.match(listing, new RegExp(` ${path.replace(/[.]/g, '\\.')}( |$)`, 'm'), `rescue image has ${path}`);
    }
    const markerListing = await cpioList(gunzipSync(readFileSync(images.marker.path)));
    assert.match(markerListing, / init$/m);
    assert.doesNotMatch(markerListing, /dropbear/);
    const installedListing = await cpioList(gunzipSync(readFileSync(images.installed.path)));
    assert.match(installedListing, / sbin\/e2fsck$/m);
    assert.doesNotMatch(installedListing, /dropbear/, 'the installed-system stand-in has no SSH server');
  });

  test('rescue kernel args carry the SSH key as base64url, and phone-home bodies are checked', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO+hGjSU8vHn+kCLUDP4w3ugHKanqTsmsbeIMkR7zaQB rescued@test';
    const args = rescueKernelArguments({ callbackUrl: 'http://10.0.2.2:8080/boot/rescue/abc/ready', token: 'abc', sshPublicKey: `${key}\n`, marker: 'm1' });
    const encoded = /rescued\.sshkey=(\S+)/.exec(args)?.[1] ?? '';
    assert.match(encoded, /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(encoded, 'base64url').toString('utf8'), key);
    assert.match(args, /^console=ttyS0 rescued\.callback=http:\/\/10\.0\.2\.2:8080\/boot\/rescue\/abc\/ready rescued\.token=abc rescued\.sshkey=\S+ rescued\.marker=m1$/);
    assert.throws(() => rescueKernelArguments({ callbackUrl: 'http://x/', token: 'a b', sshPublicKey: key }), /token/);

    const body = { token: 'abc', mac: '52:54:00:12:34:56', ip: '10.0.2.15', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO+h' };
    assert.deepEqual(parseRescuePhoneHome(body), body);
    assert.throws(() => parseRescuePhoneHome({ ...body, mac: '52-54-00-12-34-56' }), /mac/);
    assert.throws(() => parseRescuePhoneHome({ ...body, sshHostKey: 'ssh-rsa AAAA' }), /sshHostKey/);
  });
});
