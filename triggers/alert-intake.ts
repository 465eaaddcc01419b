// What happens to every alert received, whoever delivered it: find its machine, ask the guard (firing) or
// tell the running rescue and the queue (resolved), and record the alert with the decision and its reason.
import type { AlertDecision, AlertRepository, AlertView } from '../db/repositories/alerts.js';
import type { AlertResolved } from '../workflows/rescue-types.js';
import type { AdmissionDecision, AdmissionSource } from './admission.js';
import { lookupForms, machineIdentifiers, matchMachine } from './alert-labels.js';
import type { AlertReceiver, ReceivedAlert } from './alert-payloads.js';
import type { Guard } from './guard.js';
import { observeAlertIntakeStage } from '../observability/metrics.js';

export interface AlertIntakeDependencies {
  alerts: AlertRepository;
  guard: Guard;
  rescues: { alertResolved(system: string, resolved: AlertResolved): Promise<boolean> };
  /** RESCUED_ALERT_LABELS: the labels that may name a machine, in order. */
  labelRules: readonly string[];
}

export interface Delivery {
  receiver: AlertReceiver;
  /** The token's name, or the Alertmanager the poller asked. */
  deliveredBy: string;
  alerts: ReceivedAlert[];
}

export interface AlertOutcome {
  fingerprint: string;
  status: string;
  system: string | null;
  decision: AlertDecision;
  reason: string;
  workflowId: string | null;
}

