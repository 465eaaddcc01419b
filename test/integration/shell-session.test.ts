// The SSH session against a real OpenSSH sshd on 127.0.0.1: pinned host key, key login, quoting, stdin,
// output caps, command deadlines, and the error kinds of every way a connection can fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { startSshd, generateKeyPair, type TestSshd } from '../support/sshd.js';
import { freePort } from '../support/ports.js';
import { openSession, isShellError, type ShellErrorKind, type ShellSession, type SessionOptions } from '../../shell/index.js';

let sshd: TestSshd;
let session: ShellSession;

function options(overrides: Partial<SessionOptions> = {}): SessionOptions {
  return { host: sshd.host, port: sshd.port, privateKey: sshd.clientKey.privateKey, hostKey: sshd.hostKey, connectTimeoutMs: 10_000, ...overrides };
}

async function failureKind(promise: Promise<unknown>): Promise<{ kind: ShellErrorKind; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isShellError(error)) return { kind: error.kind, message: error.message };
    throw error;
  }
  assert.fail('expected a ShellError');
}

/**
 * Whether a process whose arguments contain `marker` is still running (a zombie does not count: `ps` shows it as
 * `[name] <defunct>`). SIGKILL takes effect when the process next runs, which on a loaded host is not at once,
 * so a killed command is given 3 s to go; one that was never killed (a 47 s sleep) is still there then.
 */
async function stillRunning(marker: string): Promise<boolean> {
  const deadline = performance.now() + 3_000;
  for (;;) {
    const processes = await session.exec(['ps', '-eo', 'args']);
    if (!processes.stdout.split('\n').some((line) => line.includes(marker))) return false;
    if (performance.now() > deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  sshd = await startSshd();
  session = await openSession(options());
});

after(async () => {
  await session?.close();
  await sshd?.stop();
});

test('connects with the pinned host key and the client key', async (t) => {
  const started = performance.now();
  const second = await openSession(options());
  t.diagnostic(`ssh connect and login: ${Math.round(performance.now() - started)} ms`);
  assert.equal(second.name, `root@127.0.0.1:${sshd.port}`);
  assert.equal((await second.exec(['id', '-u'])).stdout.trim(), '0');
  await second.close();
});

test('runs a command with arguments that a shell would otherwise interpret', async (t) => {
  const nasty = ['two words', "it's", '$(touch /tmp/rescued-session-pwned)', '`id`', 'a;b|c&&d', '*', 'new\nline', '', '-n'];
  const result = await session.exec(['printf', '[%s]\\n', ...nasty]);
  t.diagnostic(`one exec round trip: ${result.durationMs} ms`);
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout, nasty.map((argument) => `[${argument}]\n`).join(''));
  assert.equal(result.stderr, '');
  const check = await session.exec(['test', '-e', '/tmp/rescued-session-pwned']);
  assert.equal(check.exitCode, 1);
});

test('stdin in, stdout and stderr apart, the exit status', async () => {
  const result = await session.exec(['sh', '-c', 'cat; echo "to stderr" >&2; exit 3'], { stdin: 'from stdin\n' });
  assert.deepEqual([result.exitCode, result.stdout, result.stderr], [3, 'from stdin\n', 'to stderr\n']);
});

test('output beyond the cap is dropped and flagged', async () => {
  const result = await session.exec(['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x'], { maxOutputBytes: 1000 });
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout.length, 1000);
  assert.equal(result.stdoutTruncated, true);
  assert.equal(result.stderrTruncated, false);
});

test('writeFile writes any bytes through stdin, and keeps the old mode', async () => {
  const path = `/tmp/rescued-session-write-${process.pid}`;
  const content = "line 1\nit's $(not run) `either`\n\u00fc\n";
  try {
    await session.writeFile(path, content, { mode: '0600' });
    assert.equal((await session.exec(['cat', path])).stdout, content);
    await session.writeFile(path, 'second\n');
    assert.equal((await session.exec(['cat', path])).stdout, 'second\n');
    assert.equal((await session.exec(['stat', '-c', '%a', path])).stdout.trim(), '600');
  } finally {
    await session.exec(['rm', '-f', path]);
  }
});

test('a command that outlives its deadline fails with `timeout`, and is killed on the remote side', async () => {
  const marker = '47.31';
  const started = performance.now();
  const failure = await failureKind(session.exec(['sh', '-c', `sleep ${marker}; echo never`], { timeoutMs: 700 }));
  assert.equal(failure.kind, 'timeout');
  assert.ok(performance.now() - started < 5_000);
  assert.equal(await stillRunning(`sleep ${marker}`), false, 'the sleep is gone');
  // The session is still usable.
  assert.equal((await session.exec(['true'])).exitCode, 0);
});

