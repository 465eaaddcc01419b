// A real Prometheus Alertmanager on 127.0.0.1 for trigger tests, with our receiver in its config (bearer
// token read from a credentials file, so it is in no process argument) and short group timings.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateOrBuildAlertmanager } from '../../lab/alertmanager/binary.js';
import { freePort } from './ports.js';

export interface TestAlertmanager {
  url: string;
  /** POST /api/v2/alerts, as Prometheus does (without startsAt, Alertmanager starts the alert now). */
  postAlerts(alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; startsAt?: string; endsAt?: string }>): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export async function startTestAlertmanager(options: { receiverUrl: string; token: string; /** Alerts with label lost="true" go nowhere: a webhook lost on the way. */ withLostRoute?: boolean }): Promise<TestAlertmanager> {
  const binary = await locateOrBuildAlertmanager((line) => console.error(line));
  const directory = await mkdtemp(join(tmpdir(), 'rescued-alertmanager-'));
  const tokenFile = join(directory, 'token');
  await writeFile(tokenFile, options.token, { mode: 0o600 });
  const config = [
    'route:',
    '  receiver: rescued',
    "  group_by: ['alertname']",
    '  group_wait: 200ms',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    ...(options.withLostRoute ? ['  routes:', '    - matchers: [\'lost="true"\']', '      receiver: nowhere'] : []),
    'receivers:',
    '  - name: nowhere',
    '  - name: rescued',
    '    webhook_configs:',
    `      - url: ${options.receiverUrl}/hooks/alertmanager`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials_file: ${tokenFile}`,
    '',
  ].join('\n');
  await writeFile(join(directory, 'alertmanager.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${join(directory, 'alertmanager.yml')}`, `--storage.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async postAlerts(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      if (!response.ok) throw new Error(`alertmanager refused the alerts: ${response.status} ${await response.text()}`);
    },
    output: () => output,
    stop,
  };
}
