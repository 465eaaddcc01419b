// A Redfish answer is read into memory, so it is bounded: whatever answers at a BMC's address (a broken
// BMC, a wrong address that hits some file server) cannot make the worker buffer without end. The server
// here is a plain HTTP server on 127.0.0.1 that answers 200 and then streams JSON forever.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { MAX_REDFISH_REPLY_BYTES, parseRedfishEndpoint, sendRedfishRequest } from '../../power/drivers/redfish-http.js';
import { BmcError } from '../../power/errors.js';

let server: Server;
let sent = 0;

before(async () => {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"Members": [');
    const chunk = `${'{"@odata.id": "/redfish/v1/Systems/x"},'.repeat(1000)}`;
    const pump = () => {
      while (!response.destroyed && response.write(chunk)) sent += chunk.length;
      if (!response.destroyed) response.once('drain', pump);
    };
    response.on('close', () => undefined);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('an endless Redfish answer is cut off at the size cap with a clear error', async () => {
  const endpoint = parseRedfishEndpoint(`http://127.0.0.1:${(server.address() as { port: number }).port}`, undefined)!;
  const failure = await sendRedfishRequest(endpoint, { verify: true, ca: undefined }, { systemName: 'web09', driver: 'redfish' }, { method: 'GET', path: '/redfish/v1/Systems', headers: {}, timeoutMs: 30_000, signal: new AbortController().signal }).then(
    () => assert.fail('an endless answer was accepted'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof BmcError);
  assert.equal(failure.kind, 'internal');
  assert.match(failure.message, /web09: redfish: GET \/redfish\/v1\/Systems: the answer of http:\/\/127\.0\.0\.1:\d+ is larger than 4194304 bytes/);
  assert.ok(sent < MAX_REDFISH_REPLY_BYTES * 4, `the server got to send ${sent} bytes`);
});
