// The audit records (db/repositories/audits.ts) on PGlite and, with DATABASE_URL, on PostgreSQL: the
// one-open-run lock and its lease, the lease's fence (a run superseded by another records nothing more, and
// is never closed as finished), verdicts stored idempotently with their counts, the admission bookkeeping,
// what a batch of probes is given from the inventory (every BMC of the chain under the power layer's key),
// and retention.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testDatabases } from '../support/databases.js';
import { createInventory, type Inventory } from '../../db/inventory.js';
import { AuditLeaseLostError } from '../../db/repositories/audits.js';
import { bmcKey } from '../../power/chain.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { distroCreate, profileCreate, systemCreate } from '../../inventory/schemas.js';


for (const database of testDatabases()) {
  describe(`audit records on ${database.label}`, () => {
    let handle: Awaited<ReturnType<typeof database.open>>;
    let inventory: Inventory;
    const actor = { name: 'test' };

    before(async () => {
      handle = await database.open();
      inventory = createInventory(handle.db, createSecretCipher(randomBytes(32)));
      await inventory.distros.create(distroCreate.parse({ name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }), actor);
      await inventory.profiles.create(profileCreate.parse({ name: 'web', distro: 'deb12' }), actor);
      for (const [index, name] of ['a1', 'a2', 'a3'].entries()) {
        await inventory.systems.create(
          systemCreate.parse({
            name,
            profile: 'web',
            arch: 'x86_64',
            firmware: 'uefi',
            interfaces: [{ name: 'eth0', mac: `52:54:00:00:00:0${index}`, ip: `127.0.0.${index + 2}` }],
            labels: { rack: 'r1' },
            power: index === 2 ? [] : [{ type: 'ipmi', address: '127.0.0.1', port: 6230 + index, user: 'admin', password: `pw-${name}`, options: {} }],
          }),
          actor,
        );
      }
    });
    after(async () => {
      await handle?.drop();
    });

    test('one open run; a second open sees it; a stale one is abandoned; a skipped run is recorded closed', async () => {
      const first = await inventory.audits.open({ workflowId: 'wf-1', trigger: 'schedule', requestedBy: 'schedule', leaseMs: 60_000 });
      assert.ok('opened' in first);
      const again = await inventory.audits.open({ workflowId: 'wf-1', trigger: 'schedule', requestedBy: 'schedule', leaseMs: 60_000 });
      assert.ok('opened' in again && again.opened.id === first.opened.id, 'the same workflow asking again (a retry) gets its own run');
      const second = await inventory.audits.open({ workflowId: 'wf-2', trigger: 'manual', requestedBy: 'alice', leaseMs: 60_000 });
      assert.ok('running' in second && second.running.id === first.opened.id);
      const skipped = await inventory.audits.recordSkipped({ workflowId: 'wf-3', trigger: 'schedule', requestedBy: 'schedule', note: 'wf-1 was running' });
      assert.equal(skipped.state, 'skipped');
      assert.notEqual(skipped.finishedAt, null);
      // Concurrent opens: exactly one wins.
      await inventory.audits.close(first.opened.id, 'finished', null);
      const racers = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((workflowId) => inventory.audits.open({ workflowId, trigger: 'manual', requestedBy: 'x', leaseMs: 60_000 })));
      assert.equal(racers.filter((r) => 'opened' in r).length, 1);
      const winner = racers.find((r) => 'opened' in r)!;
      await new Promise((resolve) => setTimeout(resolve, 30));
      const taker = await inventory.audits.open({ workflowId: 'wf-late', trigger: 'manual', requestedBy: 'x', leaseMs: 5 });
      assert.ok('opened' in taker);
      assert.equal((await inventory.audits.get('opened' in winner ? winner.opened.id : 0)).state, 'abandoned');
      await inventory.audits.close(taker.opened.id, 'finished', null);
    });

    test('a run whose lease was taken over is fenced: heartbeat and record fail, it stays abandoned, the new run is untouched', async () => {
      const stale = await inventory.audits.open({ workflowId: 'fleet-audit-scheduled-1', trigger: 'schedule', requestedBy: 'schedule', leaseMs: 60_000 });
      assert.ok('opened' in stale);
      const id = stale.opened.id;
      await inventory.audits.recordResults(id, [{ system: 'a2', classification: 'healthy', reason: 'fine', observation: {} }]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      // Its worker was away longer than the lease; an operator's manual run takes over.
      const manual = await inventory.audits.open({ workflowId: 'fleet-audit-manual-x', trigger: 'manual', requestedBy: 'alice', leaseMs: 10 });
      assert.ok('opened' in manual);
      const lost = (error: unknown) => error instanceof AuditLeaseLostError && error.auditId === id && error.state === 'abandoned' && new RegExp(`^audit ${id} no longer holds the audit lease: it was closed as abandoned \\(no progress since .*superseded by fleet-audit-manual-x\\)`).test(error.message);
      // The old run's worker comes back: every write of its own is refused, nothing is stored.
      await assert.rejects(inventory.audits.heartbeat(id), lost);
      await assert.rejects(inventory.audits.setSystemsTotal(id, 3), lost);
      await assert.rejects(inventory.audits.recordResults(id, [{ system: 'a1', classification: 'broken', reason: 'off', observation: {} }]), lost);
      assert.deepEqual((await inventory.audits.results(id)).map((r) => r.system), ['a2']);
      assert.deepEqual(await inventory.audits.awaitingAdmission(id, ['a1']), []);
      // Closing it, as its workflow would, never makes it finished (nor failed): it stays abandoned with its note.
      const closed = await inventory.audits.close(id, 'finished', null);
      assert.equal(closed.state, 'abandoned');
      assert.match(closed.note ?? '', /superseded by fleet-audit-manual-x/);
      assert.equal((await inventory.audits.close(id, 'failed', 'x')).state, 'abandoned');
      // The new run holds the lease and works.
      assert.equal((await inventory.audits.running())?.workflowId, 'fleet-audit-manual-x');
      await inventory.audits.heartbeat(manual.opened.id);
      assert.equal((await inventory.audits.recordResults(manual.opened.id, [{ system: 'a1', classification: 'broken', reason: 'off', observation: {} }])).broken, 1);
      const finished = await inventory.audits.close(manual.opened.id, 'finished', null);
      assert.equal(finished.state, 'finished');
      // A retried close changes nothing.
      assert.deepEqual(await inventory.audits.close(manual.opened.id, 'failed', 'retry'), finished);
      await assert.rejects(inventory.audits.heartbeat(manual.opened.id), /closed as finished/);
      await assert.rejects(inventory.audits.heartbeat(999_999), /audit 999999 does not exist/);
    });

    test('verdicts: stored, overwritten by a retried batch, counted; broken ones wait for admission once', async () => {
      const opened = await inventory.audits.open({ workflowId: 'wf-v', trigger: 'manual', requestedBy: 'x', leaseMs: 60_000 });
      assert.ok('opened' in opened);
      const id = opened.opened.id;
      await inventory.audits.recordResults(id, [
        { system: 'a1', classification: 'broken', reason: 'off', observation: {} },
        { system: 'a2', classification: 'healthy', reason: 'fine', observation: {} },
      ]);
      const run = await inventory.audits.recordResults(id, [
        { system: 'a1', classification: 'broken', reason: 'off again', observation: { retried: true } },
        { system: 'a3', classification: 'suspect', reason: 'no BMC', observation: {} },
      ]);
      assert.deepEqual([run.probed, run.healthy, run.suspect, run.broken], [3, 1, 1, 1]);
      assert.deepEqual(await inventory.audits.awaitingAdmission(id, ['a1', 'a2', 'a3']), [{ system: 'a1', reason: 'off again' }]);
      await inventory.audits.recordAdmission(id, 'a1', { decision: 'deferred', reason: 'cap reached', workflowId: null });
      assert.deepEqual(await inventory.audits.awaitingAdmission(id, ['a1']), []);
      const [a1] = await inventory.audits.results(id, { classifications: ['broken'] });
      assert.equal(a1?.admission, 'deferred');
      assert.equal(a1?.admissionReason, 'cap reached');
      assert.deepEqual(a1?.observation, { retried: true });
      await inventory.audits.close(id, 'finished', null);
      assert.equal((await inventory.audits.latest())?.id, id);
    });

    test('targetsAfter: a page of systems by name with IPs, first BMC, last install, open rescue, last phone-home; no secrets', async () => {
      await inventory.installHistory.start('a1', 'web', 'deb12');
      await inventory.installHistory.finish('a1', 'success');
      await inventory.installHistory.start('a1', 'web', 'deb12');
      await inventory.rescues.open({ workflowId: 'rescue-a2', runId: 'run-1', system: 'a2', reason: 'test', requestedBy: 'test' });
      const page = await inventory.audits.targetsAfter(null, 2);
      assert.deepEqual(page.map((t) => t.system), ['a1', 'a2']);
      assert.equal(page[0]?.lastInstall?.outcome, 'in-progress');
      assert.deepEqual(page[0]?.interfaces, [{ ip: '127.0.0.2', mac: '52:54:00:00:00:00' }]);
      assert.deepEqual(page[0]?.bmcKeys, [bmcKey({ systemName: 'a1', type: 'ipmi', address: '127.0.0.1', port: 6230, options: {} })]);
      assert.equal(page[1]?.openRescue?.workflowId, 'rescue-a2');
      assert.equal(JSON.stringify(page).includes('pw-'), false);
      const rest = await inventory.audits.targetsAfter('a2', 2);
      assert.deepEqual(rest.map((t) => [t.system, t.bmcKeys]), [['a3', []]]);
      const chains = await inventory.systems.powerTargetsOf(['a1', 'a3', 'nope']);
      assert.equal(chains.get('a1')?.[0]?.password, 'pw-a1');
      assert.equal(chains.has('a3'), false);
      assert.equal(await inventory.audits.countSystems(), 3);
    });

    test('targetsAfter: the per-BMC key of every BMC of a chain, the power layer\'s own: one BMC however it is spelled', async () => {
      const chassis = (address: string) => ({ type: 'redfish', address, user: 'admin', password: 'pw-chassis', options: {} });
      const spellings = ['https://127.0.0.9', '127.0.0.9', 'HTTPS://127.0.0.9/'];
      for (const [index, address] of spellings.entries()) {
        await inventory.systems.create(
          systemCreate.parse({
            name: `zblade${index}`,
            profile: 'web',
            arch: 'x86_64',
            firmware: 'uefi',
            interfaces: [{ name: 'eth0', mac: `52:54:00:10:00:0${index}` }],
            // The last one's own BMC comes first; the chassis manager is its fallback.
            power: index === 2 ? [{ type: 'ipmi', address: '127.0.0.10', port: 623, user: 'admin', password: 'pw-own', options: {} }, chassis(address)] : [chassis(address)],
          }),
          actor,
        );
      }
      const page = await inventory.audits.targetsAfter('z', 10);
      const chassisKey = bmcKey({ systemName: 'x', type: 'redfish', address: '127.0.0.9', options: {} });
      assert.deepEqual(
        page.map((t) => [t.system, t.bmcKeys, t.interfaces.map((nic) => nic.mac)]),
        [
          ['zblade0', [chassisKey], ['52:54:00:10:00:00']],
          ['zblade1', [chassisKey], ['52:54:00:10:00:01']],
          ['zblade2', [bmcKey({ systemName: 'x', type: 'ipmi', address: '127.0.0.10', port: 623, options: {} }), chassisKey], ['52:54:00:10:00:02']],
        ],
      );
      assert.equal(JSON.stringify(page).includes('pw-'), false);
    });

    test('retention: verdicts of the newest runs only; old finished runs go', async () => {
      const ids = (await inventory.audits.list(100)).map((r) => r.id);
      await inventory.audits.prune({ keepResultsOfRuns: 1, keepRunsDays: 90 });
      assert.equal((await inventory.audits.list(100)).length, ids.length);
      await inventory.audits.prune({ keepResultsOfRuns: 1, keepRunsDays: 0 });
      assert.deepEqual((await inventory.audits.list(100)).map((r) => r.state), []);
    });
  });
}