export function createAlertIntake(dependencies: AlertIntakeDependencies) {
  const { alerts, guard, rescues, labelRules } = dependencies;

  type Machine = { system: string; by: string } | { system: null; reason: string };

  /** Which machine each alert names: one lookup for the whole delivery. */
  async function resolveMachines(received: ReceivedAlert[]): Promise<Machine[]> {
    const identifiers = received.map((alert) => machineIdentifiers(alert.labels, labelRules));
    const keys = await alerts.machineKeys([...new Set(identifiers.flat().flatMap((i) => lookupForms(i.value)))]);
    return identifiers.map((named): Machine => {
      if (named.length === 0) return { system: null, reason: `no label names a machine (looked for ${labelRules.join(', ')})` };
      const match = matchMachine(named, keys);
      if (match === undefined) return { system: null, reason: `no known machine matches ${named.map((i) => `${i.label}="${i.value}"`).join(', ')}` };
      return { system: match.system, by: `${match.by.label}="${match.by.value}"` };
    });
  }

  type Decided = Omit<AlertOutcome, 'fingerprint' | 'status'>;

  /**
   * The alert's decision twice: `committed` as soon as it is taken (for a firing alert, once the guard's
   * transaction committed it), `final` once Temporal has answered an admitted start. They differ only when
   * that answer changes it.
   */
  function decide(alert: ReceivedAlert, machine: Machine, receiver: AlertReceiver, deliveredBy: string): { committed: Promise<Decided>; final: Promise<Decided> } {
    if (machine.system === null) {
      const final = Promise.resolve<Decided>({ system: null, decision: 'unknown-machine', reason: machine.reason, workflowId: null });
      return { committed: final, final };
    }
    const system = machine.system;
    if (alert.status === 'resolved') {
      const final = decideResolved(alert, { system, by: machine.by }, receiver, deliveredBy);
      return { committed: final, final };
    }
    const asDecided = (decision: AdmissionDecision): Decided => ({ system, decision: decision.decision, reason: decision.reason, workflowId: decision.workflowId });
    const source: AdmissionSource = receiver;
    let onCommitted!: (decision: AdmissionDecision) => void;
    let onFailed!: (error: unknown) => void;
    const committed = new Promise<AdmissionDecision>((resolve, reject) => {
      onCommitted = resolve;
      onFailed = reject;
    });
    // flushedByCaller: receive() records every alert in one synchronous INSERT before it answers, and fails the
    // delivery (a 503, which the sender retries) when it cannot.
    const final = guard.admit({ system, source, reason: alert.summary, alertId: alert.fingerprint }, { onCommitted, flushedByCaller: true });
    // An admission that failed before it committed anything fails both; after, only the final one.
    final.then(onCommitted, onFailed);
    const committedDecided = committed.then(asDecided);
    // Its failure is the final decision's too, which the caller always awaits.
    committedDecided.catch(() => undefined);
    return { committed: committedDecided, final: final.then(asDecided) };
  }

  /** A resolved alert withdraws its machine's waiting request and tells its running rescue. */
  async function decideResolved(alert: ReceivedAlert, machine: { system: string; by: string }, receiver: AlertReceiver, deliveredBy: string): Promise<Decided> {
    const { system } = machine;
    const withdrawn = await guard.withdraw(system, `alert ${alert.fingerprint} resolved before its rescue started`);
    let signalled: string;
    try {
      signalled = (await rescues.alertResolved(system, { alert: `${alert.alertName ?? 'alert'} ${alert.fingerprint}`, by: `${receiver}:${deliveredBy}`, at: new Date().toISOString() }))
        ? `told the running rescue-${system}`
        : 'no rescue of it runs';
    } catch (error) {
      signalled = `could not tell its rescue (Temporal: ${(error as Error).message})`;
    }
    return { system, decision: 'resolved', reason: `resolved (${machine.by}); ${signalled}${withdrawn ? '; its deferred rescue is withdrawn' : ''}`, workflowId: null };
  }

  return {
    /**
     * Decides and records every alert of a delivery, in order: the firing ones go to the guard together (it
     * decides them in one admission, in this order), a resolved one only once those before it are decided, and those after it once it is;
     * then every alert is recorded in one INSERT, with the decisions as committed, while the admitted starts
     * are on their way to Temporal; an alert whose decision Temporal's answer changed is amended. Throws when
     * it could not decide or record, so the sender's retry (a 503) brings the whole delivery again (it then
     * joins the rescues this attempt started).
     */
    async receive(delivery: Delivery): Promise<AlertOutcome[]> {
      const began = performance.now();
      const machines = await resolveMachines(delivery.alerts);
      const looked = performance.now();
      observeAlertIntakeStage('lookup', (looked - began) / 1000);
      const committed: Array<Promise<Decided>> = [];
      const finals: Array<Promise<Decided>> = [];
      for (const [index, alert] of delivery.alerts.entries()) {
        const resolved = alert.status === 'resolved';
        if (resolved) await Promise.all(finals);
        const decided = decide(alert, machines[index]!, delivery.receiver, delivery.deliveredBy);
        committed.push(decided.committed);
        finals.push(decided.final);
        if (resolved) await Promise.all(finals);
      }
      // The stages' times: the decisions committed, then Temporal's answers and the record, side by side.
      const admitted = delivery.alerts.some((alert, index) => alert.status !== 'resolved' && machines[index]!.system !== null);
      const committedAll = Promise.all(committed).then((decided) => {
        const at = performance.now();
        if (admitted) observeAlertIntakeStage('admission', (at - looked) / 1000);
        return { decided, at };
      });
      const recording = committedAll.then(async ({ decided, at }) => {
        const rows = await record(delivery, decided);
        observeAlertIntakeStage('record', (performance.now() - at) / 1000);
        return rows;
      });
      const answered = Promise.all(finals).then(async (decided) => {
        const { at } = await committedAll;
        if (admitted) observeAlertIntakeStage('temporal', (performance.now() - at) / 1000);
        return decided;
      });
      const [recorded, decided] = await Promise.all([recording, answered]);
      await Promise.all(
        recorded.map(async (row, index) => {
          const final = decided[index]!;
          if (final.decision === row.decision && final.reason === row.reason && final.workflowId === row.workflowId) return;
          await alerts.amendDecision(row.id, final);
          Object.assign(row, { decision: final.decision, reason: final.reason, workflowId: final.workflowId });
        }),
      );
      return recorded.map((r) => ({ fingerprint: r.fingerprint, status: r.status, system: r.system, decision: r.decision, reason: r.reason, workflowId: r.workflowId }));
    },
  };

  function record(delivery: Delivery, decided: Decided[]): Promise<AlertView[]> {
    return alerts.recordAll(
      delivery.alerts.map((alert, index) => ({
        receiver: delivery.receiver,
        deliveredBy: delivery.deliveredBy,
        fingerprint: alert.fingerprint,
        status: alert.status,
        alertName: alert.alertName,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: alert.startsAt,
        ...decided[index]!,
      })),
    );
  }
}

export type AlertIntake = ReturnType<typeof createAlertIntake>;
