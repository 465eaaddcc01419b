// The guard: one admission decision for every automatic start (webhooks, the poller, audits), taken under
// the database's lock from facts loaded in the same transaction, recorded with its reason. Admitted
// rescues start as `rescue-<system>` with USE_EXISTING, so even a start racing an operator's is one rescue.
// Deferred requests wait in the rescue queue (a table: they survive restarts) and start in arrival order
// when `pumpQueue` finds room; the admission runner calls it every few seconds.
import type { GuardRepository, QueueEntry } from '../db/repositories/guard.js';
import { AUTOMATIC_REQUESTER_PREFIX } from '../db/repositories/guard.js';
import { rescueWorkflowId } from '../rescue/rescue-client.js';
import type { RescueInput, RescueTimings } from '../workflows/rescue-types.js';
import type { AdmissionDecision, AdmissionOptions, AdmissionRequest, RescueAdmission } from './admission.js';
import { groupsOf, planAdmissions, type AdmissionCandidate, type GuardEffect, type MachineFacts, type PlannedDecision } from './guard-decision.js';
import type { Database } from '../db/client.js';
import { observeGuardDecision } from '../observability/metrics.js';

/** What the guard needs of Temporal: the rescue client's start of an admitted rescue, and the machine's latest run. */
export interface RescueStarter {
  startAdmitted(input: RescueInput): Promise<{ workflowId: string; joined: boolean }>;
  latestRun(system: string): Promise<{ running: boolean; startedAt: Date } | undefined>;
}

export interface GuardOptions {
  store: GuardRepository;
  rescues: RescueStarter;
  now?: () => Date;
  /** Rescue timings for the rescues the guard starts (labs and tests shorten them). */
  rescueTimings?: Partial<RescueTimings>;
  /** Called when a deferred request is finally started or refused (the alerts' records follow it). */
  onQueueDecision?: (system: string, decision: AdmissionDecision) => Promise<void>;
  log?: (line: string) => void;
}

export interface QueuePumpResult {
  started: string[];
  refused: string[];
  waiting: number;
}

export interface Guard extends RescueAdmission {
  /** Starts the deferred rescues there is room for, in arrival order. */
  pumpQueue(): Promise<QueuePumpResult>;
  /** Frees the room of admitted rescues that Temporal no longer runs (terminated, or never started). */
  reconcileSlots(olderThanMs?: number): Promise<number>;
  /**
   * What a resolved alert does to its machine's open automatic request, decided under the guard's lock, so
   * that no admission or pump decides that request meanwhile: it ends the request (a waiting one is
   * withdrawn) only when the request was asked for by alerts and none of those alerts still fires.
   */
  resolveAlert(system: string, alert: ResolvingAlert): Promise<ResolvedAlertEffect>;
}

export interface ResolvingAlert {
  fingerprint: string;
  /**
   * The machine's alerts before it in the same delivery, not recorded yet, each as it last stood there: one
   * that fires and asked for a rescue (started, joined or deferred one) asks still; one that resolved does not,
   * whatever its records say.
   */
  earlierInDelivery: Array<{ fingerprint: string; title: string; asking: boolean }>;
  /** Why, for a withdrawn queue entry's record. */
  reason: string;
}

export type ResolvedAlertEffect =
  /** The machine has no open automatic request (an operator's rescue is not the alerts' to end). */
  | { effect: 'none' }
  /** The request stands: `because` says who still asks for it. */
  | { effect: 'kept'; because: string }
  /** Nothing asks for the request any more: a waiting one was withdrawn; an admitted one's rescue should stop before it acts. */
  | { effect: 'ended'; withdrawn: boolean; rescueAdmitted: boolean };

/**
 * How long a firing alert counts as still firing without a resolved record after it, besides every alert of the
 * open request: Alertmanager repeats a firing alert every repeat_interval (4 h by default), and a receiver
 * configured without send_resolved never says that an alert resolved.
 */
const STILL_FIRING_MS = 24 * 3600_000;
/** How far PostgreSQL's clock (a slot's admission) and Temporal's (a run's start) may disagree. */
const CLOCK_SKEW_MS = 5_000;

