// `npm run demo`: the product on one machine, end to end. It starts rescued as `npm start` does (embedded
// Temporal dev server, PGlite, API, TFTP, worker) in its own data folder, brings up the virtual lab with one
// machine, breaks its disk, fires an Alertmanager alert at the webhook receiver with a webhook-role token, and
// follows the rescue in `rescuectl rescue watch` until the machine is repaired. Everything it started is stopped
// at the end, on failure and on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createApiClient, type ApiClient } from '../cli/api-client.js';
import { freeTcpPort, freeUdpPort } from '../lab/bmc/ports.js';
import { missingLabTools } from '../lab/fleet/host-tools.js';
import { labBreak, labDown, labUp } from '../lab/fleet/virtual-lab.js';
import { PROJECT_ROOT } from '../lab/vm/paths.js';
import { startRescuedProcess } from './rescued-process.js';
import { alertmanagerDelivery } from './alert.js';

const SYSTEM = 'demo01';

type Step = () => Promise<unknown>;
const cleanup: Step[] = [];
let cleaning: Promise<void> | undefined;
function stopEverything(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch((error: Error) => console.error(`demo: while stopping: ${error.message}`));
  })();
  return cleaning;
}

function say(line: string): void {
  console.log(`\x1b[1mdemo:\x1b[0m ${line}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `rescuectl rescue watch SYSTEM` in this terminal; resolves with its exit code. */
function watchRescue(server: string, token: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'rescuectl.js'), 'rescue', 'watch', SYSTEM, '--interval', '1'], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, RESCUED_SERVER: server, RESCUED_TOKEN: token },
    });
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function waitForRescueToStart(api: ApiClient): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await api.request('GET', `/api/v1/rescues/${SYSTEM}`);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the alert started no rescue of ${SYSTEM}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

async function main(): Promise<void> {
  const missing = missingLabTools();
  if (missing.length > 0) {
    console.error(`demo: this machine lacks what the virtual lab needs:\n${missing.map((m) => `  - ${m.message}`).join('\n')}`);
    process.exitCode = 2;
    return;
  }
  const dataDirectory = resolve(process.env.RESCUED_DEMO_DIR?.trim() || join(PROJECT_ROOT, 'data', 'demo'));
  // A fresh demo each time: its own database, Temporal history and lab.
  rmSync(dataDirectory, { recursive: true, force: true });
  mkdirSync(dataDirectory, { recursive: true });
  const started = Date.now();

  say(`starting rescued as npm start does (embedded Temporal, PGlite) in ${dataDirectory}`);
  const [apiPort, temporalPort, temporalUiPort, tftpPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort(), await freeUdpPort()];
  const rescued = await startRescuedProcess({ dataDirectory, apiPort, tftpPort, temporalPort, temporalUiPort });
  cleanup.push(() => rescued.stop());
  say(`rescued is up: API ${rescued.url}, its log in ${rescued.logPath}`);

  const admin = await createApiClient({ server: rescued.url }, { ...process.env, RESCUED_DATA_DIR: dataDirectory });
  // One machine is the whole fleet here: the guard's fleet-wide brake (too many alerting at once) stays out of it.
  await admin.request('PATCH', '/api/v1/automation/settings', { brakeShare: 1, cooldownMs: 0 });
  const { token: webhookToken } = await admin.request<{ token: string }>('POST', '/api/v1/tokens', { name: 'demo-alertmanager', role: 'webhook' });
  const adminToken = readFileSync(join(dataDirectory, 'admin.token'), 'utf8').trim();

  const labDirectory = join(dataDirectory, 'lab');
  say('bringing up the virtual lab: one QEMU machine with an ipmi_sim BMC, registered in the inventory');
  cleanup.push(() => labDown(labDirectory));
  await labUp({ directory: labDirectory, api: admin, machines: [{ name: SYSTEM }], tftpRoot: join(dataDirectory, 'tftpboot'), tftpPort, log: (line) => say(line) });
  say(`${SYSTEM}: ${await labBreak(labDirectory, admin, SYSTEM, 'superblock')}; it no longer boots`);

  say(`firing an Alertmanager alert (NodeDown, instance ${SYSTEM}:9100) at POST /hooks/alertmanager`);
  const alertAt = Date.now();
  const response = await fetch(`${rescued.url}/hooks/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${webhookToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(alertmanagerDelivery(SYSTEM)),
  });
  if (!response.ok) throw new Error(`the webhook answered ${response.status}: ${await response.text()}`);
  await waitForRescueToStart(admin);
  if (rescued.temporalUiUrl) say(`follow it in the Temporal UI too: ${rescued.temporalUiUrl}/namespaces/default/workflows/rescue-${SYSTEM}`);
  await watchRescue(rescued.url, adminToken);
  const { status } = await admin.request<{ status: { outcome: string | null; error: string | null } }>('GET', `/api/v1/rescues/${SYSTEM}`);
  const took = Date.now() - alertAt;
  if (status.outcome === 'repaired') {
    say(`\x1b[32m${SYSTEM} repaired\x1b[0m: ${seconds(took)} from the alert to its installed OS answering again (${seconds(Date.now() - started)} for the whole demo)`);
  } else {
    say(`\x1b[31m${SYSTEM} ended ${status.outcome ?? 'without an outcome'}\x1b[0m after ${seconds(took)}${status.error ? `: ${status.error}` : ''}; rescuectl rescue report ${SYSTEM} says more (while it runs)`);
    process.exitCode = 1;
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping everything the demo started`);
    void stopEverything().then(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    // After Ctrl-C, what fails is only what is being stopped.
    if (interrupted) return;
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (interrupted) return;
    say('stopping the lab and rescued');
    await stopEverything();
  });
