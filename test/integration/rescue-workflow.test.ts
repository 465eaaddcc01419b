// The rescue workflow on the real Temporal dev server, with real activities over a real database, a
// real ipmi_sim BMC per machine, a real sshd as the rescue environment's SSH server, diagnose and repair
// on real broken ext4 images, and a simulated machine that boots through our HTTP routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { runRescuectl } from '../support/cli.js';
import { generateKeyPair } from '../support/sshd.js';
import { hostKeyFingerprint } from '../../rescue/handshake.js';
import { phoneHomeLate } from '../support/simulated-machine.js';
import { startRescueLab, addLabMachine, type LabMachine, type RescueLab } from '../support/rescue-lab.js';
import { testDatabases } from '../support/databases.js';
import { startPeriodicReconcile } from '../../rescue/reconcile.js';
import { createSshRescueShell } from '../../workers/rescue-shell.js';
import { createBrokenLabDisk, createLabDisk, checkDiskImage } from '../../lab/vm/disks.js';
import type { RescueResult } from '../../workflows/rescue.js';
import type { RescueStatus } from '../../workflows/rescue-types.js';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

/** A disk whose grub.cfg names a kernel that is gone: nothing in the rescue environment can repair that. */
async function diskWithoutKernel(directory: string, name: string) {
  const disk = await createLabDisk({ directory, name });
  await execFileAsync('debugfs', ['-w', '-R', `rm /boot/vmlinuz-${disk.kernelVersion}`, disk.path]);
  return disk;
}

/** A POST from a chosen loopback source address (127.0.0.0/8), as a machine at that address would send it. */
function postFrom(localAddress: string, url: string, body: unknown): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const request = httpRequest(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, message: text ? ((JSON.parse(text) as { message?: string }).message ?? '') : '' }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** The phone-home URL and what the rescue environment would send, read from the machine's iPXE script. */
async function rescueCallback(apiUrl: string, mac: string): Promise<{ url: string; token: string }> {
  const script = await (await fetch(`${apiUrl}/boot/ipxe/${mac}`)).text();
  return { url: /rescued\.callback=(\S+)/.exec(script)![1]!, token: /rescued\.token=(\S+)/.exec(script)![1]! };
}

const FAST = { phoneHomeTimeoutMs: 15_000, maxPowerCycles: 2, approvalTimeoutMs: 60_000, installTimeoutMs: 60_000, verifyTimeoutMs: 15_000 };

