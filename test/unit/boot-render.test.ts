import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKernelOptions, mergeKernelOptions } from '../../boot/kernel-options.js';
import { renderPxelinuxConfig, renderPxelinuxMenu } from '../../boot/render/pxelinux.js';
import { renderGrubConfig } from '../../boot/render/grub.js';
import { renderIpxeChainScript, renderIpxeScript } from '../../boot/render/ipxe.js';
import { autoinstallKernelArgument } from '../../boot/autoinstall.js';
import { renderTemplate, TemplateRenderError } from '../../boot/templates.js';
import { macInBootFileName } from '../../boot/fetch-recorder.js';
import type { BootTarget } from '../../boot/boot-target.js';

const urls = { httpBase: 'http://10.0.0.1:8080' };
const install: BootTarget = { kind: 'install', system: 'web01', mac: '52:54:00:12:34:56', label: 'rhel9-web', kernel: 'rhel9/vmlinuz', initrd: 'rhel9/initrd.img', append: 'inst.ks=http://x/ks console=ttyS0' };

test('kernel options merge distro < profile < system, key by key; !key removes', () => {
  const merged = mergeKernelOptions('console=tty0 quiet inst.text', 'console=ttyS0,115200 splash', '!quiet ip=dhcp');
  assert.equal(formatKernelOptions(merged), 'console=ttyS0,115200 inst.text splash ip=dhcp');
  assert.equal(formatKernelOptions(mergeKernelOptions('a="x y" b')), 'a="x y" b');
  // A quote left open runs to the end, as in the kernel: nothing dropped, no word split off (found by the
  // kernel-options fuzz test: `h"#a` became the words `h` and `#a`, and iPXE read `#a` as a comment).
  assert.equal(formatKernelOptions(mergeKernelOptions('quiet', 'h"#a?C')), 'quiet h"#a?C');
  assert.equal(formatKernelOptions(mergeKernelOptions('x="a b c')), 'x="a b c');
});

test('pxelinux: install target and local boot', () => {
  const config = renderPxelinuxConfig(install);
  assert.match(config, /^DEFAULT install$/m);
  assert.match(config, /^  KERNEL \/rhel9\/vmlinuz$/m);
  assert.match(config, /^  INITRD \/rhel9\/initrd\.img$/m);
  assert.match(config, /^  APPEND inst\.ks=http:\/\/x\/ks console=ttyS0$/m);
  const local = renderPxelinuxConfig({ kind: 'local', system: 'web01', mac: '52:54:00:12:34:56' });
  assert.match(local, /LOCALBOOT -1/);
  assert.doesNotMatch(local, /KERNEL/);
  assert.match(renderPxelinuxMenu([{ name: 'rhel9', kernel: 'k', initrd: 'i', append: 'a=1' }]), /ONTIMEOUT local[\s\S]*LABEL rhel9/);
});

test('GRUB loads kernel and initrd over HTTP with the MAC for attribution', () => {
  const config = renderGrubConfig(install, urls);
  assert.match(config, /linux \(http,10\.0\.0\.1:8080\)\/boot\/files\/rhel9\/vmlinuz\?mac=52:54:00:12:34:56 inst\.ks=/);
  assert.match(config, /initrd \(http,10\.0\.0\.1:8080\)\/boot\/files\/rhel9\/initrd\.img\?mac=52:54:00:12:34:56/);
  assert.match(renderGrubConfig({ kind: 'local', system: undefined, mac: undefined }, urls), /exit 1/);
});

test('iPXE: the chain script hands over to HTTP by MAC; the machine script boots kernel and initrd', () => {
  assert.match(renderIpxeChainScript(urls), /chain http:\/\/10\.0\.0\.1:8080\/boot\/ipxe\/\$\{net0\/mac\}/);
  assert.match(renderIpxeChainScript(urls), /^isset \$\{net0\/ip\} \|\| dhcp \|\| goto failed$/m, 'DHCP again only when iPXE has no address yet');
  const script = renderIpxeScript({ ...install, kernel: 'http://mirror/vmlinuz' }, urls);
  assert.match(script, /^#!ipxe/);
  assert.match(script, /^kernel http:\/\/mirror\/vmlinuz initrd=initrd inst\.ks=/m, 'absolute URLs are used as they are');
  assert.match(script, /^initrd --name initrd http:\/\/10\.0\.0\.1:8080\/boot\/files\/rhel9\/initrd\.img\?mac=/m);
  assert.match(script, /^boot$/m);
});

test('autoinstall templates render with variables; errors name the template and the line', () => {
  const render = (name: string, body: string, variables: Record<string, unknown>) => renderTemplate({ name, body }, variables);
  assert.equal(render('ks', 'network --hostname={{ hostname }}\n{% for r in repos %}repo --name={{ r.name }}\n{% endfor %}', { hostname: 'web01', repos: [{ name: 'a' }] }), 'network --hostname=web01\nrepo --name=a\n');
  assert.throws(
    () => render('rhel9-ks', 'line one\nline two\nurl {{ mirrror }}\n', { mirror: 'x' }),
    (error: unknown) => error instanceof TemplateRenderError && error.template === 'rhel9-ks' && error.line === 3 && /template "rhel9-ks", line 3/.test(error.message),
  );
  assert.throws(() => render('broken', 'a\n{% for x in %}\n', {}), (error: unknown) => error instanceof TemplateRenderError && error.line === 2);
});

test('autoinstall kernel argument per OS family', () => {
  assert.equal(autoinstallKernelArgument('redhat', 'kickstart', 'http://s/ks'), 'inst.ks=http://s/ks');
  assert.equal(autoinstallKernelArgument('debian', 'preseed', 'http://s/p'), 'auto=true priority=critical url=http://s/p');
  assert.equal(autoinstallKernelArgument('ubuntu', 'cloud-init', 'http://s/a'), 'autoinstall ds=nocloud-net;s=http://s/a/');
  assert.equal(autoinstallKernelArgument('suse', 'autoyast', 'http://s/y'), 'autoyast=http://s/y');
});

test('MAC in per-machine boot file names', () => {
  assert.equal(macInBootFileName('pxelinux.cfg/01-52-54-00-12-34-ab'), '52:54:00:12:34:ab');
  assert.equal(macInBootFileName('grub/grub.cfg-01-52-54-00-12-34-AB'), '52:54:00:12:34:ab');
  assert.equal(macInBootFileName('pxelinux.cfg/C0A80001'), undefined);
  assert.equal(macInBootFileName('pxelinux.0'), undefined);
});
