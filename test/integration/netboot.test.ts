// Network boot end to end over real protocols: per-MAC configs fetched with curl over our TFTP server,
// iPXE scripts and boot files over HTTP, autoinstall rendering, install status callbacks, boot sync.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testDatabases } from '../support/databases.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { runRescuectl } from '../support/cli.js';
import { createTftpServer, createDiskFileProvider, type TftpServer } from '../../boot/tftp/index.js';
import { createBootFileProvider } from '../../boot/tftp-boot-files.js';

const execFileAsync = promisify(execFile);
const KICKSTART = `# kickstart for {{ system.name }}
network --hostname={{ hostname }} --device={{ mac }}
{% for repo in repos %}repo --name={{ repo.name }} --baseurl={{ repo.mirror }}
{% endfor %}%pre
curl -fsS "{{ status_url_started }}"
%end
%post
curl -fsS "{{ status_url_finished }}"
%end
`;

async function curlTftp(port: number, file: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('curl', ['-sS', '--max-time', '10', ...extra, `tftp://127.0.0.1:${port}/${file}`], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

for (const database of testDatabases()) {
  describe(`network boot on ${database.label}`, () => {
    let api: TestApi;
    let tftp: TftpServer;
    let tftpPort: number;
    let token: string;
    const pendingRecords = new Set<Promise<void>>();
    const cli = (...args: string[]) => runRescuectl(args, { RESCUED_SERVER: api.url, RESCUED_TOKEN: api.adminToken });

    before(async () => {
      api = await startTestApi(database);
      await mkdir(join(api.tftpRoot, 'rhel9'), { recursive: true });
      await writeFile(join(api.tftpRoot, 'rhel9', 'vmlinuz'), Buffer.alloc(300_000, 7));
      await writeFile(join(api.tftpRoot, 'rhel9', 'initrd.img'), 'initrd bytes');
      await symlink('/etc/passwd', join(api.tftpRoot, 'escape'));
      tftp = createTftpServer({ address: '127.0.0.1', port: 0, providers: [createBootFileProvider(api.netboot.service, api.netboot.urls), createDiskFileProvider(api.tftpRoot)] });
      tftp.on('transfer-end', (report) => {
        const recording = api.netboot.recorder.record({ protocol: 'tftp', clientAddress: report.client.address, file: report.path ?? report.requestedPath, bytes: report.bytesTransferred, outcome: report.outcome });
        pendingRecords.add(recording);
        void recording.finally(() => pendingRecords.delete(recording));
      });
      tftpPort = (await tftp.listen()).port;
      const steps: Array<[string, string, unknown]> = [
        ['POST', '/api/v1/templates', { name: 'rhel9-ks', kind: 'kickstart', body: KICKSTART }],
        ['POST', '/api/v1/distros', { name: 'rhel9', kernel: 'rhel9/vmlinuz', initrd: 'rhel9/initrd.img', arch: 'x86_64', breed: 'redhat', osVersion: '9', kernelOptions: 'inst.text quiet' }],
        ['POST', '/api/v1/repos', { name: 'appstream', mirror: 'http://mirror.example.com/appstream', arch: 'x86_64' }],
        ['POST', '/api/v1/profiles', { name: 'rhel9-base', distro: 'rhel9', autoinstall: 'rhel9-ks', repos: ['appstream'], kernelOptions: 'console=tty0' }],
        ['POST', '/api/v1/profiles', { name: 'rhel9-web', parent: 'rhel9-base', kernelOptions: 'console=ttyS0 !quiet' }],
        ['POST', '/api/v1/systems', { name: 'web01', profile: 'rhel9-web', netbootEnabled: true, kernelOptions: 'ip=dhcp', interfaces: [{ mac: '52:54:00:12:34:56', ip: '10.0.0.11', hostname: 'web01.example.com' }] }],
        ['POST', '/api/v1/systems', { name: 'db01', profile: 'rhel9-web', netbootEnabled: false, interfaces: [{ mac: '52:54:00:12:34:57' }] }],
      ];
      for (const [method, path, body] of steps) {
        const reply = await api.request(method, path, { body });
        assert.equal(reply.status, 201, `${path}: ${JSON.stringify(reply.body)}`);
      }
    });
    after(async () => {
      await tftp?.close();
      await Promise.allSettled([...pendingRecords]);
      await api?.close();
    });

    test('curl fetches the per-MAC pxelinux config over TFTP, with merged kernel options', async () => {
      const fetched = await curlTftp(tftpPort, 'pxelinux.cfg/01-52-54-00-12-34-56');
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.match(fetched.stdout, /^DEFAULT install$/m);
      assert.match(fetched.stdout, /KERNEL \/rhel9\/vmlinuz/);
      assert.match(fetched.stdout, new RegExp(`APPEND inst\\.text console=ttyS0 ip=dhcp inst\\.ks=${api.url.replaceAll('.', '\\.')}/boot/autoinstall/web01$`, 'm'));
      const local = await curlTftp(tftpPort, 'pxelinux.cfg/01-52-54-00-12-34-57', ['--tftp-blksize', '1468']);
      assert.match(local.stdout, /LOCALBOOT -1/, 'netboot disabled: boot from disk');
      const unknown = await curlTftp(tftpPort, 'pxelinux.cfg/01-52-54-00-99-99-99');
      assert.match(unknown.stdout, /LOCALBOOT -1/, 'an unknown machine is never installed over');
      const grub = await curlTftp(tftpPort, 'grub/grub.cfg-01-52-54-00-12-34-56');
      assert.match(grub.stdout, /linux \(http,127\.0\.0\.1:\d+\)\/boot\/files\/rhel9\/vmlinuz\?mac=52:54:00:12:34:56/);
      const chain = await curlTftp(tftpPort, 'boot.ipxe');
      assert.match(chain.stdout, /chain .*\/boot\/ipxe\/\$\{net0\/mac\}/);
      const kernel = await curlTftp(tftpPort, 'rhel9/vmlinuz', ['--tftp-blksize', '1468', '-o', join(api.tftpRoot, '..', `k-${process.pid}`)]);
      assert.equal(kernel.code, 0, kernel.stderr);
      const escape = await curlTftp(tftpPort, 'escape');
      assert.notEqual(escape.code, 0, 'a symlink out of the root is refused');
      assert.doesNotMatch(escape.stdout, /root:/);
    });

    test('iPXE script and boot files over HTTP; traversal refused', async () => {
      const script = await fetch(`${api.url}/boot/ipxe/52-54-00-12-34-56`);
      assert.equal(script.status, 200);
      const body = await script.text();
      assert.match(body, /^kernel .*\/boot\/files\/rhel9\/vmlinuz\?mac=52:54:00:12:34:56 initrd=initrd /m);
      const file = await fetch(`${api.url}/boot/files/rhel9/vmlinuz?mac=52:54:00:12:34:56`);
      assert.equal(file.status, 200);
      assert.equal((await file.arrayBuffer()).byteLength, 300_000);
      for (const bad of ['/boot/files/..%2f..%2fetc%2fpasswd', '/boot/files/escape', '/boot/files/rhel9/..%2f..%2f..%2fetc/passwd']) {
        const refused = await fetch(`${api.url}${bad}`);
        assert.ok(refused.status === 400 || refused.status === 403 || refused.status === 404, `${bad}: ${refused.status}`);
        assert.doesNotMatch(await refused.text(), /root:x:0/);
      }
      const badMac = await fetch(`${api.url}/boot/ipxe/not-a-mac`);
      assert.equal(badMac.status, 400);
      assert.match(((await badMac.json()) as { message: string }).message, /not-a-mac/);
    });

    test('autoinstall renders per system; a template error names the template and the line', async () => {
      const rendered = await fetch(`${api.url}/boot/autoinstall/web01`);
      assert.equal(rendered.status, 200);
      const text = await rendered.text();
      assert.match(text, /network --hostname=web01\.example\.com --device=52:54:00:12:34:56/);
      assert.match(text, /repo --name=appstream --baseurl=http:\/\/mirror\.example\.com\/appstream/);
      token = /started\?token=([A-Za-z0-9_-]+)/.exec(text)![1]!;
      const preview = await cli('system', 'get-autoinstall', 'web01');
      assert.equal(preview.code, 0, preview.stderr);
      assert.equal(preview.stdout, text.replaceAll(token, '[redacted]'), 'the preview shows the file with its install token masked');
      assert.ok(!preview.stdout.includes(token), 'no install token in an operator preview');
      assert.equal((await api.request('PATCH', '/api/v1/templates/rhel9-ks', { body: { body: 'ok\nurl {{ mirrror }}\n' } })).status, 200);
      const broken = await cli('system', 'get-autoinstall', 'web01');
      assert.notEqual(broken.code, 0);
      assert.match(broken.stderr, /template "rhel9-ks", line 2/);
      assert.equal((await api.request('PATCH', '/api/v1/templates/rhel9-ks', { body: { body: KICKSTART } })).status, 200);
      const inUse = await api.request('DELETE', '/api/v1/templates/rhel9-ks');
      assert.equal(inUse.status, 409);
      const missing = await api.request('POST', '/api/v1/profiles', { body: { name: 'p3', distro: 'rhel9', autoinstall: 'nope' } });
      assert.equal(missing.status, 400);
      assert.match(missing.body.message, /template "nope" does not exist/);
    });

    test('install status: fetches, started, finished; then netboot is off and history has the install', async () => {
      let status = await cli('status');
      assert.match(status.stdout, /web01\s+idle\s+-\s+-\s+autoinstall\/web01\s+\d+s ago\s+true/, status.stdout);
      const wrong = await fetch(`${api.url}/boot/status/web01/started?token=wrong`);
      assert.equal(wrong.status, 403);
      const otherToken = await fetch(`${api.url}/boot/status/db01/started?token=${token}`);
      assert.equal(otherToken.status, 403, "one system's token does not work for another");
      assert.equal((await fetch(`${api.url}/boot/status/web01/started?token=${token}`)).status, 200);
      status = await cli('status');
      assert.match(status.stdout, /web01\s+installing\s+rhel9-web/);
      assert.equal((await fetch(`${api.url}/boot/status/web01/finished?token=${token}`, { method: 'POST' })).status, 200);
      const single = await cli('--json', 'status', 'web01');
      const parsed = JSON.parse(single.stdout) as { state: string; netbootEnabled: boolean };
      assert.equal(parsed.state, 'finished');
      assert.equal(parsed.netbootEnabled, false, 'netbootOnce (default) turned netboot off');
      const history = await api.request('GET', '/api/v1/systems/web01/install-history');
      assert.equal(history.body.length, 1);
      assert.equal(history.body[0].outcome, 'success');
      assert.equal(history.body[0].profile, 'rhel9-web');
      assert.equal(history.body[0].distro, 'rhel9');
      const after = await curlTftp(tftpPort, 'pxelinux.cfg/01-52-54-00-12-34-56');
      assert.match(after.stdout, /LOCALBOOT -1/, 'the next network boot goes to the local disk');
      const fetches = await api.request('GET', '/api/v1/systems/web01/boot-fetches');
      const files = fetches.body.map((f: { file: string }) => f.file);
      for (const expected of ['pxelinux.cfg/01-52-54-00-12-34-56', 'rhel9/vmlinuz', 'autoinstall/web01']) assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
    });

    test('boot sync copies the loaders that are installed and names the package of each missing one', async () => {
      const result = await cli('boot', 'sync');
      const copied = [...result.stdout.matchAll(/^copied (\S+)/gm)].map((m) => m[1]);
      const missing = [...result.stderr.matchAll(/^missing: (\S+) .*apt-get install (\S+)/gm)].map((m) => `${m[1]}:${m[2]}`);
      assert.equal(copied.length + missing.length, 8, `${result.stdout}\n${result.stderr}`);
      assert.equal(result.code === 0, missing.length === 0);
      for (const file of copied) assert.ok((await readFile(join(api.tftpRoot, file!))).length > 0);
      if (copied.includes('pxelinux.0')) {
        const loader = await curlTftp(tftpPort, 'pxelinux.0', ['-o', '/dev/null', '-w', '%{size_download}']);
        assert.ok(Number(loader.stdout) > 10_000);
      }
    });
  });
}
