// What counts as an SSH server answering (which check applies: test/unit/audit-probe.test.ts, osCheckOf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { sshAnswers, tcpAnswers, waitForOsAnswer } from '../../rescue/os-check.js';

async function serve(onConnection: (socket: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

test('SSH answers only when the server sends an SSH identification string (RFC 4253 4.2)', async () => {
  const sshd = await serve((socket) => socket.write('a banner line first\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
  const http = await serve((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const silent = await serve(() => undefined);
  try {
    assert.equal((await sshAnswers('127.0.0.1', sshd.port, 2000)).answered, true);
    assert.equal((await sshAnswers('127.0.0.1', http.port, 2000)).answered, false, 'an HTTP server on the port is not the OS answering over SSH');
    assert.equal((await sshAnswers('127.0.0.1', silent.port, 500)).answered, false, 'a port that accepts and says nothing');
    assert.equal((await tcpAnswers('127.0.0.1', silent.port, 500)).answered, true, 'a tcp: check only needs the connection');
    const closedPort = http.port;
    await new Promise((resolve) => http.server.close(resolve));
    assert.equal((await sshAnswers('127.0.0.1', closedPort, 500)).answered, false);
  } finally {
    for (const s of [sshd.server, http.server, silent.server]) s.close();
  }
});

test('waiting for the OS: tries overlap, so one that hangs does not hold up the next', async () => {
  // The first two connections hang silent (a forwarded port whose guest has no network yet), later ones answer.
  let connections = 0;
  const sshd = await serve((socket) => {
    connections += 1;
    if (connections > 2) socket.write('SSH-2.0-dropbear\r\n');
  });
  try {
    const started = Date.now();
    const waited = await waitForOsAnswer({ kind: 'ssh', host: '127.0.0.1', port: sshd.port, source: 'test' }, { timeoutMs: 10_000, intervalMs: 200, probeTimeoutMs: 3000 });
    assert.equal(waited.answered, true);
    assert.equal(waited.tries, 3);
    assert.ok(Date.now() - started < 2000, `answered at the third try, 0.4 s in, not after the first try's 3 s timeout (${Date.now() - started} ms)`);
    const closed = await waitForOsAnswer({ kind: 'ssh', host: '127.0.0.1', port: 1, source: 'test' }, { timeoutMs: 600, intervalMs: 200, probeTimeoutMs: 3000 });
    assert.equal(closed.answered, false);
    assert.ok(closed.tries >= 2, `asked again until the time was over: ${closed.tries}`);
    assert.equal(closed.detail, 'connection refused');
  } finally {
    sshd.server.close();
  }
});
