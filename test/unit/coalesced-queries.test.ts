// Calls that arrive while a statement runs go together in the next one; each gets its own answer; one call
// the statement cannot take fails alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalescedQuery } from '../../db/coalesced-queries.js';

/** A statement stand-in whose runs end when the test says so, recording what each run was given. */
function controlledStatement(refuse: (input: number) => boolean = () => false) {
  const runs: number[][] = [];
  const ends: Array<() => void> = [];
  const run = (inputs: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      runs.push(inputs);
      ends.push(() => (inputs.some(refuse) ? reject(new Error(`refused ${inputs.filter(refuse).join(', ')}`)) : resolve(inputs.map((i) => i * 10))));
    });
  return { run, runs, endNext: () => ends.shift()!() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a call made while nothing runs goes at once, alone', async () => {
  const statement = controlledStatement();
  const query = coalescedQuery(statement.run);
  const answer = query(1);
  assert.deepEqual(statement.runs, [[1]]);
  statement.endNext();
  assert.equal(await answer, 10);
});

test('calls that come while a statement runs go together in the next, each with its own answer', async () => {
  const statement = controlledStatement();
  const query = coalescedQuery(statement.run);
  const first = query(1);
  const later = [query(2), query(3), query(4)];
  assert.deepEqual(statement.runs, [[1]], 'the later calls wait for the running statement');
  statement.endNext();
  assert.equal(await first, 10);
  await settle();
  assert.deepEqual(statement.runs, [[1], [2, 3, 4]]);
  statement.endNext();
  assert.deepEqual(await Promise.all(later), [20, 30, 40]);
});

test('a call the statement cannot take fails alone; the others of its statement are answered', async () => {
  const statement = controlledStatement((input) => input === 3);
  const query = coalescedQuery(statement.run);
  const first = query(1);
  const later = [query(2), query(3), query(4)].map((p) => p.then((v) => ({ ok: v }), (e: Error) => ({ failed: e.message })));
  statement.endNext();
  await first;
  await settle();
  statement.endNext(); // [2, 3, 4] fails: each is tried alone
  await settle();
  assert.deepEqual(statement.runs.slice(2), [[2], [3], [4]]);
  statement.endNext();
  statement.endNext();
  statement.endNext();
  assert.deepEqual(await Promise.all(later), [{ ok: 20 }, { failed: 'refused 3' }, { ok: 40 }]);
});

test('after a failed statement the next calls still run', async () => {
  const statement = controlledStatement((input) => input === 1);
  const query = coalescedQuery(statement.run);
  const failed = query(1);
  statement.endNext();
  await assert.rejects(failed, /refused 1/);
  const next = query(2);
  statement.endNext();
  assert.equal(await next, 20);
});

test('a statement takes at most maxCalls calls; the rest go in the next', async () => {
  const statement = controlledStatement();
  const query = coalescedQuery(statement.run, { maxCalls: 2 });
  const first = query(1);
  const later = [query(2), query(3), query(4)];
  statement.endNext();
  await first;
  await settle();
  assert.deepEqual(statement.runs.slice(1), [[2, 3]]);
  statement.endNext();
  await settle();
  assert.deepEqual(statement.runs.slice(2), [[4]]);
  statement.endNext();
  assert.deepEqual(await Promise.all(later), [20, 30, 40]);
});
