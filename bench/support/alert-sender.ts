// The webhook bench's sender: a process of its own that posts Alertmanager deliveries at a fixed rate (open
// loop) and times each one from request to reply. Alertmanager is another process; run in the API's thread,
// the sender's own HTTP work (a fifth of that thread's time with fetch) would be counted against the server,
// and in a process of its own, the API process's CPU time is the server's alone.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TimedCall } from './gc-cycles.js';

export interface AlertSenderJob {
  url: string;
  token: string;
  rate: number;
  /** The deliveries' bodies, sent in this order. */
  bodies: string[];
}

export interface AlertSenderResult {
  latencies: number[];
  /** Each delivery: when it was sent (milliseconds since the epoch, comparable across processes) and its latency. */
  timeline: TimedCall[];
  accepted: number;
  elapsedS: number;
  decisions: Array<[string, number]>;
}

function post(agent: Agent, url: URL, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

async function send(job: AlertSenderJob): Promise<AlertSenderResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL('/hooks/alertmanager', job.url);
  const latencies: number[] = [];
  const timeline: TimedCall[] = [];
  const answered = (sent: number) => {
    const took = performance.now() - sent;
    latencies.push(took);
    timeline.push([performance.timeOrigin + sent, took]);
  };
  const decisions = new Map<string, number>();
  let accepted = 0;
  const began = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let index = 0; index < job.bodies.length; index++) {
    const due = began + (index * 1000) / job.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = job.bodies[index]!;
    const sent = performance.now();
    pending.push(
      post(agent, url, job.token, body).then(
        ({ status, text }) => {
          answered(sent);
          if (status === 200) accepted += 1;
          let decision = `http-${status}`;
          try {
            decision = (JSON.parse(text) as { alerts?: Array<{ decision: string }> }).alerts?.[0]?.decision ?? decision;
          } catch {
            // not JSON: the status says it
          }
          decisions.set(decision, (decisions.get(decision) ?? 0) + 1);
        },
        (error: Error & { code?: string }) => {
          answered(sent);
          const decision = `connection error (${error.code ?? error.message})`;
          decisions.set(decision, (decisions.get(decision) ?? 0) + 1);
        },
      ),
    );
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - began) / 1000;
  agent.destroy();
  return { latencies: latencies.sort((a, b) => a - b), timeline, accepted, elapsedS, decisions: [...decisions] };
}

// Started by bench/webhooks.ts with an IPC channel: one job in, one result out.
process.once('message', (job: AlertSenderJob) => {
  void send(job).then((result) => process.send!(result, () => process.disconnect()));
});
