import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInsideDirectory, normalizeTftpPath, openInsideRoot, type TftpPathRejection } from '../../boot/tftp/jail.js';
import { createDiskFileProvider } from '../../boot/tftp/disk-provider.js';

test('acceptable names are normalized to root-relative paths', () => {
  const cases: [string, string][] = [
    ['pxelinux.0', 'pxelinux.0'],
    ['/pxelinux.0', 'pxelinux.0'],
    ['pxelinux.cfg/01-52-54-00-12-34-56', 'pxelinux.cfg/01-52-54-00-12-34-56'],
    ['/grub/./grub.cfg', 'grub/grub.cfg'],
    ['..hidden', '..hidden'],
    ['a..b/c', 'a..b/c'],
  ];
  for (const [requested, path] of cases) {
    assert.deepEqual(normalizeTftpPath(requested), { ok: true, path }, requested);
  }
});

test('dangerous names are refused before any file system call', () => {
  const cases: [string, TftpPathRejection][] = [
    ['', 'empty'],
    ['/', 'empty'],
    ['.', 'empty'],
    ['../etc/passwd', 'parent-directory'],
    ['a/../../etc/passwd', 'parent-directory'],
    ['/..', 'parent-directory'],
    ['a/..', 'parent-directory'],
    ['//etc/passwd', 'absolute'],
    ['a//b', 'empty-component'],
    ['dir/', 'empty-component'],
    ['..\\..\\windows', 'backslash'],
    ['boot\\pxelinux.0', 'backslash'],
    ['a\0b', 'nul-byte'],
    ['x'.repeat(256), 'too-long'],
    ['é'.repeat(128), 'too-long'],
  ];
  for (const [requested, rejection] of cases) {
    const result = normalizeTftpPath(requested);
    assert.equal(result.ok, false, JSON.stringify(requested));
    if (!result.ok) {
      assert.equal(result.rejection, rejection, JSON.stringify(requested));
      assert.equal(result.problem.kind, 'access-violation');
    }
  }
  assert.equal(normalizeTftpPath('x'.repeat(255)).ok, true);
});

test('isInsideDirectory compares whole components', () => {
  assert.equal(isInsideDirectory('/srv/tftp/a', '/srv/tftp'), true);
  assert.equal(isInsideDirectory('/srv/tftp-other/a', '/srv/tftp'), false);
  assert.equal(isInsideDirectory('/srv/tftp', '/srv/tftp'), false);
  assert.equal(isInsideDirectory('/etc/passwd', '/'), true);
});

test('openInsideRoot follows links inside the root and refuses links that leave it', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tftp-jail-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(base, 'secret'), 'outside');
  await writeFile(join(root, 'sub', 'inside.txt'), 'inside');
  await symlink(join(base, 'secret'), join(root, 'escape'));
  await symlink('../secret', join(root, 'relative-escape'));
  await symlink(base, join(root, 'dir-escape'));
  await symlink('sub/inside.txt', join(root, 'alias'));
  execFileSync('mkfifo', [join(root, 'fifo')]);

  const alias = await openInsideRoot(root, 'alias');
  assert.ok(alias?.ok);
  if (alias?.ok) {
    assert.equal(alias.size, 6);
    assert.equal(alias.realPath, join(root, 'sub', 'inside.txt'));
    await alias.handle.close();
  }
  for (const path of ['escape', 'relative-escape', 'dir-escape/secret']) {
    const result = await openInsideRoot(root, path);
    assert.equal(result?.ok, false, path);
    if (result !== undefined && !result.ok) assert.match(result.problem.message, /outside the served root/);
  }
  const directory = await openInsideRoot(root, 'sub');
  assert.equal(directory?.ok, false);
  const fifo = await openInsideRoot(root, 'fifo');
  assert.equal(fifo?.ok, false, 'a FIFO is not served (and opening it does not hang)');
  assert.equal(await openInsideRoot(root, 'missing'), undefined);
  assert.equal(await openInsideRoot(root, 'sub/inside.txt/x'), undefined);
});

test('the disk provider answers files, refuses escapes and passes on missing files', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tftp-disk-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  await writeFile(join(base, 'secret'), 'outside');
  const root = join(base, 'root');
  await mkdir(root);
  await writeFile(join(root, 'file'), 'abc');
  await symlink(join(base, 'secret'), join(root, 'escape'));
  const provider = createDiskFileProvider(root);
  const client = { address: '127.0.0.1', port: 1 };
  const found = await provider({ path: 'file', requestedPath: '/file', mode: 'octet', client });
  assert.equal(found?.kind, 'disk');
  if (found?.kind === 'disk') {
    assert.equal(found.size, 3);
    await found.handle?.close();
  }
  const refused = await provider({ path: 'escape', requestedPath: 'escape', mode: 'octet', client });
  assert.equal(refused?.kind, 'refused');
  assert.equal(await provider({ path: 'nothing', requestedPath: 'nothing', mode: 'octet', client }), undefined);
});
