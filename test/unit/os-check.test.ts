// What counts as an SSH server answering (which check applies: test/unit/audit-probe.test.ts, osCheckOf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { sshAnswers, tcpAnswers } from '../../rescue/os-check.js';

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
