// The facts the guard decides from, as the database counts them (db/repositories/guard.ts admissionFacts): a
// machine in flight through an operator's run, a slot of the guard's, or both is counted once; a machine
// reported broken several times in the window is counted once, and only intake requests that were not joins
// count, nor one amended into a join; the groups of a broken machine are those of its latest request (the
// database keeps each machine's latest, db/migrations/0005); machines in flight are listed with
// their labels only when a group label is configured; the fleet's size is the inventory's, however it is
// written (db/migrations/0006 keeps it in shards); the power cycles of the last hour are those automatic
// rescues made, plus one for each admitted that has not cycled yet (0009); the open slots, the last hour's
// power cycles and reservations and the machines broken within the window, which 0006 and 0009 keep counted in
// 10-second buckets, equal a count of the rows for any time (at bucket boundaries, a millisecond either side,
// anywhere), through inserts, releases, drops, first cycles, moved admission times and amendments into joins.
// On PGlite and on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GUARD_SETTINGS } from '../../triggers/guard-settings.js';
import { systemCreate } from '../../inventory/schemas.js';
import { testDatabases } from '../support/databases.js';
import { withInventory } from '../support/inventory-database.js';
import { rowsOf } from '../../db/client.js';
import { sql } from 'drizzle-orm';

for (const database of testDatabases()) {
  test(`${database.label}: in-flight and recently broken machines are counted once each`, async () => {
    await withInventory(database, async ({ inventory, guard, actor }) => {
      const labels: Record<string, Record<string, string>> = { slotted: { rack: 'r3' }, grouped: { rack: 'r1' } };
      for (const [index, name] of ['operator', 'both', 'slotted', 'repeated', 'grouped', 'regrouped', 'joiner', 'queued', 'idle'].entries()) {
        const interfaces = [{ mac: `52:54:00:00:00:${index.toString(16).padStart(2, '0')}` }];
        await inventory.systems.create(systemCreate.parse({ name, profile: 'p', labels: labels[name] ?? {}, interfaces }), actor);
      }
      // In flight: an operator's rescue (a run, no slot), an automatic one (a slot and its run), and one
      // admitted whose run is not open yet (a slot).
      await inventory.rescues.open({ workflowId: 'rescue-operator', runId: 'r1', system: 'operator', reason: 'by hand', requestedBy: 'alice' });
      await inventory.rescues.open({ workflowId: 'rescue-both', runId: 'r2', system: 'both', reason: 'alert', requestedBy: 'automation:alertmanager' });
      await guard.locked(async (tx) => {
        await guard.takeSlot(tx, { system: 'both', workflowId: 'rescue-both', source: 'alertmanager', groups: {} });
        await guard.takeSlot(tx, { system: 'slotted', workflowId: 'rescue-slotted', source: 'alertmanager', groups: { rack: 'r3' } });
        const request = (system: string, groups: Record<string, string>, decision: 'started' | 'joined' | 'deferred', phase: 'intake' | 'queue' = 'intake') =>
          guard.logDecision(tx, { system, source: 'alertmanager', phase, alertId: null, groups, decision, reason: 'test', workflowId: null });
        await request('repeated', {}, 'deferred');
        await request('repeated', {}, 'deferred');
        await request('grouped', { rack: 'r1' }, 'deferred');
        // Grouped once, then not: its latest request says which groups it is in now.
        await request('regrouped', { rack: 'r2' }, 'deferred');
        await request('regrouped', {}, 'deferred');
        await request('joiner', {}, 'joined');
        await request('queued', {}, 'started', 'queue');
      });

      const facts = await guard.locked((tx) => guard.admissionFacts(tx, ['operator', 'repeated', 'idle'], new Date()));
      assert.equal(facts.fleet.fleetSize, 9);
      assert.equal(facts.fleet.inFlight.count, 3, 'operator, both (slot and run) and slotted');
      assert.deepEqual(facts.fleet.inFlight.grouped, [{ system: 'slotted', labels: { rack: 'r3' } }], 'the default settings group by rack');
      assert.equal(facts.fleet.recentlyBroken.count, 3, 'repeated, grouped, regrouped: not the join, not the queue decision');
      assert.deepEqual(facts.fleet.recentlyBroken.grouped, [{ system: 'grouped', groups: { rack: 'r1' } }]);
      assert.equal(facts.machines.get('operator')!.inFlightWorkflowId, 'rescue-operator');
      assert.equal(facts.machines.get('repeated')!.recentlyBroken, true);
      assert.equal(facts.machines.get('idle')!.recentlyBroken, false);

      // An intake request amended into a join (it met a rescue already running) no longer counts: a machine with
      // no other request is not broken; one with an earlier request is, with that request's groups.
      const [idleRequest, groupedRequest] = await guard.locked(async (tx) => [
        await guard.logDecision(tx, { system: 'idle', source: 'alertmanager', phase: 'intake', alertId: null, groups: {}, decision: 'started', reason: 'test', workflowId: 'rescue-idle' }),
        await guard.logDecision(tx, { system: 'grouped', source: 'alertmanager', phase: 'intake', alertId: null, groups: { rack: 'r9' }, decision: 'started', reason: 'test', workflowId: 'rescue-grouped' }),
      ]);
      const before = await guard.locked((tx) => guard.admissionFacts(tx, ['idle'], new Date()));
      assert.equal(before.fleet.recentlyBroken.count, 4, 'idle is broken now');
      assert.deepEqual(before.fleet.recentlyBroken.grouped, [{ system: 'grouped', groups: { rack: 'r9' } }], 'its latest request says which groups it is in');
      assert.equal(before.machines.get('idle')!.recentlyBroken, true);
      for (const id of [idleRequest, groupedRequest]) await guard.amendDecision(id, { decision: 'joined', reason: 'a rescue was already running', workflowId: 'rescue-x' });
      const amended = await guard.locked((tx) => guard.admissionFacts(tx, ['idle'], new Date()));
      assert.equal(amended.fleet.recentlyBroken.count, 3);
      assert.deepEqual(amended.fleet.recentlyBroken.grouped, [{ system: 'grouped', groups: { rack: 'r1' } }]);
      assert.equal(amended.machines.get('idle')!.recentlyBroken, false);

      // With no group label configured, nothing in flight is listed, and the counts stay.
      await guard.changeSettings(() => ({ ...DEFAULT_GUARD_SETTINGS, maxPerGroup: {} }), 'test');
      const ungrouped = await guard.locked((tx) => guard.admissionFacts(tx, [], new Date()));
      assert.equal(ungrouped.fleet.inFlight.count, 3);
      assert.deepEqual(ungrouped.fleet.inFlight.grouped, []);
      assert.equal(ungrouped.fleet.recentlyBroken.count, 3);
      assert.deepEqual(ungrouped.fleet.recentlyBroken.grouped, [{ system: 'grouped', groups: { rack: 'r1' } }]);
    });
  });

  test(`${database.label}: the fleet's size follows the inventory, however its systems are written`, async () => {
    await withInventory(database, async ({ handle, inventory, guard, actor }) => {
      const counted = async () => rowsOf<{ n: number }>(await handle.db.execute(sql`select count(*)::int as n from systems`))[0]!.n;
      const fleetSize = async () => (await guard.locked((tx) => guard.admissionFacts(tx, [], new Date()))).fleet.fleetSize;
      const expectSize = async (expected: number, what: string) => {
        assert.equal(await counted(), expected, `${what}: the systems table`);
        assert.equal(await fleetSize(), expected, `${what}: the guard's fleet size`);
      };
      await expectSize(0, 'an empty inventory');
      // Created through the inventory, twenty at once (on PostgreSQL, over several connections and so shards).
      await Promise.all(Array.from({ length: 20 }, (_, n) => inventory.systems.create(systemCreate.parse({ name: `s${n}`, profile: 'p', interfaces: [{ mac: `52:54:00:00:01:${n.toString(16).padStart(2, '0')}` }] }), actor)));
      await expectSize(20, 'twenty created at once');
      // An import: many rows in one statement.
      await handle.db.execute(sql`insert into systems (name, profile_id, arch, firmware) select 'imported' || n, (select id from profiles where name = 'p'), 'x86_64', 'bios' from generate_series(1, 500) n`);
      await expectSize(520, 'five hundred imported in one statement');
      // A transaction that rolls back leaves no trace in the size either.
      await assert.rejects(
        handle.db.transaction(async (tx) => {
          await tx.execute(sql`insert into systems (name, profile_id, arch, firmware) select 'rolled' || n, (select id from profiles where name = 'p'), 'x86_64', 'bios' from generate_series(1, 7) n`);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      await expectSize(520, 'after a rolled-back import');
      // Removed one by one through the inventory, and many in one statement.
      for (const n of [0, 1, 2]) await inventory.systems.remove(`s${n}`, actor);
      await handle.db.execute(sql`delete from systems where name like 'imported%' and substr(name, 9)::int <= 100`);
      await expectSize(417, 'three removed, then a hundred in one statement');
      // Emptied at once, then filled again.
      await handle.db.execute(sql`truncate systems cascade`);
      await expectSize(0, 'truncated');
      await inventory.systems.create(systemCreate.parse({ name: 'again', profile: 'p', interfaces: [{ mac: '52:54:00:00:02:01' }] }), actor);
      await expectSize(1, 'one created after the truncation');
    });
  });

  test(`${database.label}: the power cycles of the last hour: automatic rescues' cycles, and one reserved for each that has not cycled yet`, async () => {
    await withInventory(database, async ({ handle, inventory, guard, actor }) => {
      for (const [index, name] of ['cycled', 'waiting', 'manual', 'dropped', 'ended'].entries()) {
        await inventory.systems.create(systemCreate.parse({ name, profile: 'p', interfaces: [{ mac: `52:54:00:00:03:${index.toString(16).padStart(2, '0')}` }] }), actor);
      }
      const slotIds = await guard.locked(async (tx) => {
        const ids: number[] = [];
        for (const system of ['cycled', 'waiting', 'dropped', 'ended']) ids.push(await guard.takeSlot(tx, { system, workflowId: `rescue-${system}`, source: 'alertmanager', groups: {} }));
        return ids;
      });
      await inventory.rescues.open({ workflowId: 'rescue-manual', runId: 'r1', system: 'manual', reason: 'by hand', requestedBy: 'alice' });
      const cycle = (system: string, action = 'on', workflowId = `rescue-${system}`) => guard.countPowerCycle({ systemName: system, rescueWorkflowId: workflowId, action });
      const cyclesAt = async (at: Date) => (await guard.locked((tx) => guard.admissionFacts(tx, [], at))).fleet.powerCyclesLastHour;

      assert.deepEqual(await cyclesAt(new Date()), { made: 0, reserved: 4 }, 'four rescues admitted, none has cycled');
      // An automatic rescue's cycles count, each; its first ends its reservation.
      assert.equal(await cycle('cycled', 'on'), true);
      assert.equal(await cycle('cycled', 'cycle'), true);
      assert.equal(await cycle('cycled', 'reset'), true);
      // An operator's rescue holds no slot: its cycles are not automation's. Nor is a cycle under another workflow.
      assert.equal(await cycle('manual'), false);
      assert.equal(await cycle('waiting', 'on', 'rescue-cycled'), false);
      // A dropped slot (its start never went through) reserves nothing any more.
      await guard.dropSlot(slotIds[2]!);
      // A rescue that ended without cycling keeps its reservation for its hour; one that ended cycles no more.
      await guard.releaseSlots('rescue-ended');
      assert.equal(await cycle('ended'), false);
      assert.deepEqual(await cyclesAt(new Date()), { made: 3, reserved: 2 }, "cycled's three; waiting's and ended's reserved");
      assert.deepEqual(await guard.counts().then((c) => c.powerCyclesLastHour), { made: 3, reserved: 2 }, 'the status says the same');

      assert.equal(await cycle('waiting'), true);
      assert.deepEqual(await cyclesAt(new Date()), { made: 4, reserved: 1 });
      // An hour later, none of them counts any more.
      assert.deepEqual(await cyclesAt(new Date(Date.now() + 30 * 60_000)), { made: 4, reserved: 1 });
      assert.deepEqual(await cyclesAt(new Date(Date.now() + 61 * 60_000)), { made: 0, reserved: 0 });

      // Only the last hour is ever read: rows and buckets older than two hours go as a new bucket comes.
      await guard.locked((tx) => tx.execute(sql`insert into guard_power_cycles (system_name, workflow_id, action, at) values ('cycled', 'rescue-cycled', 'on', now() - interval '3 hours')`));
      const [old] = rowsOf<{ rows: number; buckets: number }>(await handle.db.execute(sql`select
        (select count(*)::int from guard_power_cycles where at < now() - interval '2 hours') as rows,
        (select count(*)::int from guard_count_buckets where kind in ('power_cycles', 'reserved_cycles') and bucket < now() - interval '2 hours') as buckets`));
      assert.deepEqual({ ...old }, { rows: 0, buckets: 0 });
      assert.deepEqual(await cyclesAt(new Date()), { made: 4, reserved: 1 });
    });
  });

  test(`${database.label}: the counts kept in buckets equal a count of the rows, at any time`, async () => {
    await withInventory(database, async ({ handle, guard }) => {
      // A seeded generator, so that a failure can be replayed: the seed is in the message.
      const seed = Number(process.env.GUARD_COUNTS_SEED ?? Date.now() % 1_000_000);
      let state = seed;
      const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
      const BUCKET_MS = 10_000;
      const base = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
      // Times within the two hours the starts' buckets are kept: some on a bucket's boundary, some a millisecond
      // either side of one, the rest anywhere.
      const timeNear = (from: number, to: number) => {
        const at = from + Math.floor(random() * (to - from));
        const kind = random();
        if (kind < 0.25) return Math.floor(at / BUCKET_MS) * BUCKET_MS;
        if (kind < 0.5) return Math.floor(at / BUCKET_MS) * BUCKET_MS + (random() < 0.5 ? -1 : 1);
        return at;
      };
      const iso = (ms: number) => new Date(ms).toISOString();
      const one = async <Row,>(query: ReturnType<typeof sql>) => rowsOf<Row>(await handle.db.execute(query))[0]!;

      // Slots admitted at chosen times (the guard writes them under its lock), some released, some dropped,
      // some moved to another admission time.
      const slots = 60;
      await guard.locked(async (tx) => {
        for (let n = 0; n < slots; n++) {
          await tx.execute(sql`insert into rescue_slots (system_name, workflow_id, source, groups, admitted_at) values (${`m${n}`}, ${`rescue-m${n}`}, 'alertmanager', '{}'::jsonb, ${iso(timeNear(base - 110 * 60_000, base + 5 * 60_000))}::timestamptz)`);
        }
      });
      for (let n = 0; n < slots; n += 5) await guard.releaseSlots(`rescue-m${n}`);
      const ids = rowsOf<{ id: number }>(await handle.db.execute(sql`select id from rescue_slots where system_name in ('m1', 'm2', 'm3') order by id`)).map((r) => Number(r.id));
      for (const id of ids) await guard.dropSlot(id);
      await guard.locked((tx) => tx.execute(sql`update rescue_slots set admitted_at = admitted_at - interval '25 minutes' where system_name in ('m6', 'm7', 'm8', 'm9')`));

      // Power cycles of those rescues at chosen times (the guard writes them under its lock), each slot's first
      // one ending its reservation, some of them in one statement.
      await guard.locked(async (tx) => {
        for (let n = 0; n < 40; n++) {
          const system = `m${(n * 7) % slots}`;
          await tx.execute(sql`insert into guard_power_cycles (system_name, workflow_id, action, at) values (${system}, ${`rescue-${system}`}, 'on', ${iso(timeNear(base - 110 * 60_000, base + 5 * 60_000))}::timestamptz)`);
        }
        await tx.execute(sql`update rescue_slots k set first_power_cycle_at = c.at from (select system_name, min(at) as at from guard_power_cycles group by 1) c where k.system_name = c.system_name`);
      });
      await guard.locked((tx) => tx.execute(sql`delete from guard_power_cycles where id in (select id from guard_power_cycles order by id limit 3)`));

      // Machines reported broken at chosen times (the decisions, as the guard writes them, keep
      // guard_broken_machines), a machine reported twice, and requests amended into joins.
      const decisions: number[] = [];
      await guard.locked(async (tx) => {
        for (let n = 0; n < 50; n++) {
          const system = `b${n % 40}`;
          const [row] = rowsOf<{ id: number }>(await tx.execute(sql`insert into guard_decisions (at, system_name, source, phase, alert_id, groups, decision, reason, workflow_id) values (${iso(timeNear(base - 40 * 60_000, base + 5 * 60_000))}::timestamptz, ${system}, 'alertmanager', 'intake', null, '{}'::jsonb, 'deferred', 'test', null) returning id`));
          decisions.push(Number(row!.id));
        }
      });
      for (const id of decisions.filter((_, index) => index % 7 === 3)) await guard.amendDecision(id, { decision: 'joined', reason: 'a rescue was already running', workflowId: 'rescue-x' });

      const windowMs = 10 * 60_000;
      const checkAt = async (now: number) => {
        const facts = await guard.locked((tx) => guard.admissionFacts(tx, [], new Date(now)));
        const counted = await one<{ open: number; made: number; reserved: number; broken: number }>(sql`select
          (select count(*)::int from rescue_slots where released_at is null) as open,
          (select count(*)::int from guard_power_cycles where at > ${iso(now - 3_600_000)}::timestamptz) as made,
          (select count(*)::int from rescue_slots where admitted_at > ${iso(now - 3_600_000)}::timestamptz and first_power_cycle_at is null) as reserved,
          (select count(*)::int from guard_broken_machines where at > ${iso(now - windowMs)}::timestamptz) as broken`);
        const at = `at ${iso(now)} (seed ${seed})`;
        assert.equal(facts.fleet.inFlight.count, counted.open, `open slots ${at}`);
        assert.deepEqual(facts.fleet.powerCyclesLastHour, { made: counted.made, reserved: counted.reserved }, `power cycles of the last hour ${at}`);
        assert.equal(facts.fleet.recentlyBroken.count, counted.broken, `machines broken within the window ${at}`);
      };
      // Times whose window starts on a bucket's boundary, a millisecond either side of one, and anywhere.
      const nows = [base, base + 1, base - 1, base + BUCKET_MS / 2, base + 3 * 60_000];
      for (let n = 0; n < 25; n++) nows.push(timeNear(base - 30 * 60_000, base + 6 * 60_000));
      for (const now of nows) await checkAt(now);

      // The buckets stay as small as the windows: none of the broken machines' is empty or below zero.
      const buckets = await one<{ empty: number; negative: number }>(sql`select count(*) filter (where n = 0)::int as empty, count(*) filter (where n < 0)::int as negative from guard_count_buckets where kind = 'broken'`);
      assert.deepEqual({ ...buckets }, { empty: 0, negative: 0 }, `broken buckets (seed ${seed})`);

      // Emptied at once: nothing counted.
      await handle.db.execute(sql`truncate rescue_slots, guard_broken_machines, guard_power_cycles`);
      await checkAt(base);
    });
  });
}
