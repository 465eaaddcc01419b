// A broken system's symlinks never lead a read out of its root. The mounted-file-system access runs its
// scripts on the rescue host; here the "rescue host" is this machine's sh over a directory in /tmp that
// stands in for the mount point (nothing is mounted: only the mount step is answered for it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountedFileSystem } from '../../shell/file-systems/mounted.js';
import type { ExecResult, RescueHost } from '../../shell/rescue-host.js';

let scratch: string;
let root: string;

/** Runs commands here, except mount and umount, which it answers for the directory `root`. */
function localHost(): RescueHost {
  return {
    name: 'local sh',
    exec(command) {
      const script = command[2] ?? '';
      const answer = (stdout: string): Promise<ExecResult> =>
        Promise.resolve({ exitCode: 0, signal: null, stdout, stderr: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 0, commandLine: command.join(' ') });
      if (script.includes('mount "$@"')) return answer(`no\n${root}\n`);
      if (script.includes('umount')) return answer('');
      return new Promise((resolve) => {
        execFile(command[0]!, command.slice(1), { encoding: 'utf8' }, (error, stdout, stderr) => {
          const code = error && typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : error ? 1 : 0;
          resolve({ exitCode: code, signal: null, stdout, stderr, stdoutTruncated: false, stderrTruncated: false, durationMs: 0, commandLine: command.join(' ') });
        });
      });
    },
    async writeFile() {
      throw new Error('not used here');
    },
  };
}

before(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'rescued-symlinks-')));
  root = join(scratch, 'root');
  await mkdir(join(root, 'boot'), { recursive: true });
  await writeFile(join(root, 'boot', 'grub.cfg'), 'menuentry inside\n');
  await mkdir(join(scratch, 'outside'));
  await writeFile(join(scratch, 'outside', 'secret'), 'the rescue host\'s own file\n');
  // What a broken (or hostile) installed system may hold: absolute and relative links out of its root.
  await symlink('/etc', join(root, 'etc'));
  await symlink('../outside', join(root, 'var'));
  await symlink('/etc/hostname', join(root, 'hostname'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('reads, listings and existence checks stay inside the broken system\'s root', async () => {
  const fs = await MountedFileSystem.open(localHost(), '/dev/vdb', { writable: false, type: 'ext4' });
  assert.equal(fs.mountPoint, root);
  assert.equal((await fs.readFile('/boot/grub.cfg')).content, 'menuentry inside\n', 'a file inside is read');
  assert.equal((await fs.readFile('/etc/hostname')).content, null, 'etc -> /etc would read the rescue host\'s file');
  assert.equal((await fs.readFile('/var/secret')).content, null, 'var -> ../outside leaves the root');
  assert.equal((await fs.readFile('/hostname')).content, null, 'a symlinked file is not followed');
  assert.equal((await fs.list('/etc')).entries, null, 'no listing through a link out of the root');
  assert.equal((await fs.list('/var')).entries, null);
  assert.deepEqual((await fs.list('/boot')).entries?.map((entry) => entry.name), ['grub.cfg']);
  assert.equal(await fs.exists('/etc/passwd'), false, 'existence is not probed through a link out of the root');
  assert.equal(await fs.exists('/boot/grub.cfg'), true);
  await fs.close();
});
