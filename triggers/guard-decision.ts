// The guard's decision as a pure function of what the database says now and of the requests in arrival
// order: deferred ones first, then the new one. Nothing here reads a clock or a database; the store
// (db/repositories/guard.ts) loads the facts under a lock and applies the effects.
import type { AdmissionDecisionKind, AdmissionSource } from './admission.js';
import { formatDuration } from './durations.js';
import type { GuardPause, GuardSettings } from './guard-settings.js';

export interface MaintenanceWindowFact {
  id: number;
  endsAt: string;
  reason: string;
  /** "system web01" or "label rack=r1". */
  scope: string;
}

export interface MachineFacts {
  system: string;
  labels: Record<string, string>;
  /** The workflow of a rescue of this machine in flight (automatic or an operator's), if any. */
  inFlightWorkflowId: string | null;
  /** When the last automatic rescue of this machine ended. */
  lastAutomaticEndedAt: string | null;
  /** Failed automatic rescues in a row, newest first, since the last success or operator rescue. */
  consecutiveFailures: number;
  maintenance: MaintenanceWindowFact | null;
  /** Already among the machines reported broken within the correlation window (counted there once). */
  recentlyBroken: boolean;
}

export interface FleetFacts {
  now: Date;
  settings: GuardSettings;
  pause: GuardPause;
  fleetSize: number;
  /**
   * Machines with a rescue in flight: how many, and those of them with a group label, with their labels (for
   * per-group caps). A count, not a list, for the fleet: a storm's thousands of rescues cost nothing per batch.
   */
  inFlight: { count: number; grouped: Array<{ system: string; labels: Record<string, string> }> };
  /**
   * Power operations that powered a machine up or restarted it (on, cycle, reset), made by automatic rescues in
   * the last hour (`made`), and automatic rescues admitted in the last hour that have made none yet (`reserved`:
   * their first cycle is counted before it happens, so a burst of admissions cannot overshoot the limit).
   */
  powerCyclesLastHour: PowerCycleCount;
  /** Machines reported broken (firing requests) within the correlation window: how many, and those with groups. */
  recentlyBroken: { count: number; grouped: Array<{ system: string; groups: Record<string, string> }> };
  /** Open incidents by "label=value". */
  openIncidents: Map<string, { id: number; systems: string[] }>;
}

export interface PowerCycleCount {
  made: number;
  reserved: number;
}

export interface AdmissionCandidate {
  system: string;
  source: AdmissionSource;
  reason: string;
  machine: MachineFacts;
  /** Set when this is a deferred request waiting in the queue. */
  queued?: { id: number; enqueuedAt: string; notBefore: string };
  /** Set for a new request of a system that already waits in the queue. */
  alreadyQueued?: { id: number; enqueuedAt: string };
}

export type GuardEffect =
  | { kind: 'take-slot'; groups: Record<string, string> }
  | { kind: 'enqueue'; notBefore: Date }
  | { kind: 'open-incident'; label: string; value: string; systems: string[]; reason: string }
  | { kind: 'join-incident'; id: number; system: string }
  | { kind: 'pause'; reason: string };

export interface PlannedDecision {
  decision: AdmissionDecisionKind;
  reason: string;
  /** For 'joined': the running rescue's workflow. */
  workflowId: string | null;
  effects: GuardEffect[];
}

/** The system's values of the group labels ({ rack: "r1" }), the keys of maxPerGroup. */
export function groupsOf(settings: GuardSettings, labels: Record<string, string>): Record<string, string> {
  const groups: Record<string, string> = {};
  for (const label of Object.keys(settings.maxPerGroup)) if (labels[label] !== undefined && labels[label] !== '') groups[label] = labels[label]!;
  return groups;
}

const at = (iso: string) => new Date(iso).getTime();

/** A decision as it would be without a dry run; `held`: a dry run's correlation hold that would have come first. */
type Verdict = PlannedDecision & { held?: string };

/** Why a start waits for the hourly limit of power cycles. */
function powerCycleLimitReason(cycles: PowerCycleCount, limit: number): string {
  return `${cycles.made + cycles.reserved} power cycle(s) by automatic rescues in the last hour (${cycles.reserved} of them reserved by rescues admitted that have not cycled), the limit is ${limit}; starts as the hour slides past them`;
}

