// Interfaces' IP addresses in one spelling. The inventory stores new ones as inventory/ip.ts writes them;
// migration 0008 rewrote the rows stored before, in SQL (inventory_canonical_ip): both must write every
// spelling of an address the same way, or an alert naming it in the other would not find the machine. Checked
// on PGlite and PostgreSQL over IPv6 addresses in random spellings (leading zeros, case, where "::" falls, an
// IPv4 tail, a zone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.js';
import { canonicalIp } from '../../inventory/ip.js';
import { testDatabases } from '../support/databases.js';

/** One 16-bit group: zero most of the time (so that runs of zeros, and the choice of which to compress, are common). */
const group = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) }, { weight: 1, arbitrary: fc.constantFrom(0xffff, 1) });

/** A group written with 0 to 3 extra leading zeros, in either case. */
function spelt(value: number, padding: number, upper: boolean): string {
  const hex = value.toString(16).padStart(Math.min(4, value.toString(16).length + padding), '0');
  return upper ? hex.toUpperCase() : hex;
}

const spelling = fc
  .record({
    groups: fc.array(group, { minLength: 8, maxLength: 8 }),
    paddings: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
    upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    /** Which run of zero groups is written "::" (an index into the runs, modulo their count), or none. */
    compress: fc.option(fc.nat()),
    ipv4Tail: fc.boolean(),
    mapped: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    zone: fc.option(fc.constantFrom('%eth0', '%1', '%Eth0')),
  })
  .map(({ groups, paddings, upper, compress, ipv4Tail, mapped, zone }) => {
    const words = mapped ? [0, 0, 0, 0, 0, 0xffff, groups[6]!, groups[7]!] : groups;
    const texts = words.map((w, n) => spelt(w, paddings[n]!, upper[n]!));
    if (ipv4Tail) texts.splice(6, 2, `${words[6]! >> 8}.${words[6]! & 255}.${words[7]! >> 8}.${words[7]! & 255}`);
    const runs: Array<[number, number]> = [];
    for (let n = 0; n < texts.length; n++) {
      if (words[n] !== 0 || (ipv4Tail && n >= 6)) continue;
      const last = runs.at(-1);
      if (last && last[1] === n) last[1] = n + 1;
      else runs.push([n, n + 1]);
    }
    let text = texts.join(':');
    if (compress !== null && runs.length > 0) {
      const [from, to] = runs[compress % runs.length]!;
      text = `${texts.slice(0, from).join(':')}::${texts.slice(to).join(':')}`;
    }
    return `${text}${zone ?? ''}`;
  })
  .filter((text) => isIP(text) === 6);

for (const database of testDatabases()) {
  describe(`IP addresses in one spelling (${database.label})`, { timeout: 120_000 }, () => {
    let handle: Awaited<ReturnType<typeof database.open>>;
    before(async () => {
      handle = await database.open();
    });
    after(async () => {
      await handle?.drop();
    });

    const inSql = async (values: string[]): Promise<Array<string | null>> =>
      rowsOf<{ ip: string | null }>(await handle.db.execute(sql`select inventory_canonical_ip(v) as ip from unnest(${sql.param(values)}::text[]) with ordinality as t(v, n) order by n`)).map((r) => r.ip);

    test("the migration's SQL writes every spelling of an address as the inventory does", async () => {
      const values = fc.sample(spelling, { numRuns: 2_000, seed: 20261203 });
      const sqlForms = await inSql(values);
      const differing = values.map((value, n) => ({ value, ts: canonicalIp(value), sql: sqlForms[n] })).filter((r) => r.ts !== r.sql);
      assert.deepEqual(differing.slice(0, 10), [], `${differing.length} of ${values.length} spellings differ`);
      const distinct = new Set(values.map((v) => canonicalIp(v)));
      assert.ok(distinct.size > 500 && values.some((v) => v.includes('.')) && values.some((v) => v.includes('%')), 'the sample covers tails, zones and many addresses');
    });

    test('the usual spellings, and what is not an IPv6 address, stay as the inventory writes them', async () => {
      const cases: Array<[string | null, string | null]> = [
        ['2001:0DB8:0000:0000:0000:0000:0000:0010', '2001:db8::10'],
        ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
        ['::FFFF:127.0.0.2', '127.0.0.2'],
        ['::ffff:7f00:2', '127.0.0.2'],
        ['::1.2.3.4', '::102:304'],
        ['FE80::1%eth0', 'fe80::1%eth0'],
        ['::', '::'],
        ['127.0.0.2', '127.0.0.2'],
        ['not an address', 'not an address'],
        [null, null],
      ];
      assert.deepEqual(await inSql(cases.map(([value]) => value as string)), cases.map(([, form]) => form));
      for (const [value, form] of cases.slice(0, 8)) assert.equal(canonicalIp(value!), form, value!);
    });
  });
}
