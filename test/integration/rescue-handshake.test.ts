// The rescue handshake's secrets at rest and in sight: the phone-home token is in the machine's boot script
// (it must be) but not in plain text in the boot override row, not in an operator's boot-config preview, not
// in the server log; the SSH activities pin the host key the workflow was told about; and the handshake,
// with its encrypted private key, is gone when the rescue ends. Real activities over a real database.
import { createRefusingAdmission } from '../support/refusing-admission.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { MockActivityEnvironment } from '@temporalio/testing';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { createActivities } from '../../activities/index.js';
import { createInventorySystemPower } from '../../workers/system-power.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { hostKeyFingerprint } from '../../rescue/handshake.js';

const MAC = '52:54:00:00:20:01';

async function rawRows(api: TestApi, query: string): Promise<Array<Record<string, unknown>>> {
  const result = await api.db.execute(sql.raw(query));
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<Record<string, unknown>>;
}

for (const database of testDatabases()) {
  describe(`rescue handshake secrets on ${database.label}`, () => {
    let api: TestApi;
    let sshd: TestSshd;
    let activities: ReturnType<typeof createActivities>;
    let token: string;
    let handshakeId: string;
    const workflowId = 'rescue-hs01';

    before(async () => {
      api = await startTestApi(database);
      sshd = await startSshd();
      activities = createActivities({ inventory: api.inventory, databaseKind: 'pglite', systemPower: createInventorySystemPower(api.inventory), netboot: api.netboot.service, rescueShell: createSshRescueShell(), admission: createRefusingAdmission() });
      const steps: Array<[string, unknown]> = [
        ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
        ['/api/v1/profiles', { name: 'p', distro: 'd' }],
        ['/api/v1/rescue-environments', { name: 'r', kernel: 'r/vmlinuz', initrd: 'r/initrd', arch: 'x86_64', osFamilies: ['debian'], kernelArgs: 'console=ttyS0' }],
        ['/api/v1/systems', { name: 'hs01', profile: 'p', interfaces: [{ mac: MAC }] }],
      ];
      for (const [path, body] of steps) assert.equal((await api.request('POST', path, { body })).status, 201, path);
      handshakeId = (await activities.pushRescueBootConfig({ system: 'hs01', environment: 'r', workflowId })).handshakeId;
      const script = await (await fetch(`${api.url}/boot/ipxe/${MAC}`)).text();
      token = /rescued\.token=(\S+)/.exec(script)?.[1] ?? '';
      assert.match(token, /^[A-Za-z0-9_-]{32}$/, script);
    });
    after(async () => {
      await sshd?.stop();
      await api?.close();
    });

    test('the machine gets its token; the override row, the preview and the log do not show it', async () => {
      const [row] = await rawRows(api, 'select * from boot_overrides');
      assert.ok(row, 'the override is stored');
      assert.equal(JSON.stringify(row).includes(token), false, `no plain token in the boot override row: ${JSON.stringify(row)}`);
      assert.match(String(row.append), /rescued\.token=\[redacted\]/);
      for (const format of ['pxelinux', 'grub', 'ipxe']) {
        const preview = await fetch(`${api.url}/api/v1/systems/hs01/boot-config?format=${format}`, { headers: { authorization: `Bearer ${api.adminToken}` } });
        const text = await preview.text();
        assert.equal(preview.status, 200);
        assert.equal(text.includes(token), false, `the ${format} preview masks the token:\n${text}`);
        assert.match(text, /rescued\.token=\[redacted\]/);
      }
      assert.equal((await api.inventory.boot.override('hs01'))?.append.includes(`rescued.token=${token}`), true, 'the machine still boots with it');
      // Requests that carry the token in their path or query string.
      await fetch(`${api.url}/boot/rescue/${token}/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mac": "zz"}' });
      await fetch(`${api.url}/boot/rescue/${token}/ready`);
      await fetch(`${api.url}/boot/status/hs01/started?token=${token}`);
      await fetch(`${api.url}/no/such/route?token=${token}&x=1`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const logged = api.logs.join('');
      assert.match(logged, /\/boot\/rescue\/\[redacted\]\/ready/, 'the requests were logged, redacted');
      assert.equal(logged.includes(token), false, 'no log line holds the token');
    });

    test('the SSH activity pins the host key the workflow received, not the one stored now', async () => {
      const claimed = await api.inventory.rescues.claimPhoneHome(handshakeId, { ip: '127.0.0.1', hostKey: sshd.hostKey, sshPort: sshd.port, source: '127.0.0.1' });
      assert.equal(claimed, true);
      assert.equal(await api.inventory.rescues.claimPhoneHome(handshakeId, { ip: '127.0.0.9', hostKey: sshd.hostKey, sshPort: 22, source: '127.0.0.9' }), false, 'a second claim loses');
      const announced = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
      const environment = new MockActivityEnvironment();
      await assert.rejects(
        environment.run(activities.diagnoseMachine, { workflowId, runId: 'r1', handshakeId, phoneHome: { ip: '127.0.0.1', sshPort: sshd.port, hostKeyFingerprint: hostKeyFingerprint(announced) } }),
        (error: Error & { type?: string }) => error.type === 'SshError.host-key-mismatch' && /not the one its phone-home announced/.test(error.message),
      );
    });

    test('the rescue ends: its handshake and private key are deleted, its token stops working', async () => {
      assert.equal((await rawRows(api, 'select id from rescue_handshakes')).length, 1);
      await activities.clearRescueBootConfig({ system: 'hs01', workflowId });
      assert.equal((await rawRows(api, 'select id from rescue_handshakes')).length, 0, 'no handshake (nor private key) is left');
      assert.equal(await api.inventory.boot.override('hs01'), undefined);
      assert.equal(await api.inventory.rescues.handshakeForToken(token), undefined);
    });
  });
}
