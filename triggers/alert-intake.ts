// What happens to every alert received, whoever delivered it: find its machine, ask the guard (firing) or
// tell the running rescue and the queue (resolved), and record the alert with the decision and its reason.
import type { AlertDecision, AlertRepository, AlertView } from '../db/repositories/alerts.js';
import type { AlertResolved } from '../workflows/rescue-types.js';
import type { AdmissionDecision, AdmissionSource } from './admission.js';
import { lookupForms, machineIdentifiers, matchMachine } from './alert-labels.js';
import { GENERIC_MACHINE_FIELDS, type AlertReceiver, type ReceivedAlert } from './alert-payloads.js';
import type { Guard, ResolvingAlert } from './guard.js';
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

/** How long a resolved alert looks for a rescue whose start was admitted but may not have reached Temporal. */
const START_WAIT_MS = 3_000;
const START_RETRY_MS = 250;
/** The decisions by which a firing alert asked for a rescue of its machine. */
const ASKING_DECISIONS = new Set<AlertDecision>(['started', 'joined', 'deferred']);

/** An alert as rescues and reasons name it: its name and fingerprint (the generic receiver's id). */
function alertTitle(alert: ReceivedAlert): string {
  return `${alert.alertName ?? 'alert'} ${alert.fingerprint}`;
}

export function createAlertIntake(dependencies: AlertIntakeDependencies) {
  const { alerts, guard, rescues, labelRules } = dependencies;

  type Machine = { system: string; by: string } | { system: null; reason: string };

  /** Which machine each alert names: one lookup for the whole delivery. */
  async function resolveMachines(received: ReceivedAlert[], receiver: AlertReceiver): Promise<Machine[]> {
    const rules = receiver === 'generic' ? GENERIC_MACHINE_FIELDS : labelRules;
    const identifiers = received.map((alert) => machineIdentifiers(alert.labels, rules));
    const keys = await alerts.machineKeys([...new Set(identifiers.flat().flatMap((i) => lookupForms(i.value)))]);
    return identifiers.map((named): Machine => {
      if (named.length === 0) return { system: null, reason: `no label names a machine (looked for ${rules.join(', ')})` };
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
  function decide(alert: ReceivedAlert, machine: Machine, receiver: AlertReceiver, deliveredBy: string, earlierInDelivery: ResolvingAlert['earlierInDelivery']): { committed: Promise<Decided>; final: Promise<Decided> } {
    if (machine.system === null) {
      const final = Promise.resolve<Decided>({ system: null, decision: 'unknown-machine', reason: machine.reason, workflowId: null });
      return { committed: final, final };
    }
    const system = machine.system;
    if (alert.status === 'resolved') {
      const final = decideResolved(alert, { system, by: machine.by }, receiver, deliveredBy, earlierInDelivery);
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

  /**
   * A resolved alert ends its machine's open automatic request when no other alert that asked for it still
   * fires (the guard decides, `Guard.resolveAlert`): a waiting one is withdrawn, and a running rescue is told
   * to stop if it has not acted yet. Either way the running rescue, if any, records the resolution.
   */
  async function decideResolved(alert: ReceivedAlert, machine: { system: string; by: string }, receiver: AlertReceiver, deliveredBy: string, earlierInDelivery: ResolvingAlert['earlierInDelivery']): Promise<Decided> {
    const { system } = machine;
    const effect = await guard.resolveAlert(system, { fingerprint: alert.fingerprint, earlierInDelivery, reason: `alert ${alert.fingerprint} resolved before its rescue started` });
    const endsRescue = effect.effect === 'ended' && effect.rescueAdmitted;
    const resolved: AlertResolved = { alert: alertTitle(alert), by: `${receiver}:${deliveredBy}`, at: new Date().toISOString(), endsRescue };
    let told: boolean | Error;
    try {
      told = await tellRescue(system, resolved, endsRescue);
    } catch (error) {
      told = error as Error;
    }
    const parts = [`resolved (${machine.by})`];
    if (effect.effect === 'none') parts.push('no automatic rescue of it is open');
    if (effect.effect === 'kept') parts.push(`its rescue goes on: ${effect.because}`);
    if (effect.effect === 'ended' && effect.withdrawn) parts.push('its deferred rescue is withdrawn');
    if (told instanceof Error) parts.push(`could not tell its rescue (Temporal: ${told.message})`);
    else if (told) parts.push(endsRescue ? `told the running rescue-${system}, which stops if it has not acted yet` : `told the running rescue-${system}, which records it`);
    else if (endsRescue) parts.push(`its rescue was admitted but Temporal did not run it within ${START_WAIT_MS / 1000} s`);
    else parts.push('no rescue of it runs');
    return { system, decision: 'resolved', reason: parts.join('; '), workflowId: null };
  }

  /**
   * Signals the machine's running rescue; false when none runs. When its rescue was admitted, its start may
   * still be on its way to Temporal (another delivery's): then it is looked for again, for a few seconds.
   */
  async function tellRescue(system: string, resolved: AlertResolved, admitted: boolean): Promise<boolean> {
    const giveUpAt = Date.now() + (admitted ? START_WAIT_MS : 0);
    for (;;) {
      if (await rescues.alertResolved(system, resolved)) return true;
      if (Date.now() >= giveUpAt) return false;
      await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
    }
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
      const machines = await resolveMachines(delivery.alerts, delivery.receiver);
      const looked = performance.now();
      observeAlertIntakeStage('lookup', (looked - began) / 1000);
      const committed: Array<Promise<Decided>> = [];
      const finals: Array<Promise<Decided>> = [];
      for (const [index, alert] of delivery.alerts.entries()) {
        const resolved = alert.status === 'resolved';
        // The machine's alerts before this one in the delivery, each as it last stood (a later one of the same fingerprint wins).
        const earlierInDelivery = new Map<string, ResolvingAlert['earlierInDelivery'][number]>();
        if (resolved) {
          const before = await Promise.all(finals);
          const system = machines[index]!.system;
          for (const [at, earlier] of before.entries()) {
            const other = delivery.alerts[at]!;
            if (system === null || earlier.system !== system) continue;
            earlierInDelivery.delete(other.fingerprint);
            earlierInDelivery.set(other.fingerprint, { fingerprint: other.fingerprint, title: alertTitle(other), asking: other.status === 'firing' && ASKING_DECISIONS.has(earlier.decision) });
          }
        }
        const decided = decide(alert, machines[index]!, delivery.receiver, delivery.deliveredBy, [...earlierInDelivery.values()]);
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
