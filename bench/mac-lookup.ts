// `npm run bench -- mac-lookup [--systems N] [--lookups M]`: the MAC lookup on the boot path with N systems
// (default 100,000) in PostgreSQL (DATABASE_URL; a dedicated database is created for the run and dropped
// after). Measured one after another, M random MACs each (default 5,000): the lookup itself
// (inventory.systems.findByMac), what the boot routes call (netboot.targetForMac: the lookup, the system
// assembled, its boot override), a webhook delivery's machine lookup by name (alerts.machineKeys), and the
// HTTP route a machine calls (GET /boot/ipxe/<mac>). Baseline in
// the same run: one `select 1` round trip to the same server. Target: lookup p99 <= 2 ms.
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { testDatabases } from '../test/support/databases.js';
import { startTestApi } from '../test/support/api.js';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`bench mac-lookup: --${name} needs a positive whole number, got "${args[at + 1]}"`);
    process.exit(2);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function macOf(index: number): string {
  const hex = index.toString(16).padStart(6, '0');
  return `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

async function measure(name: string, lookups: number, systems: number, call: (mac: string) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  // Warm-up: connections, prepared plans, the index's pages in memory.
  for (let i = 0; i < 200; i++) await call(macOf(1 + ((i * 7919) % systems)));
  const latencies: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const mac = macOf(1 + Math.floor(Math.random() * systems));
    const began = performance.now();
    await call(mac);
    latencies.push(performance.now() - began);
  }
  latencies.sort((a, b) => a - b);
  const figures = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  console.log(`  ${name.padEnd(44)} p50 ${figures.p50.toFixed(3)} ms   p99 ${figures.p99.toFixed(3)} ms   max ${latencies.at(-1)!.toFixed(3)} ms`);
  return figures;
}

export default async function benchMacLookup(args: string[]): Promise<void> {
  const count = option(args, 'systems', 100_000);
  const lookups = option(args, 'lookups', 5_000);
  const database = testDatabases().find((d) => d.label === 'postgres');
  if (database === undefined) {
    console.error('bench mac-lookup: needs PostgreSQL: set DATABASE_URL (e.g. postgresql://rescued:rescued@127.0.0.1:5432/rescued)');
    process.exit(2);
  }
  console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`);
  const api = await startTestApi(database);
  try {
    for (const [path, body] of [
      ['/api/v1/distros', { name: 'd', kernel: 'd/vmlinuz', initrd: 'd/initrd', arch: 'x86_64', breed: 'debian', osVersion: '12' }],
      ['/api/v1/profiles', { name: 'p', distro: 'd' }],
    ] as const) {
      const reply = await api.request('POST', path, { body });
      if (reply.status !== 201) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    const began = performance.now();
    await api.db.execute(sql`
      insert into systems (name, profile_id, arch, firmware, netboot_enabled)
      select 'm' || g, (select id from profiles where name = 'p'), 'x86_64', 'bios', g % 2 = 0 from generate_series(1, ${count}) g`);
    await api.db.execute(sql`
      insert into interfaces (system_id, name, mac, ip)
      select s.id, 'eth0',
        '52:54:00:' || substr(lpad(to_hex(g), 6, '0'), 1, 2) || ':' || substr(lpad(to_hex(g), 6, '0'), 3, 2) || ':' || substr(lpad(to_hex(g), 6, '0'), 5, 2),
        '127.' || (g / 65536) || '.' || ((g / 256) % 256) || '.' || (g % 256)
      from generate_series(1, ${count}) g join systems s on s.name = 'm' || g`);
    await api.db.execute(sql`analyze systems; analyze interfaces`);
    console.log(`${count} systems with one interface each inserted in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    const plan = await api.db.execute(sql.raw(`explain select s.* from interfaces i join systems s on s.id = i.system_id where i.mac = '${macOf(4242)}' limit 1`));
    const planLines = (Array.isArray(plan) ? plan : (plan as { rows: unknown[] }).rows).map((row) => Object.values(row as Record<string, string>)[0]);
    console.log(`plan of the lookup:\n${planLines.map((line) => `  ${line}`).join('\n')}`);

    const found = await api.inventory.systems.findByMac(macOf(4242));
    if (found?.name !== 'm4242') throw new Error(`the lookup found ${found?.name} for ${macOf(4242)}`);
    console.log(`${lookups} lookups each, random MACs, one at a time:`);
    await measure('baseline: select 1 (one round trip)', lookups, count, () => api.db.execute(sql`select 1`));
    await measure('the lookup query alone (interfaces.mac index)', lookups, count, (mac) => api.db.execute(sql`select s.id from interfaces i join systems s on s.id = i.system_id where i.mac = ${mac} limit 1`));
    const lookup = await measure('systems.findByMac (the lookup)', lookups, count, (mac) => api.inventory.systems.findByMac(mac));
    await measure('netboot.targetForMac (what the routes call)', lookups, count, (mac) => api.netboot.service.targetForMac(mac));
    // A webhook delivery's machine lookup (an Alertmanager `instance` label: the host, and host:port), over the
    // same fleet: each label value through its own index, planned once per connection (a generic plan).
    const keys = await api.inventory.alerts.machineKeys(['m4242', 'm4242:9100']);
    if (keys[0]?.system !== 'm4242') throw new Error(`the alert lookup found ${JSON.stringify(keys)} for m4242`);
    await measure('alerts.machineKeys (a webhook delivery)', lookups, count, (mac) => {
      const name = `m${parseInt(mac.slice(9).replaceAll(':', ''), 16)}`;
      return api.inventory.alerts.machineKeys([name, `${name}:9100`]);
    });
    await measure('GET /boot/ipxe/<mac> over HTTP', Math.min(lookups, 2000), count, async (mac) => {
      const response = await fetch(`${api.url}/boot/ipxe/${mac}`);
      await response.text();
      if (!response.ok) throw new Error(`GET /boot/ipxe/${mac}: ${response.status}`);
    });
    console.log(`target: lookup p99 <= 2 ms: ${lookup.p99 <= 2 ? 'met' : 'NOT met'} (p99 ${lookup.p99.toFixed(3)} ms, load average now ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
  } finally {
    await api.close();
  }
}