const START_RETRY_MS = 5_000;
const MAX_BATCH = 200;

function unknownMachine(system: string): MachineFacts {
  return { system, labels: {}, inFlightWorkflowId: null, lastAutomaticEndedAt: null, consecutiveFailures: 0, maintenance: null, recentlyBroken: false };
}

export function createGuard(options: GuardOptions): Guard {
  const { store, rescues } = options;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  let pumping: Promise<QueuePumpResult> | undefined;

  async function applyEffects(tx: Database, system: string, effects: GuardEffect[]): Promise<void> {
    for (const effect of effects) {
      if (effect.kind === 'open-incident') await store.openIncident(tx, effect);
      if (effect.kind === 'join-incident') await store.joinIncident(tx, effect.id, system);
      if (effect.kind === 'pause') await store.setPause(tx, { paused: true, by: 'guard', reason: effect.reason });
    }
  }

  const rescueInput = (system: string, source: string, reason: string): RescueInput => ({
    system,
    reason,
    requestedBy: `${AUTOMATIC_REQUESTER_PREFIX}${source}`,
    ...(options.rescueTimings ? { timings: options.rescueTimings } : {}),
  });

  // Requests that arrive while an admission runs, or while it waits for the lock, are decided together:
  // one transaction and one load of the facts for the batch, each request still decided in arrival order.
  // The batch is taken only once the lock is held, so the wait for it (another process's admission, the
  // embedded database's single connection) gathers the requests that come meanwhile instead of leaving
  // each to pay for a transaction of its own.
  type Arrival = { request: AdmissionRequest; options: AdmissionOptions; resolve: (decision: AdmissionDecision) => void; reject: (error: unknown) => void };
  const arrivals: Arrival[] = [];
  let admitting = false;

  async function admitArrivals(): Promise<void> {
    admitting = true;
    try {
      while (arrivals.length > 0) {
        let batch: Arrival[] = [];
        let taken: Awaited<ReturnType<typeof decideBatch>>;
        try {
          taken = await store.locked(async (tx) => {
            batch = arrivals.splice(0, MAX_BATCH);
            // One wait for the disk per delivery, not two: the callers' records flush this commit with theirs.
            if (batch.every((b) => b.options.flushedByCaller === true)) await store.commitWithoutFlush(tx);
            return decideBatch(tx, batch.map((b) => b.request));
          });
        } catch (error) {
          // Nothing of the batch was written (the transaction rolled back); if the lock itself could not be
          // had, the batch was never taken, and those waiting are told so here too.
          if (batch.length === 0) batch = arrivals.splice(0, MAX_BATCH);
          for (const b of batch) b.reject(error);
          continue;
        }
        // Deferred requests the plan would now start or refuse (room freed, the brake tripped) are settled
        // by the queue's pump before these requests are answered, so an answer never precedes what it implies.
        const pumped = taken.queueDue ? pumpAfterCurrent().catch((error: unknown) => log(`guard: the queue could not be looked at: ${(error as Error).message}`)) : undefined;
        // Starts go to Temporal in parallel, after the lock is released.
        batch.forEach((b, index) => {
          const committed = taken.decided[index]!;
          b.options.onCommitted?.({ decision: committed.planned.decision, reason: committed.planned.reason, workflowId: committed.workflowId });
          startAdmitted(b.request, committed).then(async (decision) => {
            await pumped;
            observeGuardDecision(b.request.source, 'intake', decision.decision);
            b.resolve(decision);
          }, b.reject);
        });
      }
    } finally {
      admitting = false;
    }
  }

  async function decideBatch(tx: Database, requests: AdmissionRequest[]) {
    const at = now();
    const names = requests.map((r) => r.system);
    const { fleet, queue, waiting, machines: facts } = await store.admissionFacts(tx, names, at);
    // Deferred requests ahead of these take their room first: arrival order.
    const candidates: AdmissionCandidate[] = queue
      .filter((q) => !names.includes(q.system))
      .map((q) => ({ system: q.system, source: q.source, reason: q.reason, machine: facts.get(q.system) ?? unknownMachine(q.system), queued: { id: q.id, enqueuedAt: q.enqueuedAt, notBefore: q.notBefore } }));
    const ahead = candidates.length;
    const known = requests.filter((r) => facts.has(r.system));
    for (const request of known) {
      const alreadyQueued = waiting.get(request.system);
      candidates.push({ system: request.system, source: request.source, reason: request.reason, machine: facts.get(request.system)!, ...(alreadyQueued ? { alreadyQueued } : {}) });
    }
    const planned = planAdmissions(fleet, candidates);
    // The deferred requests ahead are started or refused by the queue's pump, but what the plan found of the
    // fleet on their way (the brake, a group incident) holds now, for these requests' reasons say so.
    for (const [index, inQueue] of planned.slice(0, ahead).entries()) await applyEffects(tx, candidates[index]!.system, inQueue.effects);
    const plan = planned.slice(ahead);
    const decided: Array<{ planned: PlannedDecision; workflowId: string | null; groups: Record<string, string> }> = [];
    let next = 0;
    for (const request of requests) {
      const machine = facts.get(request.system);
      const planned: PlannedDecision = machine === undefined ? { decision: 'refused', reason: `no system named "${request.system}" in the inventory`, workflowId: null, effects: [] } : plan[next++]!;
      const workflowId = planned.decision === 'started' ? rescueWorkflowId(request.system) : planned.workflowId;
      decided.push({ planned, workflowId, groups: groupsOf(fleet.settings, machine?.labels ?? {}) });
    }
    // The batch's writes: the rare effects one by one, the slots and the decisions together in one statement,
    // the transaction's last (it commits in its round trip where the database allows).
    const slots: Array<{ index: number; slot: Parameters<GuardRepository['recordAdmissions']>[1][number] }> = [];
    for (const [index, request] of requests.entries()) {
      const { planned, workflowId } = decided[index]!;
      for (const effect of planned.effects) {
        if (effect.kind === 'take-slot') slots.push({ index, slot: { system: request.system, workflowId: workflowId!, source: request.source, groups: effect.groups } });
        if (effect.kind === 'enqueue') await store.enqueue(tx, { system: request.system, source: request.source, reason: request.reason, alertId: request.alertId ?? null, notBefore: effect.notBefore, lastReason: planned.reason });
      }
      await applyEffects(tx, request.system, planned.effects);
    }
    const { slotIds, logIds } = await store.recordAdmissions(
      tx,
      slots.map((s) => s.slot),
      requests.map((request, index) => ({ system: request.system, source: request.source, phase: 'intake' as const, alertId: request.alertId ?? null, groups: decided[index]!.groups, decision: decided[index]!.planned.decision, reason: decided[index]!.planned.reason, workflowId: decided[index]!.workflowId })),
    );
    const slotOf = new Map(slots.map((s, i) => [s.index, slotIds[i]!]));
    return {
      decided: decided.map((d, index) => ({ planned: d.planned, slotId: slotOf.get(index), logId: logIds[index]!, workflowId: d.workflowId })),
      // Entries a dry run would start keep waiting (pump): no pump is due for them.
      queueDue: planned.slice(0, ahead).some((p) => p.decision !== 'deferred' && p.decision !== 'dry-run'),
    };
  }

  async function startAdmitted(request: AdmissionRequest, taken: { planned: PlannedDecision; slotId: number | undefined; logId: number; workflowId: string | null }): Promise<AdmissionDecision> {
    const decision: AdmissionDecision = { decision: taken.planned.decision, reason: taken.planned.reason, workflowId: taken.workflowId };
    if (taken.planned.decision !== 'started') return decision;
    try {
      const started = await rescues.startAdmitted(rescueInput(request.system, request.source, request.reason));
      if (started.joined) {
        const joined: AdmissionDecision = { decision: 'joined', reason: `a rescue of ${request.system} was already running (${started.workflowId}); this request joins it`, workflowId: started.workflowId };
        // Not an automatic rescue (an operator's started meanwhile): its end must not count as one's, nor start a cooldown.
        await store.dropSlot(taken.slotId!);
        await store.amendDecision(taken.logId, joined);
        return joined;
      }
      return decision;
    } catch (error) {
      // The room was reserved but Temporal did not take the start: give it back and queue the request where it
      // arrived, as the queue's own retries keep their entry (store.requeue), not behind later arrivals.
      const reason = `Temporal did not accept the start (${(error as Error).message}); queued, it starts when Temporal answers`;
      await store.requeueRefusedStart(taken.slotId!, { system: request.system, source: request.source, reason: request.reason, alertId: request.alertId ?? null, notBefore: new Date(Date.now() + START_RETRY_MS), lastReason: reason });
      const deferred: AdmissionDecision = { decision: 'deferred', reason, workflowId: null };
      await store.amendDecision(taken.logId, deferred);
      log(`guard: ${request.system}: ${reason}`);
      return deferred;
    }
  }

  /** A pump that starts after the one running now, if any, so it sees what was just committed. */
  function pumpAfterCurrent(): Promise<QueuePumpResult> {
    return (pumping ?? Promise.resolve()).catch(() => undefined).then(() => guardPump());
  }
  function guardPump(): Promise<QueuePumpResult> {
    pumping ??= pump().finally(() => {
      pumping = undefined;
    });
    return pumping;
  }

  return {
    admit(request: AdmissionRequest, options: AdmissionOptions = {}): Promise<AdmissionDecision> {
      return new Promise<AdmissionDecision>((resolve, reject) => {
        arrivals.push({ request, options, resolve, reject });
        if (arrivals.length === 1 && !admitting) void admitArrivals();
      });
    },

    pumpQueue: guardPump,

    async reconcileSlots(olderThanMs = 60_000) {
      let released = 0;
      for (const slot of await store.openSlots(new Date(Date.now() - olderThanMs))) {
        const run = await rescues.latestRun(slot.system);
        if (run?.running === true) continue;
        released += 1;
        // Temporal's latest run of the machine began before this slot was admitted (or it has none): the
        // admitted start never reached Temporal (the API stopped between its commit and the start). Not a
        // rescue: no cooldown, no start counted; the request goes back to the queue while its alerts fire.
        if (run === undefined || run.startedAt.getTime() < slot.admittedAt.getTime() - CLOCK_SKEW_MS) {
          const requeued = await store.locked(async (tx) => {
            await store.deleteSlot(tx, slot.id);
            const stillAsking = slot.source === 'audit' || (await store.alertsStillAsking(tx, slot.system, { except: [], since: new Date(slot.admittedAt.getTime() - STILL_FIRING_MS) })).length > 0;
            if (stillAsking) await store.enqueueUnlessWaiting(tx, { system: slot.system, source: slot.source, reason: 'admitted, but its start never reached Temporal', alertId: null, notBefore: now(), enqueuedAt: slot.admittedAt, lastReason: `${slot.workflowId} was admitted at ${slot.admittedAt.toISOString()} but never started; queued again` });
            return stillAsking;
          });
          log(`guard: ${slot.workflowId} was admitted but never started in Temporal; its room is free${requeued ? ' and its request is queued again' : ''}`);
          continue;
        }
        await store.releaseSlots(slot.workflowId);
        log(`guard: ${slot.workflowId} no longer runs in Temporal; its room is free`);
      }
      return released;
    },

    resolveAlert(system, alert) {
      return store.locked(async (tx): Promise<ResolvedAlertEffect> => {
        const request = await store.openRequest(tx, system);
        if (request === undefined) return { effect: 'none' };
        if (request.source === 'audit') return { effect: 'kept', because: 'a fleet audit asked for it' };
        const since = new Date(Math.min(request.since.getTime(), now().getTime() - STILL_FIRING_MS));
        const others = alert.earlierInDelivery.filter((other) => other.asking && other.fingerprint !== alert.fingerprint).map((other) => other.title);
        if (others.length === 0) {
          const except = [alert.fingerprint, ...alert.earlierInDelivery.map((other) => other.fingerprint)];
          for (const asking of await store.alertsStillAsking(tx, system, { except, since })) others.push(`${asking.name ?? 'alert'} ${asking.fingerprint}`);
        }
        if (others.length > 0) return { effect: 'kept', because: `still asked for by the firing ${others.join(', ')}` };
        if (request.waitingId !== null) await store.withdrawWaiting(tx, request.waitingId, alert.reason);
        return { effect: 'ended', withdrawn: request.waitingId !== null, rescueAdmitted: request.slotOpen };
      });
    },
  };

  async function pump(): Promise<QueuePumpResult> {
    const at = now();
    const outcome = await store.locked(async (tx) => {
      const queue = await store.readyQueue(tx, at);
      if (queue.length === 0) return { starts: [] as Array<{ entry: QueueEntry; slotId: number; logId: number }>, refused: [] as string[], waiting: 0, settled: [] as Array<{ system: string; decision: AdmissionDecision }> };
      const { fleet, machines: facts } = await store.admissionFacts(tx, [], at);
      const candidates: AdmissionCandidate[] = queue.map((q) => ({ system: q.system, source: q.source, reason: q.reason, machine: facts.get(q.system) ?? unknownMachine(q.system), queued: { id: q.id, enqueuedAt: q.enqueuedAt, notBefore: q.notBefore } }));
      const plan = planAdmissions(fleet, candidates);
      const starts: Array<{ entry: QueueEntry; slotId: number; logId: number }> = [];
      const refused: string[] = [];
      const settled: Array<{ system: string; decision: AdmissionDecision }> = [];
      let waiting = 0;
      for (const [index, planned] of plan.entries()) {
        const entry = queue[index]!;
        const groups = groupsOf(fleet.settings, facts.get(entry.system)?.labels ?? {});
        // A dry run settles nothing: what waits keeps waiting, noted with what would have happened to it, and
        // is decided for real once the dry run is turned off (nothing exceeding a cap is ever lost).
        if (planned.decision === 'deferred' || planned.decision === 'dry-run') {
          waiting += 1;
          await store.noteQueueEntry(tx, entry.id, planned.reason);
          continue;
        }
        const workflowId = planned.decision === 'started' ? rescueWorkflowId(entry.system) : planned.workflowId;
        await applyEffects(tx, entry.system, planned.effects);
        const logId = await store.logDecision(tx, { system: entry.system, source: entry.source, phase: 'queue', alertId: entry.alertId, groups, decision: planned.decision, reason: planned.reason, workflowId });
        const state = planned.decision === 'started' ? 'started' : planned.decision === 'joined' ? 'joined' : 'refused';
        await store.settleQueueEntry(tx, entry.id, { state, reason: planned.reason, workflowId });
        if (planned.decision === 'started') {
          const slotId = await store.takeSlot(tx, { system: entry.system, workflowId: workflowId!, source: entry.source, groups });
          starts.push({ entry, slotId, logId });
        } else {
          observeGuardDecision(entry.source, 'queue', planned.decision);
          if (planned.decision !== 'joined') refused.push(entry.system);
          settled.push({ system: entry.system, decision: { decision: planned.decision, reason: planned.reason, workflowId } });
        }
      }
      return { starts, refused, waiting, settled };
    });
    const started: string[] = [];
    for (const { entry, slotId, logId } of outcome.starts) {
      try {
        const result = await rescues.startAdmitted(rescueInput(entry.system, entry.source, entry.reason));
        // Joined an operator's rescue that started meanwhile: not an automatic one (see startAdmitted).
        if (result.joined) await store.dropSlot(slotId);
        started.push(entry.system);
        observeGuardDecision(entry.source, 'queue', result.joined ? 'joined' : 'started');
        outcome.settled.push({ system: entry.system, decision: { decision: result.joined ? 'joined' : 'started', reason: `started after waiting since ${entry.enqueuedAt}`, workflowId: result.workflowId } });
      } catch (error) {
        const reason = `Temporal did not accept the start (${(error as Error).message}); still queued`;
        await store.dropSlot(slotId);
        await store.requeue(entry.id, reason, new Date(Date.now() + START_RETRY_MS));
        await store.amendDecision(logId, { decision: 'deferred', reason, workflowId: null });
        log(`guard: ${entry.system}: ${reason}`);
      }
    }
    for (const { system, decision } of outcome.settled) await options.onQueueDecision?.(system, decision);
    return { started, refused: outcome.refused, waiting: outcome.waiting };
  }
}