test('an aborted command is killed on the remote side and rejects with the abort reason', async () => {
  const marker = '53.17';
  const controller = new AbortController();
  const running = session.exec(['sh', '-c', `sleep ${marker}`], { signal: controller.signal, timeoutMs: 30_000 });
  setTimeout(() => controller.abort(new Error('cancelled by the workflow')), 300);
  await assert.rejects(running, /cancelled by the workflow/);
  assert.equal(await stillRunning(`sleep ${marker}`), false, 'the sleep is gone');
  await assert.rejects(session.exec(['true'], { signal: controller.signal }), /cancelled by the workflow/, 'an aborted signal starts nothing');
});

test('a command aborted at once, before its shell has started, is still killed on the remote side', async () => {
  const marker = '59.23';
  const controller = new AbortController();
  const running = session.exec(['sh', '-c', `sleep ${marker}`], { signal: controller.signal, timeoutMs: 30_000 });
  // In the same tick: no channel is open yet, and the command has not printed its PID. The session waits for
  // the PID and kills the command, or the command never starts; either way nothing is left running.
  controller.abort(new Error('cancelled at once'));
  await assert.rejects(running, /cancelled at once/);
  // Time for a command that was left to run to show up.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(await stillRunning(`sleep ${marker}`), false, 'the sleep is gone');
});

for (const shell of [['/bin/dash'], ['/bin/busybox', 'sh']]) {
  test(`under ${shell.join(' ')} as the login shell, a command that outlives its deadline is killed with what it started`, async (t) => {
    const other = await startSshd({ commandShell: shell });
    t.after(() => other.stop());
    const remote = await openSession({ host: other.host, port: other.port, privateKey: other.clientKey.privateKey, hostKey: other.hostKey, connectTimeoutMs: 10_000 });
    t.after(() => remote.close());
    // The session works there: the shell prints the PID line the session reads, and runs the command.
    assert.equal((await remote.exec(['sh', '-c', 'echo ok'])).stdout, 'ok\n');
    const marker = shell.length === 1 ? '61.07' : '67.03';
    // The shell runs the sleep as a child (a command follows it): only a kill of the process group reaches it.
    const failure = await failureKind(remote.exec(['sh', '-c', `sleep ${marker}; echo never`], { timeoutMs: 700 }));
    assert.equal(failure.kind, 'timeout');
    assert.equal(await stillRunning(`sleep ${marker}`), false, 'the sleep is gone');
  });
}

test('a host key other than the pinned one is refused before login: `host-key-mismatch`, no command runs', async () => {
  const logBefore = sshd.log().length;
  const failure = await failureKind(openSession(options({ hostKey: generateKeyPair().publicKey })));
  assert.equal(failure.kind, 'host-key-mismatch');
  assert.match(failure.message, /not the pinned/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const log = sshd.log().slice(logBefore);
  assert.doesNotMatch(log, /Accepted publickey|Starting session/);
});

test('a pinned key that is no key at all is refused as a mismatch', async () => {
  assert.equal((await failureKind(openSession(options({ hostKey: 'garbage' })))).kind, 'host-key-mismatch');
});

test('a client key the server does not know: `auth`', async () => {
  const failure = await failureKind(openSession(options({ privateKey: generateKeyPair().privateKey })));
  assert.equal(failure.kind, 'auth');
});

test('an unusable private key: `auth`, and the key is not in the message', async () => {
  const failure = await failureKind(openSession(options({ privateKey: 'not a key' })));
  assert.equal(failure.kind, 'auth');
  assert.doesNotMatch(failure.message, /not a key/);
});

test('nothing listening: `unreachable`', async () => {
  const failure = await failureKind(openSession(options({ port: await freePort() })));
  assert.equal(failure.kind, 'unreachable');
});

test('a TCP listener that never sends an SSH banner (QEMU before sshd runs): `timeout` after the connect deadline', async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const started = performance.now();
    const failure = await failureKind(openSession(options({ port, connectTimeoutMs: 800 })));
    const elapsed = performance.now() - started;
    assert.equal(failure.kind, 'timeout');
    assert.ok(elapsed >= 700 && elapsed < 5_000, `gave up after ${Math.round(elapsed)} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('a closed session refuses commands with `protocol`', async () => {
  const second = await openSession(options());
  await second.close();
  assert.equal((await failureKind(second.exec(['true']))).kind, 'protocol');
});
