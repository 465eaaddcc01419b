// Fleet audit throughput: fleetAuditWorkflow on the real Temporal dev server (the official CLI) with the real
// activities over a real database, auditing N systems (10,000 by default) whose BMCs are SIMULATED: a
// lightweight in-process driver registered in the power registry under the type "bench-sim", which answers
// the power state and an empty event log after a random 1-4 ms, so that the figures measure the audit (batching,
// limits, the database, Temporal), not ipmitool. The OS check is real: TCP connections to listeners on
// 127.0.0.2-5 (and, for 1% of the fleet, to a closed port: those machines are "broken"); 1% are powered off.
//
//   npm run bench -- audit [--systems 10000] [--postgres]
//
// Baseline, in the same run: the same probes (loading each batch from the database, probing it under the
// same limits, classifying) called directly in a loop, without Temporal and without storing the verdicts.
// Target: the audit of 10,000 systems in under 60 s on a 2-core machine.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from '@temporalio/worker';
import type { DatabaseHandle } from '../db/client.js';
import { testDatabases } from '../test/support/databases.js';
import { startTestTemporal } from '../test/support/temporal.js';
import { createInventory, type Inventory } from '../db/inventory.js';
import { interfaces, powerSettings, profiles, distros, systems } from '../db/schema.js';
import { createSecretCipher } from '../secrets/cipher.js';
import { locateOrBuildTemporalCli } from '../temporal/cli-binary.js';
import { createActivities } from '../activities/index.js';
import { bmcTargetOf, createInventorySystemPower } from '../workers/system-power.js';
import { createSshRescueShell } from '../workers/rescue-shell.js';
import { installTemporalRuntime } from '../workers/temporal-worker.js';
import { createNetbootService } from '../boot/netboot.js';
import { createDefaultRegistry } from '../power/registry.js';
import type { BmcDriver, BmcTarget, PowerState } from '../power/types.js';
import { createAuditClient } from '../triggers/audit-client.js';
import { classifyAudit } from '../triggers/audit-classify.js';
import { probeBatch } from '../triggers/audit-probe.js';
import { osAnswers } from '../rescue/os-check.js';
import type { AdmissionRequest, RescueAdmission } from '../triggers/admission.js';
import { DEFAULT_FLEET_AUDIT_SETTINGS, type FleetAuditResult } from '../workflows/audit-types.js';

const require = createRequire(import.meta.url);
const OS_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** A simulated BMC: power state from the system's name, an empty event log, 1-4 ms per answer. */
function simulatedBmc(target: BmcTarget): BmcDriver {
  const answer = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 1 + Math.floor(Math.random() * 4)));
  return {
    name: 'bench-sim',
    getPowerState: () => answer<PowerState>(target.options.power === 'off' ? 'off' : 'on'),
    readSystemEventLog: () => answer([]),
  };
}

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

