// The triggers of one API process: the guard over the inventory's database and the rescue client, the
// alert intake the webhook routes and the poller share, operators' automation controls, and the
// background loops (the queue of deferred rescues, the Alertmanager poller).
import type { Inventory } from '../db/inventory.js';
import type { RescueClient } from '../rescue/rescue-client.js';
import type { RescueTimings } from '../workflows/rescue-types.js';
import { createGuard, type Guard } from '../triggers/guard.js';
import { createAlertIntake, type AlertIntake } from '../triggers/alert-intake.js';
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

export function createTriggers(inventory: Inventory, rescues: RescueClient, options: TriggerOptions): Triggers {
  const guard = createGuard({
    store: inventory.guard,
    rescues,
    ...(options.rescueTimings ? { rescueTimings: options.rescueTimings } : {}),
    ...(options.log ? { log: options.log } : {}),
    onQueueDecision: async (system, decision) => {
      if (decision.workflowId !== null && (decision.decision === 'started' || decision.decision === 'joined')) await inventory.alerts.noteDeferredStarted(system, decision.workflowId);
    },
  });
  return {
    guard,
    intake: createAlertIntake({ alerts: inventory.alerts, guard, rescues, labelRules: options.alertLabels }),
    automation: createAutomationControl(inventory.guard),
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
