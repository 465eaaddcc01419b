// `rescuectl image build`'s options and what they lead to, without building anything: validation with messages that
// name the option, where the files go and the paths registered, the kernel packages and Debian packages each
// variant is made from, the default kernel-args template rendered as a rescue push renders it, and the host tool
// check with the apt-get line that installs what is missing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { renderTemplate } from '../../boot/templates.js';
import { bootFilesRoot } from '../../config/environment.js';
import { DEFAULT_RESCUE_KERNEL_ARGS, ImageBuildOptionError, planImageBuild } from '../../images/build-plan.js';
import { REQUIRED_HOST_TOOLS, findMissingHostTools, installCommand, MissingHostToolsError } from '../../images/host-tools.js';
import { kernelMetaPackage } from '../../images/kernel.js';
import { extraPackageSet, rescueImagePackages } from '../../images/rescue-image.js';

const ROOT = '/srv/rescued/tftpboot';

function refusal(options: Parameters<typeof planImageBuild>[0]): string {
  try {
    planImageBuild(options, ROOT);
  } catch (error) {
    assert.ok(error instanceof ImageBuildOptionError, `an ImageBuildOptionError, not ${String(error)}`);
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(options)}`);
}

describe('image build plan', () => {
  test('defaults: cloud kernel, x86_64, every extra, written under the boot files folder and registered by name', () => {
    const plan = planImageBuild({}, ROOT);
    assert.equal(plan.flavour, 'cloud');
    assert.equal(plan.arch, 'x86_64');
    assert.equal(plan.name, 'rescued-cloud-x86_64');
    assert.deepEqual(plan.extras, ['smartmontools', 'grub-bios', 'grub-efi']);
    assert.equal(plan.outputDirectory, join(ROOT, 'rescued', 'rescued-cloud-x86_64'));
    assert.deepEqual(plan.registration, {
      name: 'rescued-cloud-x86_64',
      kernel: 'rescued/rescued-cloud-x86_64/vmlinuz',
      initrd: 'rescued/rescued-cloud-x86_64/initrd.img',
      kernelArgs: DEFAULT_RESCUE_KERNEL_ARGS,
      osFamilies: ['redhat', 'debian', 'ubuntu', 'suse', 'generic'],
    });
  });

  test('--kernel standard, --register, --output inside the folder, --without, --os-families, --kernel-args', () => {
    const plan = planImageBuild(
      { kernel: 'standard', register: 'rescue-std', output: join(ROOT, 'images', 'std'), without: 'grub-efi, smartmontools', osFamilies: 'debian,ubuntu', kernelArgs: 'ip=dhcp quiet' },
      ROOT,
    );
    assert.equal(plan.flavour, 'standard');
    assert.deepEqual(plan.extras, ['grub-bios']);
    assert.equal(plan.registration?.name, 'rescue-std');
    assert.equal(plan.registration?.kernel, 'images/std/vmlinuz');
    assert.deepEqual(plan.registration?.osFamilies, ['debian', 'ubuntu']);
    assert.equal(plan.registration?.kernelArgs, 'ip=dhcp quiet');
  });

  test('--no-register writes anywhere and registers nothing', () => {
    const plan = planImageBuild({ register: false, output: '/tmp/rescue-image' }, ROOT);
    assert.equal(plan.registration, null);
    assert.equal(plan.outputDirectory, '/tmp/rescue-image');
  });

  test('every bad option is refused with its name and what would be right', () => {
    assert.match(refusal({ kernel: 'rt' }), /^--kernel: "rt" is not a kernel flavour \(cloud or standard\)$/);
    assert.match(refusal({ arch: 'aarch64' }), /^--arch: aarch64 is not supported yet: the image is built from Debian's packages for x86_64 only$/);
    assert.match(refusal({ arch: 'amd64' }), /^--arch: "amd64" is not an architecture \(supported: x86_64\)$/);
    assert.match(refusal({ arch: 'constructor' }), /^--arch: "constructor" is not an architecture/);
    assert.match(refusal({ register: 'has space' }), /^--register: "has space" is not a name/);
    assert.match(refusal({ register: '../escape' }), /^--register: "\.\.\/escape" is not a name/);
    assert.match(refusal({ without: 'grub' }), /^--without: "grub" is not an extra of the image \(smartmontools, grub-bios, grub-efi\)$/);
    assert.match(refusal({ osFamilies: 'debian,windows' }), /^--os-families: "windows" is not an OS family/);
    assert.match(refusal({ osFamilies: ' , ' }), /^--os-families: give at least one$/);
    assert.match(refusal({ output: '/tmp/elsewhere' }), /^--output \/tmp\/elsewhere is outside the boot files folder \/srv\/rescued\/tftpboot .*--no-register/);
    assert.match(refusal({ output: ROOT }), /is outside the boot files folder/, 'the folder itself is not a place inside it');
    assert.match(refusal({ output: `${ROOT}-other` }), /is outside the boot files folder/, 'a sibling with the same prefix is outside');
  });

  test('the boot files folder is the one the server serves: RESCUED_TFTP_ROOT, else <data dir>/tftpboot', () => {
    assert.equal(bootFilesRoot({ RESCUED_TFTP_ROOT: '/srv/tftp', RESCUED_DATA_DIR: '/var/lib/rescued' }), '/srv/tftp');
    assert.equal(bootFilesRoot({ RESCUED_DATA_DIR: '/var/lib/rescued' }), '/var/lib/rescued/tftpboot');
  });
});

describe('image contents', () => {
  test('kernel meta packages per flavour', () => {
    assert.equal(kernelMetaPackage('cloud', 'x86_64'), 'linux-image-cloud-amd64');
    assert.equal(kernelMetaPackage('standard', 'x86_64'), 'linux-image-amd64');
  });

  test('Debian packages per extra: storage always, smartmontools and GRUB for BIOS and UEFI when asked', () => {
    assert.deepEqual(rescueImagePackages([]), ['libdevmapper-event1.02.1', 'lvm2', 'mdadm']);
    assert.deepEqual(rescueImagePackages(['smartmontools']), ['libdevmapper-event1.02.1', 'lvm2', 'mdadm', 'smartmontools']);
    const withGrub = rescueImagePackages(['grub-bios', 'grub-efi']);
    for (const name of ['grub-common', 'grub2-common', 'grub-pc-bin', 'grub-efi-amd64-bin', 'libefiboot1', 'libefivar1']) assert.ok(withGrub.includes(name), name);
    assert.deepEqual(extraPackageSet('grub-bios').trees, ['usr/lib/grub/i386-pc']);
    assert.deepEqual(extraPackageSet('grub-efi').trees, ['usr/lib/grub/x86_64-efi']);
    assert.ok(extraPackageSet('grub-bios').tools.some((tool) => tool.name === 'grub-install'));
  });

  test('the default kernel-args template: static ip= when the inventory knows address, netmask and gateway, else DHCP', () => {
    const render = (nic: Record<string, unknown>) =>
      renderTemplate({ name: 'rescue-env test kernel args', body: DEFAULT_RESCUE_KERNEL_ARGS }, { system: { name: 'web01', interfaces: [{ name: 'eth0', mac: '52:54:00:00:00:01', ...nic }] }, mac: '52:54:00:00:00:01' });
    assert.equal(render({ ip: '192.0.2.10', netmask: '255.255.255.0', gateway: '192.0.2.1' }), 'ip=192.0.2.10::192.0.2.1:255.255.255.0:web01::off');
    assert.equal(render({ ip: '192.0.2.10', netmask: '24', gateway: '192.0.2.1' }), 'ip=192.0.2.10::192.0.2.1:24:web01::off');
    assert.equal(render({ ip: '192.0.2.10', netmask: null, gateway: null }), 'ip=dhcp');
    assert.equal(render({}), 'ip=dhcp');
  });
});

describe('host tools', () => {
  const everything = () => true;

  test('nothing missing when every file exists', () => {
    assert.deepEqual(findMissingHostTools('/usr/bin', everything), { required: [], optional: [] });
  });

  test('a missing tool is named with the package that provides it and one apt-get line', () => {
    const absent = new Set(['/usr/sbin/depmod', '/sbin/depmod', '/usr/bin/depmod', '/bin/depmod', '/bin/busybox', '/usr/bin/xfs_repair', '/usr/sbin/xfs_repair', '/sbin/xfs_repair', '/bin/xfs_repair']);
    const missing = findMissingHostTools('/usr/bin', (path) => !absent.has(path));
    assert.deepEqual(missing.required.map((tool) => [tool.name, tool.debianPackage]), [['depmod', 'kmod'], ['/bin/busybox', 'busybox-static']]);
    assert.deepEqual(missing.optional.map((tool) => tool.debianPackage), ['xfsprogs']);
    assert.equal(installCommand(missing.required), 'apt-get install -y busybox-static kmod');
    const error = new MissingHostToolsError(missing.required);
    assert.match(error.message, /missing depmod \(indexes the kernel modules\), \/bin\/busybox \(the shell and core tools\); install with: apt-get install -y busybox-static kmod$/);
  });

  test('commands are looked for on PATH and in the sbin folders (depmod is in /usr/sbin, often not on a user PATH)', () => {
    const onlyInSbin = (path: string) => path === '/usr/sbin/depmod' || !path.endsWith('/depmod');
    assert.equal(findMissingHostTools('/usr/local/bin', onlyInSbin).required.length, 0);
    assert.ok(REQUIRED_HOST_TOOLS.some((tool) => tool.name === 'dropbear' && tool.debianPackage === 'dropbear-bin'));
  });
});