for (const database of testDatabases()) describe(`rescueWorkflow on ${database.label}`, () => {
  let lab: RescueLab;
  let disks: string;
  const machines: LabMachine[] = [];
  /** The disk image each machine's "rescue environment" sees, by system name. */
  const diskOf = new Map<string, string>();

  before(async () => {
    disks = await mkdtemp(join(tmpdir(), 'rescue-disks-'));
    lab = await startRescueLab(createSshRescueShell({ devicesFor: (system) => (diskOf.has(system) ? [diskOf.get(system)!] : undefined), fileSystemAccess: 'debugfs' }), database);
    await lab.startWorker();
    const setup: Array<[string, unknown]> = [
      ['/api/v1/templates', { name: 'ks', kind: 'kickstart', body: '%pre\ncurl "{{ status_url_started }}"\n%end\n%post\ncurl "{{ status_url_finished }}"\n%end\n' }],
      ['/api/v1/distros', { name: 'deb12', kernel: 'deb12/linux', initrd: 'deb12/initrd.gz', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'web', distro: 'deb12', autoinstall: 'ks', rescuePolicy: 'repair-then-reinstall' }],
      ['/api/v1/rescue-environments', { name: 'rescue-deb', kernel: 'rescue/vmlinuz', initrd: 'rescue/initrd.gz', arch: 'x86_64', osFamilies: ['debian'], kernelArgs: 'console=ttyS0 rescue.mac={{ mac }}' }],
    ];
    for (const [path, body] of setup) assert.equal((await lab.api.request('POST', path, { body })).status, 201, path);
  });
  after(async () => {
    for (const machine of machines) await machine.stop();
    await lab?.stop();
    await rm(disks, { recursive: true, force: true });
  });

  async function machine(name: string, options: Partial<Parameters<typeof addLabMachine>[1]> & { healthy?: () => boolean } = {}): Promise<LabMachine> {
    const added = await addLabMachine(lab, { name, profile: 'web', behaviour: { phonesHome: true, osHealthy: options.healthy ?? (() => true), install: 'success' }, ...options });
    machines.push(added);
    return added;
  }
  const start = (system: string, reason = 'test') => lab.rescues.start({ system, reason, requestedBy: 'test' });
  const handle = (system: string) => lab.env.client.workflow.getHandle(`rescue-${system}`);
  /**
   * How the rescue ended. A completed workflow returns it; a failed one carries the rescue's status as its
   * failure's details; a cancelled one (aborted) has neither, and its status comes from the API (the run row).
   */
  async function result(system: string): Promise<RescueResult> {
    try {
      return (await handle(system).result()) as RescueResult;
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      if (error.cause instanceof ApplicationFailure && error.cause.type === 'RescueFailed') {
        assert.equal(error.cause.nonRetryable, true);
        const status = error.cause.details?.[0] as RescueStatus;
        return { outcome: status.outcome!, status };
      }
      if (error.cause instanceof CancelledFailure) {
        const reply = await lab.api.request('GET', `/api/v1/rescues/${system}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return { outcome: reply.body.status.outcome, status: reply.body.status };
      }
      throw error;
    }
  }
  const temporalStatus = async (system: string) => (await handle(system).describe()).status.name;
  async function waitForState(system: string, state: string, timeoutMs = 60_000): Promise<RescueStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await handle(system).query<RescueStatus>('status');
      if (status.state === state) return status;
      if (Date.now() > deadline) throw new Error(`${system} never reached ${state}; it is ${status.state}: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  test('happy path: a corrupted file system is found, repaired, and the machine comes back', async () => {
    const disk = await createBrokenLabDisk('cleared-inode', { directory: disks });
    diskOf.set('web01', disk.path);
    const web01 = await machine('web01');
    const started = await start('web01', 'node down alert');
    const done = await result('web01');
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    assert.equal((await checkDiskImage(disk.path)).exitCode, 0, 'the image is clean after the repair');
    assert.deepEqual(web01.machine.boots, ['pxe:rescue', 'disk:os-up']);
    assert.ok(done.status.findings.every((f) => f.severity === 'info'), 'no problem left after re-diagnosis');
    assert.equal(await lab.api.inventory.boot.override('web01'), undefined, 'the rescue config is gone');
    const states = done.status.steps.map((s) => s.step);
    assert.deepEqual(states, ['identifying', 'selecting', 'pushing', 'power-cycling', 'awaiting-phone-home', 'diagnosing', 'repairing', 'restoring']);
    const [run] = await lab.api.inventory.rescues.list({ system: 'web01' });
    assert.equal(run?.outcome, 'repaired');
    assert.equal(run?.runId, started.runId);
    assert.ok((run?.diagnosis as { findings: unknown[] } | null)?.findings, 'the diagnosis report is stored');
    const before = (run?.diagnosisBeforeRepair as { findings: Array<{ id: string; severity: string }> } | null)?.findings ?? [];
    assert.ok(before.some((f) => f.id.startsWith('filesystems:errors:') && f.severity === 'critical'), 'the diagnosis before repair is kept too');
    assert.ok(done.status.findingsBeforeRepair?.some((f) => f.id.startsWith('filesystems:errors:')), 'and in the workflow status');
    assert.deepEqual(done.status.repairs.map((r) => [r.playbook, r.status, r.changed]), [['filesystem-repair', 'changed', true]]);
    assert.ok((done.status.repairs[0]?.actions ?? []).some((line) => /e2fsck -fy/.test(line)), 'with what it changed');
    const description = await handle('web01').describe();
    assert.equal(description.typedSearchAttributes.get({ name: 'RescueOutcome', type: 'KEYWORD' } as never), 'repaired');
    const recorded = await handle('web01').fetchHistory();
    const history = JSON.stringify(recorded);
    assert.equal(history.includes('OPENSSH PRIVATE KEY'), false, 'no private key in the workflow history');
    assert.equal(history.includes(web01.bmc.password), false, 'no BMC password in the workflow history');
    // The cleanup after the rescue is retried until it succeeds (no attempt limit, backing off).
    const cleanup = (recorded.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'clearRescueBootConfig').at(-1);
    assert.equal(cleanup?.activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts ?? 0, 0);
    assert.ok(cleanup?.activityTaskScheduledEventAttributes?.retryPolicy?.maximumInterval, 'the retries back off to a maximum interval');
    // The current workflow code replays this history without a nondeterminism error.
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows/index.ts') }, recorded, 'rescue-web01');
    if (process.env.RESCUED_RECORD_HISTORY) await writeFile(process.env.RESCUED_RECORD_HISTORY, `${historyToJSON(recorded)}\n`);
  });

  test('a worker stopped mid-rescue: a new worker finishes it without repeating the power cycle', async () => {
    const disk = await createBrokenLabDisk('freed-blocks', { directory: disks });
    diskOf.set('web04', disk.path);
    const late = await addLabMachine(lab, { name: 'web04', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(late);
    await start('web04');
    await waitForState('web04', 'awaiting-phone-home');
    const cyclesBefore = late.bmc.readEvents().filter((e) => e.action === 'power-on' && e.bootDevice === 'pxe').length;
    assert.equal(cyclesBefore, 1);
    // Every worker goes away; the rescue's progress lives in Temporal's history.
    await lab.stopWorkers();
    await lab.startWorker();
    // The machine phones home late, as a slow rescue environment would.
    assert.equal(await phoneHomeLate({ apiUrl: lab.api.url, mac: late.mac, sshd: late.sshd }), 200);
    const done = await result('web04');
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    const pxeBoots = late.bmc.readEvents().filter((e) => e.action === 'power-on' && e.bootDevice === 'pxe').length;
    assert.equal(pxeBoots, 1, 'the completed power cycle was not repeated');
    assert.equal(done.status.powerCycles, 1);
  });

  test('rescuectl rescue start, watch, status, report and list', async () => {
    const disk = await createBrokenLabDisk('bad-fstab-uuid', { directory: disks });
    diskOf.set('web05', disk.path);
    await machine('web05');
    const env = { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken };
    const started = await runRescuectl(['--json', 'rescue', 'start', 'web05', '--reason', 'fstab alert'], env);
    assert.equal(started.code, 0, started.stderr);
    const ids = JSON.parse(started.stdout) as { workflowId: string; runId: string };
    assert.equal(ids.workflowId, 'rescue-web05');
    assert.match(ids.runId, /^[0-9a-f-]{36}$/);
    const watched = await runRescuectl(['rescue', 'watch', 'web05', '--interval', '0.5'], env);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /outcome: repaired/);
    assert.match(watched.stdout, /✓ diagnosing/);
    const status = await runRescuectl(['rescue', 'status', 'web05'], env);
    assert.match(status.stdout, /rescue of web05 .* state: repaired/);
    const report = await runRescuectl(['rescue', 'report', 'web05'], env);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /outcome\s+: repaired/);
    assert.match(report.stdout, /diagnosis before and after repair:/);
    assert.match(report.stdout, /✓ resolved\s+fstab\s+\S+\s+critical\s+gone\s+fstab-correct \(changed\)/);
    assert.match(report.stdout, /what each playbook did:\n  fstab-correct on \S+: changed\n    - kept the original as \/etc\/fstab\.rescued-/);
    assert.match(report.stdout, /\nevidence:\n(  .*\n)*  selection: /);
    assert.doesNotMatch(report.stdout, /\[object Object\]/);
    const list = await runRescuectl(['rescue', 'list', '--system', 'web05'], env);
    assert.match(list.stdout, /web05\s+repaired\s+repaired\s+rescue-deb/);
    const refused = await runRescuectl(['rescue', 'approve', 'web05'], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no rescue of "web05" is running/);
  });

  test('repair is not enough: reinstall of the previous profile after approval', async () => {
    const disk = await diskWithoutKernel(disks, 'nokernel-web02');
    diskOf.set('web02', disk.path);
    const web02 = await machine('web02');
    await lab.api.inventory.installHistory.start('web02', 'web', 'deb12');
    await lab.api.inventory.installHistory.finish('web02', 'success');
    await start('web02');
    const waiting = await waitForState('web02', 'awaiting-approval', 90_000);
    assert.ok(waiting.findings.some((f) => f.severity !== 'info'));
    const approved = await lab.api.request('POST', '/api/v1/rescues/web02/approve', { body: { comment: 'go' } });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await result('web02');
    assert.equal(done.outcome, 'reinstalled', JSON.stringify(done.status, null, 2));
    assert.ok(web02.machine.boots.includes('pxe:install'), web02.machine.boots.join(','));
    const installs = await lab.api.inventory.installHistory.list('web02');
    assert.equal(installs.length, 2);
    assert.equal(installs[0]?.outcome, 'success');
    assert.match(String(done.status.evidence.approval), /approved by token:test-admin: go/);
  });

  test('approval times out: the rescue ends as needs-attention and the machine boots from disk', async () => {
    const disk = await diskWithoutKernel(disks, 'nokernel-web03');
    diskOf.set('web03', disk.path);
    const web03 = await machine('web03');
    await lab.api.inventory.installHistory.start('web03', 'web', 'deb12');
    await lab.api.inventory.installHistory.finish('web03', 'success');
    await lab.rescues.start({ system: 'web03', reason: 'test', requestedBy: 'test', timings: { ...FAST, approvalTimeoutMs: 2_000 } });
    const done = await result('web03');
    assert.equal(done.outcome, 'needs-attention');
    assert.match(String(done.status.evidence.approval), /no decision within 2 s/);
    await web03.machine.caughtUp();
    assert.equal(web03.machine.boots.at(-1), 'disk:os-up');
  });

  test('no rescue environment fits: a failure that says what was looked for', async () => {
    assert.equal((await lab.api.request('POST', '/api/v1/profiles', { body: { name: 'arm', distro: 'deb12' } })).status, 201);
    await machine('arm01', { profile: 'arm' });
    await lab.api.request('PATCH', '/api/v1/systems/arm01', { body: { arch: 'aarch64' } });
    await start('arm01');
    const done = await result('arm01');
    assert.equal(done.outcome, 'failed');
    assert.match(String(done.status.error), /no rescue environment fits arm01 \(arch aarch64/);
    assert.equal(await temporalStatus('arm01'), 'FAILED', 'a failed rescue fails its workflow (red in the UI)');
    // The API and the CLI show the outcome of a closed rescue without a worker to ask.
    await lab.stopWorkers();
    try {
      const reply = await lab.api.request('GET', '/api/v1/rescues/arm01');
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual([reply.body.running, reply.body.status.outcome], [false, 'failed']);
      const env = { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken };
      const watched = await runRescuectl(['rescue', 'watch', 'arm01', '--interval', '0.5'], env);
      assert.equal(watched.code, 1);
      assert.match(watched.stdout, /outcome: failed \(no rescue environment fits arm01/);
    } finally {
      await lab.startWorker();
    }
  });

  test('BMC authentication error: not retried, the message names the BMC', async () => {
    const bad = await machine('badbmc', { bmcPassword: 'not-the-password' });
    await start('badbmc');
    const done = await result('badbmc');
    assert.equal(done.outcome, 'failed');
    assert.match(String(done.status.error), /badbmc.*ipmitool.*refused the password/);
    const history = await handle('badbmc').fetchHistory();
    const failures = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
    assert.equal(failures.length, 1, 'one attempt: an auth failure is not retried');
    assert.equal(await lab.api.inventory.boot.override('badbmc'), undefined, 'cleanup removed the config');
    void bad;
  });

  test('phone-home never comes: cycles N times, then fails with what the machine fetched', async () => {
    const silent = await addLabMachine(lab, { name: 'silent01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => false, install: 'hang' } });
    machines.push(silent);
    await lab.rescues.start({ system: 'silent01', reason: 'test', requestedBy: 'test', timings: { ...FAST, phoneHomeTimeoutMs: 3_000, maxPowerCycles: 2 } });
    const done = await result('silent01');
    assert.equal(done.outcome, 'failed');
    assert.equal(done.status.powerCycles, 2);
    assert.match(String(done.status.error), /did not phone home after 2 power cycle\(s\).*http ipxe\/52:54:00/);
    assert.equal(silent.machine.boots.filter((b) => b === 'pxe:rescue').length, 2);
    assert.equal(await lab.api.inventory.boot.override('silent01'), undefined);
  });

  test('abort half-way: the rescue config is removed and the run closes as aborted', async () => {
    const stuck = await addLabMachine(lab, { name: 'stuck01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(stuck);
    await start('stuck01');
    await waitForState('stuck01', 'awaiting-phone-home');
    assert.ok(await lab.api.inventory.boot.override('stuck01'), 'the rescue config is in place while it waits');
    const aborted = await lab.api.request('POST', '/api/v1/rescues/stuck01/abort', { body: { reason: 'wrong machine' } });
    assert.equal(aborted.status, 202);
    const done = await result('stuck01');
    assert.equal(done.outcome, 'aborted');
    assert.match(String(done.status.error), /aborted by token:test-admin: wrong machine/);
    assert.equal(await temporalStatus('stuck01'), 'CANCELLED', 'an aborted rescue ends cancelled in Temporal');
    assert.equal(await lab.api.inventory.boot.override('stuck01'), undefined);
    const [run] = await lab.api.inventory.rescues.list({ system: 'stuck01' });
    assert.equal(run?.outcome, 'aborted');
  });

  test('a duplicate start joins the running rescue; phone-homes with a wrong or expired token are refused', async () => {
    const slow = await addLabMachine(lab, { name: 'slow01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(slow);
    const first = await lab.api.request('POST', '/api/v1/rescues', { body: { system: 'slow01', reason: 'alert 1' } });
    assert.equal(first.status, 201);
    const second = await lab.api.request('POST', '/api/v1/rescues', { body: { system: 'slow01', reason: 'alert 2' } });
    assert.equal(second.status, 200);
    assert.deepEqual({ runId: second.body.runId, joined: second.body.joined }, { runId: first.body.runId, joined: true });
    await waitForState('slow01', 'awaiting-phone-home');
    const script = await (await fetch(`${lab.api.url}/boot/ipxe/${slow.mac}`)).text();
    const token = /rescued\.token=(\S+)/.exec(script)![1]!;
    const body = (mac: string) => JSON.stringify({ mac, ip: '127.0.0.1', sshHostKey: slow.sshd.hostKey });
    const post = (t: string, mac: string) => fetch(`${lab.api.url}/boot/rescue/${t}/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(mac) });
    const wrong = await post('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', slow.mac);
    assert.equal(wrong.status, 403);
    assert.match(((await wrong.json()) as { message: string }).message, /unknown token/);
    const otherMac = await post(token, '52:54:00:ff:ff:ff');
    assert.equal(otherMac.status, 403);
    const malformed = await fetch(`${lab.api.url}/boot/rescue/${token}/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mac": "zz"}' });
    assert.equal(malformed.status, 400);
    await lab.api.request('POST', '/api/v1/rescues/slow01/abort', { body: { reason: 'test over' } });
    await result('slow01');
    const expired = await post(token, slow.mac);
    assert.equal(expired.status, 403, 'the token stops working when the rescue ends');
    assert.match(((await expired.json()) as { message: string }).message, /unknown token .*its rescue has ended/);
    const status = await (await handle('slow01').query<RescueStatus>('status'));
    assert.equal(status.state, 'aborted');
  });

  test('phone-home hijack: only the first call counts, from the address that booted; the SSH sessions go to it', async () => {
    const disk = await createBrokenLabDisk('cleared-inode', { directory: disks });
    diskOf.set('hijack01', disk.path);
    const victim = await addLabMachine(lab, { name: 'hijack01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(victim);
    await start('hijack01');
    await waitForState('hijack01', 'awaiting-phone-home');
    const deadline = Date.now() + 20_000;
    while (!victim.machine.boots.includes('pxe:rescue') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const callback = await rescueCallback(lab.api.url, victim.mac);
    const attacker = generateKeyPair().publicKey;
    const forged = { mac: victim.mac, ip: '127.0.0.9', sshHostKey: attacker, sshPort: 2222 };
    // From another address than the one that fetched the rescue's boot script: refused before any use.
    const early = await postFrom('127.0.0.9', callback.url, forged);
    assert.equal(early.status, 403, early.message);
    assert.match(early.message, /came from 127\.0\.0\.9, but the address that fetched hijack01's rescue boot script 127\.0\.0\.1/);
    assert.equal(await phoneHomeLate({ apiUrl: lab.api.url, mac: victim.mac, sshd: victim.sshd }), 200);
    // A second call with the same token, even from the right address: refused, whatever it claims.
    const second = await postFrom('127.0.0.1', callback.url, forged);
    assert.equal(second.status, 409, second.message);
    assert.match(second.message, /already used at .* from 127\.0\.0\.1; a phone-home is accepted once/);
    const repeat = await phoneHomeLate({ apiUrl: lab.api.url, mac: victim.mac, sshd: victim.sshd });
    assert.equal(repeat, 409, 'even the same body twice');
    const done = await result('hijack01');
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
    assert.deepEqual(done.status.evidence.phoneHome, { ip: '127.0.0.1', hostKey: hostKeyFingerprint(victim.sshd.hostKey), afterPowerCycles: 1 });
    assert.equal((await checkDiskImage(disk.path)).exitCode, 0, 'diagnose and repair ran against the first caller');
    const events = await lab.api.request('GET', '/api/v1/events?objectType=system&objectName=hijack01&limit=50');
    const refused = (events.body as Array<{ kind: string; detail: { reason: string; source: string } }>).filter((e) => e.kind === 'rescue.phone-home-refused');
    assert.equal(refused.length, 3, JSON.stringify(refused));
    assert.ok(refused.some((e) => e.detail.source === '127.0.0.9'));
    assert.ok(!lab.api.logs.join('').includes(callback.token), 'the token is in no log line');
  });

  test('phone-home from another address than the inventory IP is refused; from that IP it is accepted', async () => {
    const disk = await createLabDisk({ directory: disks, name: 'clean-pin01' });
    diskOf.set('pin01', disk.path);
    const pinned = await addLabMachine(lab, { name: 'pin01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(pinned);
    const edit = await lab.api.request('PATCH', '/api/v1/systems/pin01', { body: { interfaces: [{ name: 'eth0', mac: pinned.mac, ip: '127.0.0.2' }] } });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    await start('pin01');
    await waitForState('pin01', 'awaiting-phone-home');
    const callback = await rescueCallback(lab.api.url, pinned.mac);
    const body = { mac: pinned.mac, ip: '127.0.0.1', sshHostKey: pinned.sshd.hostKey, sshPort: pinned.sshd.port };
    const wrongSource = await postFrom('127.0.0.1', callback.url, body);
    assert.equal(wrongSource.status, 403, wrongSource.message);
    assert.match(wrongSource.message, /came from 127\.0\.0\.1, but the inventory IP of pin01's interface eth0 127\.0\.0\.2/);
    const { appendFile } = await import('node:fs/promises');
    const key = Buffer.from(/rescued\.sshkey=(\S+)/.exec(await (await fetch(`${lab.api.url}/boot/ipxe/${pinned.mac}`)).text())![1]!, 'base64url').toString();
    await appendFile(join(pinned.sshd.directory, 'authorized_keys'), `${key}\n`);
    const accepted = await postFrom('127.0.0.2', callback.url, body);
    assert.equal(accepted.status, 200, accepted.message);
    const done = await result('pin01');
    assert.equal(done.outcome, 'repaired', JSON.stringify(done.status, null, 2));
  });

  test('verification: success only when the OS answers; with nothing to ask, the outcome is unverified', async () => {
    diskOf.set('blind01', (await createBrokenLabDisk('cleared-inode', { directory: disks })).path);
    diskOf.set('sshok01', (await createBrokenLabDisk('cleared-inode', { directory: disks })).path);
    // No IP in the inventory and no check: before, the BMC's "power on" made this `repaired`.
    const blind = await machine('blind01', { verifiable: false });
    const sshOk = await addLabMachine(lab, { name: 'sshok01', profile: 'web', behaviour: { phonesHome: true, osHealthy: () => true, install: 'success' }, labels: {} });
    machines.push(sshOk);
    assert.equal((await lab.api.request('PATCH', '/api/v1/systems/sshok01', { body: { labels: { 'rescued.verify': `ssh:127.0.0.1:${sshOk.machine.osPort}` } } })).status, 200);
    await start('blind01');
    await start('sshok01');
    const unverified = await result('blind01');
    assert.equal(unverified.outcome, 'unverified', JSON.stringify(unverified.status, null, 2));
    assert.match(String(unverified.status.evidence.verification), /no IP in the inventory and no label rescued.verify/);
    await blind.machine.caughtUp();
    assert.equal(blind.machine.boots.at(-1), 'disk:os-up');
    assert.equal(await temporalStatus('blind01'), 'COMPLETED');
    const [run] = await lab.api.inventory.rescues.list({ system: 'blind01' });
    assert.equal(run?.outcome, 'unverified');
    const verified = await result('sshok01');
    assert.equal(verified.outcome, 'repaired', JSON.stringify(verified.status, null, 2));
    assert.match(String(verified.status.evidence.verification), /SSH at 127\.0\.0\.1:\d+ \(label rescued.verify\) answered/);
  });

  test('a rescue terminated in Temporal: the next start closes its run and its boot config, then rescues', async () => {
    const machineT = await addLabMachine(lab, { name: 'term01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(machineT);
    const first = await start('term01');
    await waitForState('term01', 'awaiting-phone-home');
    await handle('term01').terminate('stuck, terminated from the UI');
    assert.ok(await lab.api.inventory.boot.override('term01'), 'a terminated workflow cleans nothing up');
    const env = { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken };
    const again = await runRescuectl(['--json', 'rescue', 'start', 'term01', '--reason', 'second try'], env);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as { runId: string; joined: boolean };
    assert.notEqual(second.runId, first.runId);
    assert.equal(second.joined, false);
    const old = await lab.api.inventory.rescues.get('rescue-term01', first.runId);
    assert.equal(old.outcome, 'aborted');
    assert.match(String(old.error), /terminated in Temporal: stuck, terminated from the UI/);
    const removed = (await lab.api.inventory.events.page({ objectType: 'system', objectName: 'term01', limit: 1000 })).items;
    assert.ok(removed.some((e) => e.kind === 'rescue.boot-config-removed' && e.actor === 'reconciler'), 'the reconciler removed the old boot config');
    await waitForState('term01', 'awaiting-phone-home');
    assert.equal((await lab.api.inventory.rescues.openRunOf('term01'))?.runId, second.runId);
    await lab.api.request('POST', '/api/v1/rescues/term01/abort', { body: { reason: 'test over' } });
    assert.equal((await result('term01')).outcome, 'aborted');
  });

  test('the periodic reconciler (as npm start runs it) closes runs whose workflow timed out or was terminated', async () => {
    const lost = await addLabMachine(lab, { name: 'lost01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(lost);
    await lab.api.request('POST', '/api/v1/rescues', { body: { system: 'lost01' } });
    await waitForState('lost01', 'awaiting-phone-home');
    await handle('lost01').terminate('worker pool gone');
    const lines: string[] = [];
    const stop = startPeriodicReconcile(lab.api.reconciler, { intervalMs: 3600_000, log: (line) => lines.push(line) });
    const deadline = Date.now() + 20_000;
    while ((await lab.api.inventory.rescues.openRunOf('lost01')) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await stop();
    assert.equal(await lab.api.inventory.rescues.openRunOf('lost01'), undefined, 'the run is closed');
    assert.equal(await lab.api.inventory.boot.override('lost01'), undefined, 'its boot config is gone');
    const [run] = await lab.api.inventory.rescues.list({ system: 'lost01' });
    assert.equal(run?.outcome, 'aborted');
    assert.ok(lines.some((line) => /closed the rescue run of lost01 .* as aborted/.test(line)), lines.join('\n'));
    // A closed rescue's status comes from its run row when Temporal holds no result (terminated).
    const status = await lab.api.request('GET', '/api/v1/rescues/lost01');
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.deepEqual([status.body.running, status.body.status.outcome], [false, 'aborted']);
  });

  test('rescuectl rescue close: an operator ends a stuck rescue; its workflow is terminated, its config removed', async () => {
    const stuck = await addLabMachine(lab, { name: 'close01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(stuck);
    const env = { RESCUED_SERVER: lab.api.url, RESCUED_TOKEN: lab.api.adminToken };
    const none = await runRescuectl(['rescue', 'close', 'close01', '--reason', 'nothing to close'], env);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /"close01" has no open rescue run to close/);
    await start('close01');
    await waitForState('close01', 'awaiting-phone-home');
    const noReason = await runRescuectl(['rescue', 'close', 'close01'], env);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.stderr, /--reason/);
    const { token: viewer } = await lab.api.inventory.tokens.create({ name: 'close-viewer', role: 'viewer' }, { name: 'test' });
    assert.equal((await lab.api.request('POST', '/api/v1/rescues/close01/close', { token: viewer, body: { reason: 'x' } })).status, 403);
    const closed = await runRescuectl(['rescue', 'close', 'close01', '--reason', 'BMC replaced, rescue by hand'], env);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /closed the rescue run of close01 \(rescue-close01\) as aborted: closed by token:test-admin: BMC replaced, rescue by hand/);
    assert.equal(await temporalStatus('close01'), 'TERMINATED');
    assert.equal(await lab.api.inventory.boot.override('close01'), undefined);
    const script = await (await fetch(`${lab.api.url}/boot/ipxe/${stuck.mac}`)).text();
    assert.doesNotMatch(script, /rescued\.token=/, 'the machine no longer boots the rescue image');
  });

  test('no worker to answer a query: the API answers 503 naming Temporal, not 500', async () => {
    const waiting = await addLabMachine(lab, { name: 'noworker01', profile: 'web', behaviour: { phonesHome: false, osHealthy: () => true, install: 'hang' } });
    machines.push(waiting);
    await start('noworker01');
    await waitForState('noworker01', 'awaiting-phone-home');
    await lab.stopWorkers();
    try {
      const reply = await lab.api.request('GET', '/api/v1/rescues/noworker01');
      // On a failure, what the server logged says which error was not taken for Temporal being away.
      assert.equal(reply.status, 503, `${JSON.stringify(reply.body)}\n${lab.api.logs.filter((line) => /"level":50/.test(line)).slice(-3).join('\n')}`);
      assert.match(reply.body.message, /^Temporal: /);
    } finally {
      await lab.startWorker();
    }
    await lab.api.request('POST', '/api/v1/rescues/noworker01/abort', { body: { reason: 'test over' } });
    assert.equal((await result('noworker01')).outcome, 'aborted');
  });

  test('a failed rescue start for an unknown machine is a 404, and nothing starts', async () => {
    const reply = await lab.api.request('POST', '/api/v1/rescues', { body: { system: 'ghost' } });
    assert.equal(reply.status, 404);
    await assert.rejects(handle('ghost').describe());
    assert.ok(WorkflowFailedError);
  });
});
