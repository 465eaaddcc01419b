// Binary garbage through the real thing: a real sshd where a command prints garbage, ext4 images whose logs,
// grub.cfg, fstab, file names and label hold garbage, and the real session garbled around every output; then
// the reports through the rescue-run repository on PGlite and PostgreSQL (DATABASE_URL) and the API's reply.
// PostgreSQL's jsonb refused "\u0000" from e2fsck's output ("unsupported Unicode escape sequence") and the
// rescue failed: nothing that a tool prints may fail a write or a reply again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { buildExt4Image, clearInodeOf, debianGrubConfig, makeScratchDirectory } from '../support/shell-images.js';
import { garbageBytes, garblingHost, seededRandom, stringsIn } from '../support/garbage.js';
import { testDatabases } from '../support/databases.js';
import { startTestApi } from '../support/api.js';
import { diagnose, openSession, repair, ShellError, type DiagnosisReport, type RepairReport, type ShellSession } from '../../shell/index.js';
import { evidenceOf } from '../../shell/evidence.js';
import { isSafeText, STORED_TEXT_LIMIT } from '../../shell/safe-text.js';

let sshd: TestSshd;
let session: ShellSession;
let scratch: string;

const ROOT_UUID = '0a1b2c3d-0000-4000-8000-00000000aaaa';
const KERNEL = '6.1.0-18-amd64';
const NOW = () => new Date('2026-11-25T12:00:00Z');

function assertAllSafe(value: unknown, what: string): void {
  const unsafe = stringsIn(value).filter((item) => !isSafeText(item.text) || item.text.length > STORED_TEXT_LIMIT);
  assert.deepEqual(unsafe.slice(0, 3).map((item) => ({ path: item.path, text: JSON.stringify(item.text.slice(0, 80)) })), [], `${what}: unsafe strings`);
}

before(async () => {
  scratch = makeScratchDirectory();
  sshd = await startSshd();
  session = await openSession({ host: sshd.host, port: sshd.port, privateKey: sshd.clientKey.privateKey, hostKey: sshd.hostKey, connectTimeoutMs: 10_000 });
});

