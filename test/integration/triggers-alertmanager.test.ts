// A real Alertmanager (v0.31.1, built from its Go module) delivers to our receiver with its bearer token,
// and our poller reads its API: alerts posted to it start rescues on the real Temporal dev server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { startTriggersLab, type FleetMachine, type TriggersLab } from '../support/triggers-lab.js';
import { startTestAlertmanager, type TestAlertmanager } from '../support/alertmanager.js';
import { pollAlertmanagerOnce, startAlertmanagerPoller } from '../../triggers/alertmanager-poller.js';
import { parseAlertmanagerMatcher } from '../../triggers/alertmanager-settings.js';
import type { AlertIntake } from '../../triggers/alert-intake.js';
import type { AlertRepository } from '../../db/repositories/alerts.js';
import { rescueOutcome } from '../support/rescue-outcome.js';

describe("RESCUED_ALERTMANAGER_FILTER's matcher check agrees with a real Alertmanager", { timeout: 60_000 }, () => {
  let alertmanager: TestAlertmanager;
  before(async () => {
    alertmanager = await startTestAlertmanager({ receiverUrl: 'http://127.0.0.1:9', token: 'unused' });
  });
  after(async () => alertmanager?.stop());

  test('the matchers we accept are those its API accepts as a filter', async () => {
    const matchers = [
      'severity="critical"', 'severity=critical', 'job != node', 'severity=', 'team="ops \\"core\\""', '"service name"="web"', 'service.name="web"',
      'instance=~"web[0-9]+"', 'instance!~"db.*"', 'env=~"(?i)prod"', 'job=~"(?P<name>node)"', 'path=~"\\d+"',
      'severity', '="x"', 'a="b"c"', 'a=~"("', 'a=~"web[0-9"', '{a="b"}', 'a=="b"', 'a=~"x(?!y)"', 'a=~"(a)\\1"',
    ];
    for (const matcher of matchers) {
      const url = new URL(`${alertmanager.url}/api/v2/alerts`);
      url.searchParams.append('filter', matcher);
      const response = await fetch(url);
      const parsed = parseAlertmanagerMatcher(matcher);
      assert.equal(parsed.ok, response.ok, `${matcher}: Alertmanager answered ${response.status} ${await response.text()}; we said ${JSON.stringify(parsed)}`);
    }
  });
});

