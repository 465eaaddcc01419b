// The triggers of one API process: the guard over the inventory's database and the rescue client, the
// alert intake the webhook routes and the poller share, operators' automation controls, and the
// background loops (the queue of deferred rescues, the Alertmanager poller).
import type { Inventory } from '../db/inventory.js';
import type { AlertRepository } from '../db/repositories/alerts.js';
import type { RescueTimings } from '../workflows/rescue-types.js';
import type { AdmissionDecision } from '../triggers/admission.js';
import { InventoryError } from '../inventory/errors.js';
import { createGuard, type Guard, type RescueStarter } from '../triggers/guard.js';
import { createAlertIntake, type AlertIntake, type AlertIntakeDependencies } from '../triggers/alert-intake.js';
import { createAutomationControl, type AutomationControl } from '../triggers/automation-control.js';
import { startAdmissionRunner } from '../triggers/admission-runner.js';
import { startAlertmanagerPoller } from '../triggers/alertmanager-poller.js';

export interface Triggers {
  guard: Guard;
  intake: AlertIntake;
  automation: AutomationControl;
}

export interface TriggerOptions {
  alertLabels: readonly string[];
  /** Rescue timings for automatic rescues (labs and tests shorten them). */
  rescueTimings?: Partial<RescueTimings>;
  log?: (line: string) => void;
}

/** What the triggers need of Temporal (the rescue client has it): the guard's starts and the intake's signals. */
export type TriggerRescues = RescueStarter & AlertIntakeDependencies['rescues'];

/**
 * The alerts recorded `deferred` for a machine follow its queue entry once that is decided: they learn the
 * rescue that started (or that the request joined), or that the entry was refused after all (a pause, the
 * brake, a group incident), and why.
 */
async function noteQueueDecision(alerts: AlertRepository, system: string, decision: AdmissionDecision): Promise<void> {
  if (decision.workflowId !== null && (decision.decision === 'started' || decision.decision === 'joined')) {
    await alerts.noteDeferredStarted(system, decision.workflowId);
    return;
  }
  if (decision.decision !== 'refused') return;
  // The alerts still waiting for this entry: deferred, no rescue learnt yet (those of an earlier entry that
  // started have its workflow; those of one refused were amended then).
  await alerts.noteDeferredRefused(system, `deferred, then refused from the queue: ${decision.reason}`);
}

async function systemExists(inventory: Inventory, name: string): Promise<boolean> {
  try {
    await inventory.systems.get(name);
    return true;
  } catch (error) {
    if (error instanceof InventoryError && error.kind === 'not-found') return false;
    throw error;
  }
}

export function createTriggers(inventory: Inventory, rescues: TriggerRescues, options: TriggerOptions): Triggers {
  const guard = createGuard({
    store: inventory.guard,
    rescues,
    ...(options.rescueTimings ? { rescueTimings: options.rescueTimings } : {}),
    ...(options.log ? { log: options.log } : {}),
    onQueueDecision: (system, decision) => noteQueueDecision(inventory.alerts, system, decision),
  });
  return {
    guard,
    intake: createAlertIntake({ alerts: inventory.alerts, guard, rescues, labelRules: options.alertLabels }),
    automation: createAutomationControl(inventory.guard, { systemExists: (name) => systemExists(inventory, name) }),
  };
}

/** Starts the queue runner and, when an Alertmanager is configured, the poller. */
export function startTriggerLoops(
  inventory: Inventory,
  triggers: Triggers,
  options: { admissionIntervalMs: number; alertmanager?: { url: string; intervalMs: number; filter: string[] } | undefined; log: (line: string) => void },
): () => Promise<void> {
  const stops = [startAdmissionRunner(triggers.guard, { intervalMs: options.admissionIntervalMs, log: options.log })];
  if (options.alertmanager) {
    stops.push(startAlertmanagerPoller({ ...options.alertmanager, intake: triggers.intake, alerts: inventory.alerts, log: options.log }));
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
