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
  automaticStartsLastHour: number;
  /** Machines reported broken (firing requests) within the correlation window: how many, and those with groups. */
  recentlyBroken: { count: number; grouped: Array<{ system: string; groups: Record<string, string> }> };
  /** Open incidents by "label=value". */
  openIncidents: Map<string, { id: number; systems: string[] }>;
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

/** Decides every candidate in order; each admitted one takes its room before the next is looked at. */
export function planAdmissions(facts: FleetFacts, candidates: AdmissionCandidate[]): PlannedDecision[] {
  const { settings, now } = facts;
  let inFlightCount = facts.inFlight.count;
  const inFlightGrouped = [...facts.inFlight.grouped];
  /** Systems this plan started. */
  const startedHere = new Set<string>();
  let startsLastHour = facts.automaticStartsLastHour;
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
    if (!candidate.queued) {
      if (!machine.recentlyBroken && !brokenHere.has(candidate.system)) brokenCount += 1;
      brokenHere.add(candidate.system);
      if (Object.keys(groups).length > 0) brokenGroups.set(candidate.system, groups);
      else brokenGroups.delete(candidate.system);
    }
    const decided = decideOne();
    results.push(decided);
    if (decided.decision === 'started') {
      inFlightCount += 1;
      startedHere.add(candidate.system);
      if (Object.keys(groups).length > 0) inFlightGrouped.push({ system: candidate.system, labels: machine.labels });
      startsLastHour += 1;
    }
    for (const effect of decided.effects) {
      if (effect.kind === 'enqueue') enqueuedHere.set(candidate.system, now.toISOString());
      if (effect.kind === 'open-incident') incidents.set(`${effect.label}=${effect.value}`, { id: -1, systems: effect.systems });
      if (effect.kind === 'pause') pause = { paused: true, by: 'guard', reason: effect.reason, at: now.toISOString() };
    }

    function decideOne(): PlannedDecision {
      const running = machine.inFlightWorkflowId ?? (startedHere.has(candidate.system) ? `rescue-${candidate.system}` : null);
      if (running !== null) return { decision: 'joined', reason: `a rescue of ${candidate.system} is already in flight (${running}); this request joins it`, workflowId: running, effects: [] };
      const waitingSince = candidate.alreadyQueued?.enqueuedAt ?? (candidate.queued ? undefined : enqueuedHere.get(candidate.system));
      if (waitingSince !== undefined) {
        return { decision: 'deferred', reason: `${candidate.system} already waits in the queue (since ${waitingSince}); this request joins that entry`, workflowId: null, effects: [] };
      }
      const verdict = judge();
      if (!settings.dryRun) return verdict;
      const would = verdict.decision === 'started' ? 'started a rescue' : verdict.decision === 'deferred' ? 'deferred it' : 'refused it';
      return { decision: 'dry-run', reason: `dry run: would have ${would}: ${verdict.reason}`, workflowId: null, effects: [] };
    }

    function judge(): PlannedDecision {
      const refuse = (reason: string, effects: GuardEffect[] = []): PlannedDecision => ({ decision: 'refused', reason, workflowId: null, effects });
      const defer = (reason: string, notBefore = now): PlannedDecision => ({ decision: 'deferred', reason, workflowId: null, effects: candidate.queued ? [] : [{ kind: 'enqueue', notBefore }] });

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
          return defer(`held ${formatDuration(settings.correlationHoldMs)} before any power cycle, to see whether more machines of ${where} break (correlated failures)`, new Date(release));
        }
      }
      if (inFlightCount >= settings.maxInFlight) return defer(`${inFlightCount} rescue(s) in flight, the fleet-wide cap is ${settings.maxInFlight}; starts when one ends`);
      for (const [label, value] of Object.entries(groups)) {
        const cap = settings.maxPerGroup[label]!;
        const same = inFlightGrouped.filter((f) => f.labels[label] === value).length;
        if (same >= cap) return defer(`${same} rescue(s) in flight in ${label}=${value}, the cap per ${label} is ${cap}; starts when one ends`);
      }
      if (startsLastHour >= settings.maxCyclesPerHour) return defer(`${startsLastHour} automatic rescue(s) (power cycles) started in the last hour, the limit is ${settings.maxCyclesPerHour}`);
      const via = candidate.queued ? ` after waiting since ${candidate.queued.enqueuedAt}` : '';
      return { decision: 'started', reason: `started${via}: ${inFlightCount + 1} of ${settings.maxInFlight} rescue(s) in flight`, workflowId: null, effects: [{ kind: 'take-slot', groups }] };
    }
  }
  return results;
}