/** Decides every candidate in order; each admitted one takes its room before the next is looked at. */
export function planAdmissions(facts: FleetFacts, candidates: AdmissionCandidate[]): PlannedDecision[] {
  const { settings, now } = facts;
  let inFlightCount = facts.inFlight.count;
  const inFlightGrouped = [...facts.inFlight.grouped];
  /** Systems this plan started. */
  const startedHere = new Set<string>();
  const cycles = { ...facts.powerCyclesLastHour };
  let brokenCount = facts.recentlyBroken.count;
  const brokenGroups = new Map<string, Record<string, string>>(facts.recentlyBroken.grouped.map((b) => [b.system, b.groups]));
  /** Systems this plan counted as broken (a second request of one is not a second broken machine). */
  const brokenHere = new Set<string>();
  /** Systems this plan put in the queue: a later request of the same system joins that entry. */
  const enqueuedHere = new Map<string, string>();
  const incidents = new Map(facts.openIncidents);
  let pause = facts.pause;
  const results: PlannedDecision[] = [];

  for (const candidate of candidates) {
    const { machine } = candidate;
    const groups = groupsOf(settings, machine.labels);
    // What counts as a broken machine for the brake and the correlated-failure check: every new request, whatever
    // it is decided, except one of a machine in a maintenance window. A machine that alerts while automation is
    // paused, in its cooldown, after failed rescues or in a group incident is still broken (the pause or the
    // limits only keep automation's hands off it; a blind monitoring that pages during a pause must still trip
    // the brake), but one under planned maintenance alerts because of that work: counting it would let a rack's
    // planned power work pause automation for the whole fleet at the next real failure. The database counts
    // the same way (guard_note_broken_machine, migration 0007).
    if (!candidate.queued && machine.maintenance === null) {
      if (!machine.recentlyBroken && !brokenHere.has(candidate.system)) brokenCount += 1;
      brokenHere.add(candidate.system);
      if (Object.keys(groups).length > 0) brokenGroups.set(candidate.system, groups);
      else brokenGroups.delete(candidate.system);
    }
    const { decided, verdict } = decideOne();
    results.push(decided);
    // The room, queue entries, incidents and pause of what was decided, or in a dry run of what would have been:
    // the rest of the batch is decided against them (in a dry run nothing of it is written: `decided` has no effects).
    if (verdict.decision === 'started') {
      inFlightCount += 1;
      startedHere.add(candidate.system);
      if (Object.keys(groups).length > 0) inFlightGrouped.push({ system: candidate.system, labels: machine.labels });
      // Its first power cycle is still to come: reserved, so the rest of the batch counts it.
      cycles.reserved += 1;
    }
    for (const effect of verdict.effects) {
      if (effect.kind === 'enqueue') enqueuedHere.set(candidate.system, now.toISOString());
      if (effect.kind === 'open-incident') incidents.set(`${effect.label}=${effect.value}`, { id: -1, systems: effect.systems });
      if (effect.kind === 'pause') pause = { paused: true, by: 'guard', reason: effect.reason, at: now.toISOString() };
    }

    /** The decision, and what it would be without a dry run (the same when there is none). */
    function decideOne(): { decided: PlannedDecision; verdict: PlannedDecision } {
      // A rescue really in flight, or an entry really waiting in the queue: joined, dry run or not (nothing is touched).
      if (machine.inFlightWorkflowId !== null) {
        const joined: PlannedDecision = { decision: 'joined', reason: `a rescue of ${candidate.system} is already in flight (${machine.inFlightWorkflowId}); this request joins it`, workflowId: machine.inFlightWorkflowId, effects: [] };
        return { decided: joined, verdict: joined };
      }
      if (candidate.alreadyQueued !== undefined) {
        const waiting: PlannedDecision = { decision: 'deferred', reason: `${candidate.system} already waits in the queue (since ${candidate.alreadyQueued.enqueuedAt}); this request joins that entry`, workflowId: null, effects: [] };
        return { decided: waiting, verdict: waiting };
      }
      const verdict = decideHere();
      if (!settings.dryRun) return { decided: verdict, verdict };
      const would = verdict.decision === 'started' ? 'started a rescue' : verdict.decision === 'deferred' ? 'deferred it' : verdict.decision === 'joined' ? 'joined it to the rescue it would have started' : 'refused it';
      const held = verdict.held === undefined ? '' : `${verdict.held}; then `;
      return { decided: { decision: 'dry-run', reason: `dry run: would have ${would}: ${held}${verdict.reason}`, workflowId: null, effects: [] }, verdict };
    }

    /** Decided against this batch's own starts and queue entries (in a dry run, those it would have made). */
    function decideHere(): Verdict {
      if (startedHere.has(candidate.system)) {
        const running = `rescue-${candidate.system}`;
        return { decision: 'joined', reason: `a rescue of ${candidate.system} is already in flight (${running}); this request joins it`, workflowId: running, effects: [] };
      }
      const waitingSince = candidate.queued ? undefined : enqueuedHere.get(candidate.system);
      if (waitingSince !== undefined) {
        return { decision: 'deferred', reason: `${candidate.system} already waits in the queue (since ${waitingSince}); this request joins that entry`, workflowId: null, effects: [] };
      }
      return judge();
    }

    function judge(): Verdict {
      const refuse = (reason: string, effects: GuardEffect[] = []): Verdict => ({ decision: 'refused', reason, workflowId: null, effects });
      /** Set in a dry run when the correlation hold would have deferred the request first. */
      let held: string | undefined;
      const defer = (reason: string, notBefore = now): Verdict => ({ decision: 'deferred', reason, workflowId: null, effects: candidate.queued ? [] : [{ kind: 'enqueue', notBefore }], ...(held === undefined ? {} : { held }) });

      if (pause.paused) return refuse(`automation is paused${pause.by ? ` by ${pause.by}` : ''}${pause.at ? ` since ${pause.at}` : ''}: ${pause.reason ?? 'no reason given'} (rescuectl automation resume)`);
      if (machine.maintenance) return refuse(`${candidate.system} is in maintenance window #${machine.maintenance.id} (${machine.maintenance.scope}) until ${machine.maintenance.endsAt}: ${machine.maintenance.reason}`);
      if (machine.consecutiveFailures >= settings.maxFailures) {
        return refuse(`the last ${machine.consecutiveFailures} automatic rescue(s) of ${candidate.system} failed (limit ${settings.maxFailures}); no automatic rescue until an operator rescues it (rescuectl rescue start ${candidate.system} --force)`);
      }
      if (machine.lastAutomaticEndedAt !== null && settings.cooldownMs > 0) {
        const until = at(machine.lastAutomaticEndedAt) + settings.cooldownMs;
        if (until > now.getTime()) return refuse(`cooldown: an automatic rescue of ${candidate.system} ended at ${machine.lastAutomaticEndedAt}; the next may start after ${new Date(until).toISOString()} (cooldown ${formatDuration(settings.cooldownMs)})`);
      }
      for (const [label, value] of Object.entries(groups)) {
        const key = `${label}=${value}`;
        const incident = incidents.get(key);
        if (incident) {
          const effects: GuardEffect[] = incident.id > 0 && !incident.systems.includes(candidate.system) ? [{ kind: 'join-incident', id: incident.id, system: candidate.system }] : [];
          if (incident.id <= 0 && !incident.systems.includes(candidate.system)) incident.systems.push(candidate.system);
          return refuse(`group incident${incident.id > 0 ? ` #${incident.id}` : ''} is open for ${key}: several of its machines broke together (an upstream switch or PDU?); none is power-cycled until an operator closes it (rescuectl automation incidents)`, effects);
        }
        const together = [...brokenGroups].filter(([, g]) => g[label] === value).map(([system]) => system);
        if (together.length >= settings.correlationMachines) {
          const reason = `${together.length} machines of ${key} broke within ${formatDuration(settings.correlationWindowMs)} (${together.sort().join(', ')}): a correlated failure, not ${together.length} broken machines; none is power-cycled`;
          return refuse(reason, [{ kind: 'open-incident', label, value, systems: together, reason }]);
        }
      }
      if (facts.fleetSize > 0 && brokenCount >= settings.brakeMinMachines && brokenCount > settings.brakeShare * facts.fleetSize) {
        const reason = `blind-monitoring brake: ${brokenCount} of ${facts.fleetSize} machines (${Math.round((100 * brokenCount) / facts.fleetSize)}%) reported broken within ${formatDuration(settings.correlationWindowMs)}, more than ${Math.round(settings.brakeShare * 100)}%; the monitoring is more likely wrong than the fleet`;
        return refuse(reason, [{ kind: 'pause', reason }]);
      }
      if (Object.keys(groups).length > 0 && settings.correlationHoldMs > 0) {
        const since = candidate.queued ? at(candidate.queued.enqueuedAt) : now.getTime();
        const release = since + settings.correlationHoldMs;
        if (release > now.getTime()) {
          const where = Object.entries(groups).map(([l, v]) => `${l}=${v}`).join(', ');
          const reason = `held ${formatDuration(settings.correlationHoldMs)} before any power cycle, to see whether more machines of ${where} break (correlated failures)`;
          if (!settings.dryRun) return defer(reason, new Date(release));
          // A dry run queues nothing, so the hold would never end: it says what the caps would decide once the hold
          // is over, as things stand now, and a start it would make takes its room for the rest of the batch.
          held = reason;
        }
      }
      if (inFlightCount >= settings.maxInFlight) return defer(`${inFlightCount} rescue(s) in flight, the fleet-wide cap is ${settings.maxInFlight}; starts when one ends`);
      for (const [label, value] of Object.entries(groups)) {
        const cap = settings.maxPerGroup[label]!;
        const same = inFlightGrouped.filter((f) => f.labels[label] === value).length;
        if (same >= cap) return defer(`${same} rescue(s) in flight in ${label}=${value}, the cap per ${label} is ${cap}; starts when one ends`);
      }
      if (cycles.made + cycles.reserved >= settings.maxCyclesPerHour) return defer(powerCycleLimitReason(cycles, settings.maxCyclesPerHour));
      const via = candidate.queued ? ` after waiting since ${candidate.queued.enqueuedAt}` : '';
      return { decision: 'started', reason: `started${via}: ${inFlightCount + 1} of ${settings.maxInFlight} rescue(s) in flight`, workflowId: null, effects: [{ kind: 'take-slot', groups }], ...(held === undefined ? {} : { held }) };
    }
  }
  return results;
}
