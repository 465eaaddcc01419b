// Which check proves a restored machine is back, and what counts as an SSH server answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { chooseVerificationCheck, sshAnswers, tcpAnswers, VerificationConfigError } from '../../rescue/verification.js';

test('the label decides; else SSH on the first interface IP; else nothing can verify it', () => {
  assert.deepEqual(chooseVerificationCheck({ labels: { 'rescued.verify': 'tcp:127.0.0.5:8080' }, interfaces: [{ ip: '127.0.0.9' }] }), { kind: 'tcp', host: '127.0.0.5', port: 8080, source: 'label rescued.verify' });
  assert.deepEqual(chooseVerificationCheck({ labels: { 'rescued.verify': 'ssh:[::1]:2222' }, interfaces: [] }), { kind: 'ssh', host: '::1', port: 2222, source: 'label rescued.verify' });
  assert.deepEqual(chooseVerificationCheck({ labels: {}, interfaces: [{ ip: null }, { ip: '127.0.0.9' }] }), { kind: 'ssh', host: '127.0.0.9', port: 22, source: 'the IP of its interface' });
  const none = chooseVerificationCheck({ labels: {}, interfaces: [{}] });
  assert.equal(none.kind, 'none');
  assert.match((none as { reason: string }).reason, /no IP in the inventory/);
  // "none" used to count as verified; it is now said plainly that nothing checked.
  assert.equal(chooseVerificationCheck({ labels: { 'rescued.verify': 'none' }, interfaces: [{ ip: '127.0.0.9' }] }).kind, 'none');
  assert.throws(() => chooseVerificationCheck({ labels: { 'rescued.verify': 'power' }, interfaces: [] }), VerificationConfigError);
  assert.throws(() => chooseVerificationCheck({ labels: { 'rescued.verify': 'tcp:host:99999' }, interfaces: [] }), /not host:port/);
});

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
    assert.equal(await sshAnswers('127.0.0.1', sshd.port, 2000), true);
    assert.equal(await sshAnswers('127.0.0.1', http.port, 2000), false, 'an HTTP server on the port is not the OS answering over SSH');
    assert.equal(await sshAnswers('127.0.0.1', silent.port, 500), false, 'a port that accepts and says nothing');
    assert.equal(await tcpAnswers('127.0.0.1', silent.port, 500), true, 'a tcp: check only needs the connection');
    const closedPort = http.port;
    await new Promise((resolve) => http.server.close(resolve));
    assert.equal(await sshAnswers('127.0.0.1', closedPort, 500), false);
  } finally {
    for (const s of [sshd.server, http.server, silent.server]) s.close();
  }
});