after(async () => {
  await session?.close();
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('a command that prints megabytes of garbage on both streams: evidence is safe, capped, and says it was cut', async () => {
  const script = 'head -c 3000000 /dev/urandom; printf "\\000\\033[31m\\377\\376 tail"; printf "\\000err \\033]0;owned\\007 \\303" >&2; exit 4';
  const result = await session.exec(['sh', '-c', script]);
  assert.equal(result.exitCode, 4);
  assert.equal(result.stdoutTruncated, true, 'the session capped stdout at 1 MiB');
  assert.ok(result.stderr.includes('\u0000'), 'the session hands over what the command printed');
  const evidence = evidenceOf(result);
  assertAllSafe(evidence, 'evidence');
  assert.ok(evidence.output.length <= 3000);
  assert.match(evidence.output, /… \[cut \d+ bytes/);
  assert.match(evidence.output, /\uFFFDerr \\e\]0;owned\\x07 \uFFFD\n\[stdout cut by the session's output cap\]$/);
});

/** A root file system whose every text a probe reads carries garbage. */
function garbageRoot(name: string): string {
  const random = seededRandom(7);
  const grub = debianGrubConfig(ROOT_UUID, [KERNEL]).replace("menuentry 'Debian GNU/Linux'", "menuentry 'Debian \x1b[31mGNU\u0000/Linux\u202e'");
  const root = buildExt4Image(join(scratch, name), {
    uuid: ROOT_UUID,
    label: 'r\x1b[7mt',
    files: {
      // A crash left the fstab's tail NUL-filled, and it names a UUID that no file system has.
      'etc/fstab': Buffer.concat([Buffer.from(`UUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1\nUUID=0a1b2c3d-0000-4000-8000-00000000dead /data ext4 defaults 0 2\n`), Buffer.alloc(300)]),
      'etc/hostname': 'web01\n',
      [`boot/vmlinuz-${KERNEL}`]: 'kernel',
      [`boot/initrd.img-${KERNEL}`]: 'initrd',
      'boot/grub/grub.cfg': grub,
      'var/log/syslog': Buffer.concat([
        garbageBytes(random, 40_000),
        Buffer.from('\nNov 24 10:00:01 web01 kernel: EXT4-fs error (device vda1): \u0000\x1b[31mI/O error\x1b[0m \xff\xfe\n', 'latin1'),
        garbageBytes(random, 20_000),
        Buffer.from('\nNov 24 10:00:02 web01 systemd[1]: Failed to mount /data \x07\x08\x1b[2J\n'),
      ]),
      'var/log/kern.log.1': garbageBytes(random, 10_000),
      'var/log/app\x1b[2J\x01.log.1': 'rotated\n',
      'var/cache/apt/archives/pkg\x1b[31m\x02.deb': { sizeBytes: 50 * 1024 * 1024 },
      'srv/\x1b]0;x\x07name\x01': 'a file with a terminal escape in its name\n',
    },
  });
  // e2fsck names the directory entry of the cleared inode in its output.
  clearInodeOf(root, '/srv/\x1b]0;x\x07name\x01');
  return root;
}

describe('garbage on the disk, and in every output of the session', () => {
  let diagnosis: DiagnosisReport;
  let repaired: RepairReport;

  test('a diagnosis and a repair of a disk full of garbage finish, and everything they say is safe', async () => {
    const root = garbageRoot('garbage-root.img');
    diagnosis = await diagnose(session, { devices: [root], fileSystemAccess: 'debugfs', now: NOW });
    assert.deepEqual(diagnosis.probesRun.filter((run) => !run.ok), [], 'every probe ran');
    assertAllSafe(diagnosis, 'diagnosis');
    const ids = diagnosis.findings.map((item) => item.id);
    assert.ok(ids.includes(`filesystems:errors:${root}`), ids.join(', '));
    assert.ok(ids.includes(`fstab:not-text:${root}:/etc/fstab`), ids.join(', '));
    assert.ok(ids.includes(`free-space:low:${root}`), ids.join(', '));
    const logs = diagnosis.findings.find((item) => item.id === `boot-logs:errors:${root}:/var/log`);
    assert.match(logs?.evidence[0]?.output ?? '', /EXT4-fs error \(device vda1\): \uFFFD\\e\[31mI\/O error\\e\[0m/);
    const boot = diagnosis.findings.find((item) => item.probe === 'boot' && item.severity === 'info');
    assert.match(boot?.summary ?? '', /Debian \\e\[31mGNU\uFFFD\/Linux\\u202e/);

    repaired = await repair(session, diagnosis, { dryRun: false, fileSystemAccess: 'debugfs', now: NOW });
    assertAllSafe(repaired, 'repair');
    const status = Object.fromEntries(repaired.results.map((item) => [item.playbook, item.status]));
    assert.equal(status['filesystem-repair'], 'changed');
    assert.equal(status['free-space'], 'changed');
    const fstab = repaired.results.find((item) => item.playbook === 'fstab-correct');
    assert.equal(fstab?.status, 'failed', 'an fstab that is not text is never rewritten');
    assert.match(fstab?.error?.message ?? '', /holds bytes that are not text \(NUL or invalid UTF-8\); not rewritten, correct it by hand/);
    assert.ok(!repaired.remaining.includes(`filesystems:errors:${root}`));
  });

  test('the real session garbled around every output: every probe and playbook finishes or fails safely', async () => {
    for (const seed of [21, 22, 23]) {
      const root = garbageRoot(`garbled-${seed}.img`);
      const host = garblingHost(session, { seed, hugeEvery: 9 });
      let report: DiagnosisReport | null = null;
      try {
        report = await diagnose(host, { devices: [root], fileSystemAccess: 'debugfs', now: NOW });
      } catch (error) {
        assert.ok(error instanceof ShellError && isSafeText(error.message), String(error));
      }
      if (!report) continue;
      assertAllSafe(report, `garbled diagnosis ${seed}`);
      try {
        assertAllSafe(await repair(host, report, { dryRun: false, fileSystemAccess: 'debugfs', now: NOW }), `garbled repair ${seed}`);
      } catch (error) {
        assert.ok(error instanceof ShellError && isSafeText(error.message), String(error));
      }
      assert.ok(host.commands.length > 10, 'the probes ran their commands');
    }
  });

  for (const database of testDatabases()) {
    test(`stored in a rescue run and read back through the API (${database.label})`, async () => {
      assert.ok(diagnosis && repaired, 'the diagnosis test ran first');
      const api = await startTestApi(database);
      try {
        const random = seededRandom(99);
        const raw = (size: number) => garbageBytes(random, size).toString('utf8');
        await api.inventory.rescues.open({ workflowId: 'rescue-web01', runId: 'run-1', system: 'web01', reason: `alert \u0000${raw(200)}`, requestedBy: 'test' });
        // Straight into the repository, unsanitized: it is the last line of defence.
        await api.inventory.rescues.update('rescue-web01', 'run-1', {
          diagnosisBeforeRepair: { ...repaired.before, note: `raw \u0000 \ud800 ${raw(5000)}` } as unknown as Record<string, unknown>,
          diagnosis: repaired.after as unknown as Record<string, unknown>,
          repairs: repaired.results as unknown as Array<Record<string, unknown>>,
          evidence: { bootFetches: [{ file: `pxelinux.cfg/\u0000${raw(100)}`, outcome: 'not-found' }], [`key\u0000${raw(10)}`]: raw(100_000) },
          steps: [{ step: 'diagnosing', startedAt: NOW().toISOString(), finishedAt: null, outcome: `running \x1b[2J` }],
        });
        await api.inventory.rescues.close('rescue-web01', 'run-1', 'failed', `e2fsck said ${raw(3000)}\u0000`);
        const stored = await api.inventory.rescues.get('rescue-web01', 'run-1');
        assertAllSafe(stored, 'stored run');
        assert.equal(stored.diagnosis?.findings !== undefined, true);

        const reply = await api.request('GET', '/api/v1/rescues/web01/report');
        assert.equal(reply.status, 200, JSON.stringify(reply.body).slice(0, 500));
        assertAllSafe(reply.body, 'API reply');
        assert.deepEqual(reply.body.diagnosis, JSON.parse(JSON.stringify(stored.diagnosis)));
        assert.equal(reply.body.error, stored.error);
        assert.equal(reply.body.repaired, true);
        assert.ok(reply.body.comparison.some((item: { outcome: string }) => item.outcome === 'resolved'), 'the side-by-side diagnosis is in the reply');
      } finally {
        await api.close();
      }
    });
  }
});
