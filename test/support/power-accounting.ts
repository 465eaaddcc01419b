// What a BMC saw against what the workflow's history says it asked for. Temporal records one
// ActivityTaskStarted per scheduled activity, with the attempt it ended on: so the history says how many
// times each power activity was tried (attempts) and how many went through (completed). A BMC that saw more
// than the attempts saw an operation nobody meant (a replay that re-ran a finished step, a stray command); one
// that saw fewer than the completions lost one.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import type { IpmiSimBmc } from '../../lab/bmc/ipmi-sim.js';

export interface PowerCount {
  /** Activities of this kind that completed. */
  completed: number;
  /** Attempts of them, retries included (a worker killed mid-call makes one more). */
  attempts: number;
}

export interface PowerAccount {
  workflowId: string;
  history: { powerCycles: PowerCount; bootDevices: PowerCount };
  /** What the BMC did: boots (power-on or reset) and one-time boot device settings. */
  bmc: { boots: number; bootDevices: number; events: string[] };
}

/**
 * `codec`: the payload codec the workers encrypt history with, if any, to read each power call's action. A
 * power cycle is asked as `off` then `on` (workflows/power-cycle.ts), or as one `cycle` in older histories:
 * the calls that may boot the machine are `on` and `cycle`, and those are what `powerCycles` counts.
 */
export async function powerAccount(client: Client, workflowId: string, bmc: IpmiSimBmc, codec?: PayloadCodec): Promise<PowerAccount> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const kindOf = new Map<string, 'powerCycles' | 'bootDevices'>();
  const counts = { powerCycles: { completed: 0, attempts: 0 }, bootDevices: { completed: 0, attempts: 0 } };
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const name = scheduled.activityType?.name;
      if (name === 'setPowerState') {
        const payloads = scheduled.input?.payloads ?? [];
        const [input] = (codec ? await codec.decode(payloads) : payloads).map((payload) => defaultPayloadConverter.fromPayload<{ action?: string }>(payload));
        if (input?.action === 'on' || input?.action === 'cycle') kindOf.set(id, 'powerCycles');
      }
      if (name === 'setBootDevice') kindOf.set(id, 'bootDevices');
    }
    const started = event.activityTaskStartedEventAttributes;
    const startedKind = started ? kindOf.get(String(started.scheduledEventId)) : undefined;
    if (started && startedKind) counts[startedKind].attempts += started.attempt ?? 1;
    const completed = event.activityTaskCompletedEventAttributes;
    const completedKind = completed ? kindOf.get(String(completed.scheduledEventId)) : undefined;
    if (completedKind) counts[completedKind].completed += 1;
  }
  const events = bmc.readEvents();
  return {
    workflowId,
    history: counts,
    bmc: {
      boots: events.filter((e) => e.action === 'power-on' || e.action === 'reset').length,
      bootDevices: events.filter((e) => e.action === 'boot-device').length,
      events: events.map((e) => `${e.action}${e.bootDevice ? `:${e.bootDevice}` : ''}`),
    },
  };
}

/** Why the BMC's operations do not match the history, or undefined when every one is accounted for. */
export function unaccountedPowerOperations(account: PowerAccount): string | undefined {
  const problems: string[] = [];
  const { history, bmc } = account;
  if (bmc.boots > history.powerCycles.attempts) problems.push(`${bmc.boots} boots at the BMC, but the history tried ${history.powerCycles.attempts} power cycle(s)`);
  if (bmc.boots < history.powerCycles.completed) problems.push(`${bmc.boots} boots at the BMC, fewer than the ${history.powerCycles.completed} completed power cycle(s)`);
  if (bmc.bootDevices > history.bootDevices.attempts) problems.push(`${bmc.bootDevices} boot device settings at the BMC, but the history tried ${history.bootDevices.attempts}`);
  if (bmc.bootDevices < history.bootDevices.completed) problems.push(`${bmc.bootDevices} boot device settings at the BMC, fewer than the ${history.bootDevices.completed} completed`);
  return problems.length === 0 ? undefined : `${account.workflowId}: ${problems.join('; ')} (BMC: ${bmc.events.join(' ')})`;
}
