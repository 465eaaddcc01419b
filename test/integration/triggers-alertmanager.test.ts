// A real Alertmanager (v0.31.1, built from its Go module) delivers to our receiver with its bearer token,
// and our poller reads its API: alerts posted to it start rescues on the real Temporal dev server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from '../support/databases.js';
import { rescueOutcome, startTriggersLab, type FleetMachine, type TriggersLab } from '../support/triggers-lab.js';
import { startTestAlertmanager, type TestAlertmanager } from '../support/alertmanager.js';
import { pollAlertmanagerOnce } from '../../triggers/alertmanager-poller.js';

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
    fleet = await lab.addMachines(4, { prefix: 'am' });
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
    const result = await rescueOutcome(lab, machine.name);
    assert.equal(result.status.requestedBy, 'automation:alertmanager');
    assert.equal(machine.bmc.powerEvents.length, 1, 'one power operation landed on its BMC');
    // Ending the alert: Alertmanager sends it resolved (send_resolved), and it is recorded.
    await alertmanager.postAlerts([{ labels: { alertname: 'NodeDown', instance: `${machine.ip}:9100`, severity: 'critical' }, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    const all = await recordedFor(machine.name, (alerts) => alerts.some((a) => a.decision === 'resolved'));
    assert.ok(all.some((a) => a.status === 'resolved'));
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
    await rescueOutcome(lab, machine.name);
    await assert.rejects(pollAlertmanagerOnce({ ...options, url: 'http://127.0.0.1:1' }), /cannot read alerts from Alertmanager at http:\/\/127.0.0.1:1/);
  });
});