async function listenOn(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end();
  });
  server.maxConnections = 10_000;
  await new Promise<void>((resolve) => server.listen({ host, port: 0, backlog: 1024 }, resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function openBenchDatabase(usePostgres: boolean): Promise<DatabaseHandle & { drop(): Promise<void> }> {
  // The test suite's databases: in-memory PGlite, or a scratch database on DATABASE_URL's PostgreSQL.
  const databases = testDatabases();
  const database = usePostgres ? databases.find((candidate) => candidate.label === 'postgres') : databases[0];
  if (database === undefined) throw new Error('--postgres needs DATABASE_URL');
  return database.open();
}

/** N systems straight into the tables (the API would take minutes for 10,000): 1% off, 1% with the OS down. */
async function seedFleet(handle: DatabaseHandle, inventory: Inventory, count: number, listeners: Array<{ host: string; port: number }>, closedPort: number, passwordCiphertext: string): Promise<void> {
  void inventory;
  const [distro] = await handle.db.insert(distros).values({ name: 'deb12', kernel: 'k', initrd: 'i', arch: 'x86_64', breed: 'debian', osVersion: '12' }).returning();
  const [profile] = await handle.db.insert(profiles).values({ name: 'web', distroId: distro!.id }).returning();
  for (let start = 0; start < count; start += 1000) {
    const chunk = Array.from({ length: Math.min(1000, count - start) }, (_, k) => start + k);
    const rows = await handle.db
      .insert(systems)
      .values(chunk.map((i) => {
        const listener = listeners[i % listeners.length]!;
        const osDown = i % 100 === 7;
        return { name: `node${String(i).padStart(5, '0')}`, profileId: profile!.id, arch: 'x86_64', firmware: 'uefi', labels: { 'rescued.verify': `tcp:${listener.host}:${osDown ? closedPort : listener.port}` } };
      }))
      .returning({ id: systems.id, name: systems.name });
    await handle.db.insert(interfaces).values(rows.map((row, k) => ({ systemId: row.id, name: 'eth0', mac: `52:54:01:${[(start + k) >> 16, ((start + k) >> 8) & 0xff, (start + k) & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`, ip: listeners[(start + k) % listeners.length]!.host })));
    await handle.db.insert(powerSettings).values(
      rows.map((row, k) => {
        const i = start + k;
        // Each machine its own (simulated) BMC address; 127.1.x.y is never contacted: the driver is in-process.
        return { systemId: row.id, position: 0, type: 'bench-sim', address: `127.1.${(i >> 8) & 0xff}.${i & 0xff}`, port: 623, username: 'admin', passwordEncrypted: passwordCiphertext, options: i % 100 === 3 ? { power: 'off' } : ({} as Record<string, string>) };
      }),
    );
  }
}

export default async function auditBenchmark(args: string[]): Promise<void> {
  const count = Number(argument(args, '--systems') ?? 10_000);
  const usePostgres = args.includes('--postgres');
  if (!Number.isInteger(count) || count < 1) throw new Error(`--systems must be a positive integer, got ${argument(args, '--systems')}`);
  installTemporalRuntime('warn');
  const cliPath = await locateOrBuildTemporalCli((line) => console.error(line));
  if (!cliPath) throw new Error('no temporal CLI: run `npm run temporal:install` (needs Go)');

  const stops: Array<() => Promise<unknown>> = [];
  try {
    const listeners = await Promise.all(OS_HOSTS.map((host) => listenOn(host)));
    stops.push(async () => Promise.all(listeners.map(({ server }) => new Promise((resolve) => server.close(resolve)))));
    const closed = await listenOn('127.0.0.2');
    await new Promise((resolve) => closed.server.close(resolve));

    const handle = await openBenchDatabase(usePostgres);
    stops.push(() => handle.drop());
    const key = randomBytes(32);
    const cipher = createSecretCipher(key);
    const inventory = createInventory(handle.db, cipher);
    let clock = performance.now();
    await seedFleet(handle, inventory, count, listeners.map((l, index) => ({ host: OS_HOSTS[index]!, port: l.port })), closed.port, cipher.encrypt('bench-bmc-password'));
    console.log(`fleet: ${count} systems in ${handle.kind === 'pglite' ? 'PGlite (in memory, as npm start uses by default)' : 'PostgreSQL'}, seeded in ${((performance.now() - clock) / 1000).toFixed(1)} s`);
    console.log('BMCs: SIMULATED, in-process (power type "bench-sim": power state and an empty SEL, 1-4 ms per answer); OS check: real TCP to 127.0.0.2-5');

    const registry = createDefaultRegistry().register(['bench-sim'], 'bench-sim', simulatedBmc);
    const systemPower = createInventorySystemPower(inventory, { registry });
    const settings = DEFAULT_FLEET_AUDIT_SETTINGS;

    // Baseline: the probes alone, in a loop, no Temporal, verdicts not stored.
    clock = performance.now();
    let baselineProbed = 0;
    let baselineBroken = 0;
    for (let after: string | null = null; ; ) {
      const targets = await inventory.audits.targetsAfter(after, settings.batchSize);
      if (targets.length === 0) break;
      const chains = await inventory.systems.powerTargetsOf(targets.map((t) => t.system));
      const observations = await probeBatch(
        targets,
        {
          readHealth: async (system, signal) => {
            const chain = chains.get(system);
            const macs = targets.find((t) => t.system === system)?.interfaces.map((nic) => nic.mac) ?? [];
            return chain ? systemPower.readHealth(chain.map((t) => bmcTargetOf(t, { macs })), signal) : null;
          },
          osAnswers,
        },
        settings,
        new AbortController().signal,
      );
      baselineProbed += observations.length;
      baselineBroken += observations.filter((o) => classifyAudit(o).classification === 'broken').length;
      after = targets[targets.length - 1]!.system;
      if (targets.length < settings.batchSize) break;
    }
    const baselineSeconds = (performance.now() - clock) / 1000;

    const env = await startTestTemporal({ executable: cliPath });
    stops.push(() => env.teardown());
    const taskQueue = `audit-bench-${randomBytes(3).toString('hex')}`;
    const admitted: AdmissionRequest[] = [];
    const admission: RescueAdmission = {
      async admit(request) {
        admitted.push(request);
        return { decision: 'dry-run', reason: 'benchmark: no rescue is started', workflowId: null };
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../workflows/index.ts'),
      activities: createActivities({
        inventory,
        databaseKind: handle.kind,
        systemPower,
        netboot: createNetbootService({ inventory, urls: { httpBase: 'http://127.0.0.1' } }),
        rescueShell: createSshRescueShell(),
        admission,
      }),
    });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    const audits = createAuditClient(env.client, { taskQueue, audits: inventory.audits });
    clock = performance.now();
    const started = await audits.runNow('benchmark');
    const result = (await env.client.workflow.getHandle(started.audit.workflowId).result()) as FleetAuditResult;
    const auditSeconds = (performance.now() - clock) / 1000;

    const rows: Array<[string, string, string, string]> = [
      ['fleetAuditWorkflow (Temporal, verdicts stored, broken ones admitted)', auditSeconds.toFixed(1), (result.probed / auditSeconds).toFixed(0), `${result.healthy} healthy, ${result.suspect} suspect, ${result.broken} broken; ${result.batches} batches of ${settings.batchSize}, ${Math.ceil(result.batches / settings.batchesPerRun)} runs (continue-as-new); ${admitted.length} admitted`],
      ['baseline: the same probes in a loop, no Temporal, not stored', baselineSeconds.toFixed(1), (baselineProbed / baselineSeconds).toFixed(0), `${baselineProbed} probed, ${baselineBroken} broken`],
    ];
    console.log(`\n${'what'.padEnd(72)}  ${'seconds'.padStart(7)}  ${'probes/s'.padStart(8)}  detail`);
    for (const [what, seconds, rate, detail] of rows) console.log(`${what.padEnd(72)}  ${seconds.padStart(7)}  ${rate.padStart(8)}  ${detail}`);
    console.log(`\naudit / baseline: ${(auditSeconds / baselineSeconds).toFixed(2)}x; target: ${count} systems in under 60 s -> ${auditSeconds < 60 ? 'met' : 'NOT met'} (${auditSeconds.toFixed(1)} s)`);
    console.log(`limits: ${settings.concurrency} probes at once, ${settings.perBmcConcurrency} per BMC address; BMC timeout ${settings.bmcTimeoutMs / 1000} s, OS check timeout ${settings.osTimeoutMs / 1000} s`);
    if (result.probed !== count || baselineProbed !== count) console.log(`WARNING: probed ${result.probed} (audit) and ${baselineProbed} (baseline) of ${count}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: Error) => console.error(`bench: cleanup: ${error.message}`));
  }
}