describe('with a real Alertmanager', { timeout: 180_000 }, () => {
  let lab: TriggersLab;
  let alertmanager: TestAlertmanager;
  let fleet: FleetMachine[];
  type Recorded = { receiver: string; system: string | null; decision: string; status: string; workflowId: string | null };
  async function recordedFor(system: string, predicate: (alerts: Recorded[]) => boolean, timeoutMs = 30_000): Promise<Recorded[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const alerts = (await lab.api.request('GET', `/api/v1/alerts?system=${system}`)).body.alerts as Recorded[];
      if (predicate(alerts)) return alerts;
      if (Date.now() > deadline) throw new Error(`alerts of ${system}: ${JSON.stringify(alerts)}\nalertmanager:\n${alertmanager.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    lab = await startTriggersLab(testDatabases().at(-1)!);
    fleet = await lab.addMachines(5, { prefix: 'am' });
    await lab.setGuard({ maxInFlight: 10, cooldownMs: 0, brakeShare: 1 });
    alertmanager = await startTestAlertmanager({ receiverUrl: lab.api.url, token: lab.webhookToken, withLostRoute: true });
  });
  after(async () => {
    await alertmanager?.stop();
    await lab?.stop();
  });

  test('an alert posted to Alertmanager reaches the receiver and starts the rescue; its resolution follows', async () => {
    const machine = fleet[0]!;
    await alertmanager.postAlerts([{ labels: { alertname: 'NodeDown', instance: `${machine.ip}:9100`, severity: 'critical' }, annotations: { summary: 'node exporter down' } }]);
    const [firing] = await recordedFor(machine.name, (alerts) => alerts.length > 0);
    assert.equal(firing!.receiver, 'alertmanager');
    assert.equal(firing!.decision, 'started');
    assert.equal(firing!.workflowId, `rescue-${machine.name}`);
    const result = await rescueOutcome(lab.env.client, lab.rescues, machine.name);
    assert.equal(result.status.requestedBy, 'automation:alertmanager');
    assert.equal(machine.bmc.powerEvents.length, 1, 'one power operation landed on its BMC');
    // Ending the alert: Alertmanager sends it resolved (send_resolved), and it is recorded.
    await alertmanager.postAlerts([{ labels: { alertname: 'NodeDown', instance: `${machine.ip}:9100`, severity: 'critical' }, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    const all = await recordedFor(machine.name, (alerts) => alerts.some((a) => a.decision === 'resolved'));
    assert.ok(all.some((a) => a.status === 'resolved'));
  });

  test('an HA pair cut off from each other: Prometheus sends the alert to both, both deliver it; one rescue, one power cycle, both deliveries recorded', async () => {
    // Peers that cannot gossip do not know the other notified (Alertmanager's docs, "High Availability"): each
    // sends the group itself, as both do in a healthy pair whose second peer's peer_timeout runs out first.
    const machine = fleet[4]!;
    const peer = await startTestAlertmanager({ receiverUrl: lab.api.url, token: lab.webhookToken });
    try {
      const alert = { labels: { alertname: 'NodeDown', instance: `${machine.ip}:9100`, severity: 'critical', replica: 'pair' } };
      await Promise.all([alertmanager.postAlerts([alert]), peer.postAlerts([alert])]);
      const delivered = await recordedFor(machine.name, (alerts) => alerts.length >= 2);
      assert.deepEqual(delivered.map((a) => a.decision).sort(), ['joined', 'started'], JSON.stringify(delivered));
      assert.ok(delivered.every((a) => a.workflowId === `rescue-${machine.name}` && a.receiver === 'alertmanager'), JSON.stringify(delivered));
      await rescueOutcome(lab.env.client, lab.rescues, machine.name);
      assert.equal(machine.bmc.powerEvents.length, 1, 'one power operation landed on its BMC');
      assert.equal((await lab.api.request('GET', `/api/v1/alerts?system=${machine.name}`)).body.alerts.length, 2, 'no delivery came a third time');
    } finally {
      await peer.stop();
    }
  });

  test('the poller catches up an alert whose webhook never came', async () => {
    const machine = fleet[1]!;
    await alertmanager.postAlerts([{ labels: { alertname: 'DiskDead', nodename: machine.name, lost: 'true' } }]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await lab.api.request('GET', `/api/v1/alerts?system=${machine.name}`)).body.alerts.length, 0, 'no webhook came for it');
    const options = { url: alertmanager.url, intervalMs: 1000, filter: ['lost="true"'], intake: lab.api.triggers!.intake, alerts: lab.api.inventory.alerts };
    const outcomes = await pollAlertmanagerOnce(options);
    assert.deepEqual(outcomes.map((o) => [o.system, o.decision]), [[machine.name, 'started']]);
    const [recorded] = await recordedFor(machine.name, (alerts) => alerts.length > 0);
    assert.equal(recorded!.receiver, 'poller');
    assert.deepEqual(await pollAlertmanagerOnce(options), [], 'an alert already received is not handed on twice');
    // The filter matchers go to Alertmanager: none of the lost alerts matches severity="page".
    assert.deepEqual(await pollAlertmanagerOnce({ ...options, filter: ['severity="page"'] }), []);
    await rescueOutcome(lab.env.client, lab.rescues, machine.name);
    await assert.rejects(pollAlertmanagerOnce({ ...options, url: 'http://127.0.0.1:1' }), /cannot read alerts from Alertmanager at http:\/\/127.0.0.1:1/);
  });

  test('an alert naming no known machine is recorded once, not again at every poll', async () => {
    await alertmanager.postAlerts([{ labels: { alertname: 'Watchdog', severity: 'none', lost: 'true' } }]);
    const options = { url: alertmanager.url, intervalMs: 1000, filter: ['alertname="Watchdog"'], intake: lab.api.triggers!.intake, alerts: lab.api.inventory.alerts };
    assert.deepEqual((await pollAlertmanagerOnce(options)).map((o) => [o.system, o.decision]), [[null, 'unknown-machine']]);
    for (let poll = 0; poll < 3; poll++) assert.deepEqual(await pollAlertmanagerOnce(options), [], 'an unknown-machine alert already recorded is not taken in again');
    const recorded = (await lab.api.inventory.alerts.list({ limit: 1000 })).alerts.filter((a) => a.alertName === 'Watchdog');
    assert.deepEqual(recorded.map((a) => [a.receiver, a.decision]), [['poller', 'unknown-machine']]);
  });

  test('an alert the webhook delivered is not taken in again by the poller, however its start is written', async () => {
    const machine = fleet[2]!;
    // The webhook writes a start in Go's RFC3339Nano ("...:05Z", ".123456789Z", ".5+02:00"), the API v2 in
    // milliseconds (".000Z", ".123Z", ".500+02:00"): the same instants, other text.
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace('.000Z', 'Z');
    const withNanoseconds = second.replace('Z', '.123456789Z');
    const shifted = new Date(Date.parse(second) + 2 * 3600_000).toISOString().replace('.000Z', '.5+02:00');
    const labels = (variant: string) => ({ alertname: 'StartFormats', nodename: machine.name, variant });
    await alertmanager.postAlerts([{ labels: labels('now') }, { labels: labels('second'), startsAt: second }, { labels: labels('nanoseconds'), startsAt: withNanoseconds }, { labels: labels('offset'), startsAt: shifted }]);
    const delivered = await recordedFor(machine.name, (alerts) => alerts.length >= 4);
    assert.ok(delivered.every((a) => a.receiver === 'alertmanager'), JSON.stringify(delivered));
    const options = { url: alertmanager.url, intervalMs: 1000, filter: ['alertname="StartFormats"'], intake: lab.api.triggers!.intake, alerts: lab.api.inventory.alerts };
    assert.deepEqual(await pollAlertmanagerOnce(options), [], 'every alert was received by webhook already');
    assert.equal((await lab.api.request('GET', `/api/v1/alerts?system=${machine.name}`)).body.alerts.length, 4, 'no second record');
    await rescueOutcome(lab.env.client, lab.rescues, machine.name);
  });

  test('one poll at a time, however slow the last one was; stopping waits for the poll in flight', async () => {
    // Alertmanager answers at once, so the slowness is ours: the record lookup and the intake are slowed down.
    const machine = fleet[3]!;
    await alertmanager.postAlerts([{ labels: { alertname: 'SlowIntake', nodename: machine.name, lost: 'true' } }]);
    const real = { intake: lab.api.triggers!.intake, alerts: lab.api.inventory.alerts };
    let polls = 0;
    let pollsInFlight = 0;
    let mostPollsInFlight = 0;
    let handedOn = 0;
    const alerts: AlertRepository = {
      ...real.alerts,
      async alreadyReceived(keys) {
        polls += 1;
        pollsInFlight += 1;
        mostPollsInFlight = Math.max(mostPollsInFlight, pollsInFlight);
        await new Promise((r) => setTimeout(r, 100));
        return real.alerts.alreadyReceived(keys).finally(() => (pollsInFlight -= 1));
      },
    };
    const intake: AlertIntake = {
      ...real.intake,
      async receive(delivery) {
        handedOn += delivery.alerts.length;
        pollsInFlight += 1;
        mostPollsInFlight = Math.max(mostPollsInFlight, pollsInFlight);
        await new Promise((r) => setTimeout(r, 400));
        return real.intake.receive(delivery).finally(() => (pollsInFlight -= 1));
      },
    };
    const lines: string[] = [];
    const stop = startAlertmanagerPoller({ url: alertmanager.url, intervalMs: 20, filter: ['alertname="SlowIntake"'], intake, alerts, log: (line) => lines.push(line) });
    try {
      const deadline = Date.now() + 10_000;
      while (polls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      while (pollsInFlight === 0) await new Promise((r) => setTimeout(r, 5));
    } finally {
      await stop();
    }
    assert.equal(pollsInFlight, 0, 'stop() returned with a poll in flight');
    const pollsWhenStopped = polls;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(polls, pollsWhenStopped, 'no poll after stop()');
    assert.ok(polls >= 4, `${polls} polls`);
    assert.equal(mostPollsInFlight, 1, 'two polls overlapped');
    assert.equal(handedOn, 1, 'the alert was handed on once');
    assert.equal(lines.filter((l) => /not received by webhook/.test(l)).length, 1, lines.join('\n'));
    await rescueOutcome(lab.env.client, lab.rescues, machine.name);
  });
});
