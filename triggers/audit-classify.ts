// A fleet audit's verdict on one machine, from what the audit saw of it: healthy, suspect or broken, with
// the reason in words. Pure: the probes (triggers/audit-probe.ts) gather the observation, this decides.
//
// The rules, in order (the first that applies gives the verdict):
//   - a rescue of the machine is open                        -> suspect (its rescue is handling it)
//   - an install is in progress, started less than the stall threshold ago (RESCUED_INSTALL_STALL_MINUTES,
//     as boot/install-status.ts calls it stalled)            -> suspect (the OS is expected to be away);
//     an install in progress for longer is stalled: it shields nothing, the rules below decide, and the
//     reason names the stalled install
//   - rescued.expected-power is neither on nor off           -> suspect (what to expect is unknown)
//   - no BMC configured                                      -> suspect (nothing can check or cycle it)
//   - the BMC does not answer (auth, unreachable, timeout)   -> suspect, never healthy: we cannot see the
//                                                               power, and cannot cycle it either
//   - BMC says off, the machine is expected on               -> broken
//   - BMC says off, expected off                             -> healthy
//   - BMC says on, the OS check does not answer              -> broken
//   - the OS check is misconfigured                          -> suspect
//   - the BMC's event log has critical entries, or could not be read although the driver reads it
//                                                            -> suspect (the machine runs; someone should look)
//   - otherwise                                              -> healthy
// A machine whose power was read from a fallback BMC after an earlier BMC of its chain failed is never
// healthy: at best suspect, with the failed BMC named (broken stays broken, the failure named too).
import type { BmcErrorKind } from '../power/errors.js';

export type AuditClassification = 'healthy' | 'suspect' | 'broken';
export const AUDIT_CLASSIFICATIONS: readonly AuditClassification[] = ['healthy', 'suspect', 'broken'];

/** Labels that tune the audit of one machine (documented in the README). */
export const AUDIT_LABELS = {
  /** `on` (default) or `off`: the power state the machine should be in. A spare that is off is healthy. */
  expectedPower: 'rescued.expected-power',
} as const;

/** A BMC of the chain that failed before another one answered. */
export interface FailedBmcAttempt {
  driver: string;
  endpoint: string;
  kind: BmcErrorKind;
  message: string;
}

/** What the BMC said about power. `failedBefore`: BMCs earlier in the chain that failed before `driver` answered. */
export type BmcObservation =
  | { state: 'none' }
  | { state: 'answered'; power: 'on' | 'off'; driver: string; failedBefore?: FailedBmcAttempt[] }
  | { state: 'failed'; kind: BmcErrorKind; message: string };

/** One event log entry the audit found worth naming. */
export interface NotableEvent {
  id: string;
  timestamp: string | null;
  sensor: string;
  event: string;
}

/** The BMC's system event log. `not-read`: no driver of this machine reads one, or the BMC did not answer. */
export type EventLogObservation =
  | { state: 'not-read'; detail: string }
  | { state: 'read'; entries: number; critical: NotableEvent[] }
  | { state: 'failed'; kind: BmcErrorKind; message: string };

/** Whether the installed OS answers: rescue/os-check.ts's check (SSH on the system's IP, or the rescued.verify label). */
export type OsObservation =
  | { check: 'tcp' | 'ssh'; target: string; answered: boolean; detail: string }
  /** Nothing to check: rescued.verify=none, or no IP and no label. */
  | { check: 'none'; detail: string }
  | { check: 'invalid'; detail: string };

export interface AuditObservation {
  system: string;
  /** From the label rescued.expected-power; null when the label holds something else (then suspect). */
  expectedPower: 'on' | 'off' | null;
  bmc: BmcObservation;
  eventLog: EventLogObservation;
  os: OsObservation;
  /** The machine's last install (install history), if any. */
  lastInstall: { outcome: string; startedAt: string; finishedAt: string | null } | null;
  /** The last time a rescue environment of this machine phoned home. */
  lastPhoneHome: string | null;
  /** The rescue of this machine that is open now, if any. */
  openRescue: { workflowId: string; state: string; startedAt: string } | null;
}

/** When an install still in progress counts as stalled: boot/install-status.ts's default (RESCUED_INSTALL_STALL_MINUTES). */
export const DEFAULT_INSTALL_STALL_MS = 30 * 60_000;

export interface AuditClassifyOptions {
  /** The time of the probe (ms since the epoch); default now. */
  now?: number;
  /** An install in progress for longer than this is stalled; default DEFAULT_INSTALL_STALL_MS. */
  installStallMs?: number;
}

export interface AuditVerdict {
  classification: AuditClassification;
  reason: string;
}

const BMC_DOES_NOT_ANSWER: Partial<Record<BmcErrorKind, string>> = {
  auth: 'the BMC refused the credentials',
  unreachable: 'the BMC does not answer',
  timeout: 'the BMC did not answer in time',
  tls: "the BMC's TLS certificate is not trusted",
  'invalid-config': "the BMC's settings in the inventory are wrong",
  unsupported: 'no driver can read the power state of this BMC',
};

function osNote(os: OsObservation): string {
  if (os.check === 'tcp' || os.check === 'ssh') return os.answered ? `; the OS answers on ${os.target}` : `; the OS does not answer on ${os.target}`;
  return '';
}

export function classifyAudit(observation: AuditObservation, options: AuditClassifyOptions = {}): AuditVerdict {
  if (observation.openRescue) {
    return { classification: 'suspect', reason: `a rescue is open (${observation.openRescue.workflowId}, ${observation.openRescue.state} since ${observation.openRescue.startedAt})` };
  }
  let stalledInstall: string | null = null;
  const install = observation.lastInstall;
  if (install && install.outcome === 'in-progress') {
    const stallMs = options.installStallMs ?? DEFAULT_INSTALL_STALL_MS;
    const started = Date.parse(install.startedAt);
    // An unreadable start time cannot be judged stalled: the install keeps shielding, as before.
    if (!(Number.isFinite(started) && (options.now ?? Date.now()) - started > stallMs)) {
      return { classification: 'suspect', reason: `an install is in progress since ${install.startedAt}` };
    }
    stalledInstall = `an install in progress since ${install.startedAt} has stalled (not finished after more than ${formatMinutes(stallMs)})`;
  }
  let verdict = classifyHealth(observation);
  const bmc = observation.bmc;
  if (bmc.state === 'answered' && bmc.failedBefore !== undefined && bmc.failedBefore.length > 0) {
    const failures = bmc.failedBefore.map((f) => `${f.driver} at ${f.endpoint} failed (${f.kind}: ${f.message})`).join('; ');
    const note = `the primary BMC failed and the power was read through a fallback (${bmc.driver}): ${failures}`;
    verdict = verdict.classification === 'healthy' ? { classification: 'suspect', reason: `${note}; otherwise ${verdict.reason}` } : { ...verdict, reason: `${verdict.reason}; ${note}` };
  }
  return stalledInstall === null ? verdict : { ...verdict, reason: `${stalledInstall}; ${verdict.reason}` };
}

function formatMinutes(ms: number): string {
  const minutes = ms / 60_000;
  return minutes >= 1 && Number.isInteger(minutes) ? `${minutes} min` : `${Math.round(ms / 1000)} s`;
}

/** The rules after the open rescue and the install: what the BMC, the OS and the event log say. */
function classifyHealth(observation: AuditObservation): AuditVerdict {
  const { bmc, os, eventLog } = observation;
  if (observation.expectedPower === null) {
    return { classification: 'suspect', reason: `the label ${AUDIT_LABELS.expectedPower} is neither on nor off: the power the machine should be in is unknown` };
  }
  if (bmc.state === 'none') {
    return { classification: 'suspect', reason: `no BMC is configured: power and health cannot be checked${osNote(os)}` };
  }
  if (bmc.state === 'failed') {
    const what = BMC_DOES_NOT_ANSWER[bmc.kind] ?? `the power state could not be read (${bmc.kind})`;
    return { classification: 'suspect', reason: `${what}: ${bmc.message}${osNote(os)}` };
  }
  if (bmc.power === 'off') {
    return observation.expectedPower === 'on'
      ? { classification: 'broken', reason: `the BMC reports power off; the machine is expected on (label ${AUDIT_LABELS.expectedPower}=off for a spare)` }
      : { classification: 'healthy', reason: `power off, as expected (${AUDIT_LABELS.expectedPower}=off)` };
  }
  if (observation.expectedPower === 'off') {
    return { classification: 'suspect', reason: `the BMC reports power on; the machine is expected off (${AUDIT_LABELS.expectedPower}=off)${osNote(os)}` };
  }
  if ((os.check === 'tcp' || os.check === 'ssh') && !os.answered) {
    return { classification: 'broken', reason: `the BMC reports power on but the OS does not answer on ${os.target} (${os.detail})` };
  }
  if (os.check === 'invalid') {
    return { classification: 'suspect', reason: `power on; the OS check is misconfigured: ${os.detail}` };
  }
  const osPart = os.check === 'tcp' || os.check === 'ssh' ? `the OS answers on ${os.target}` : os.detail;
  if (eventLog.state === 'read' && eventLog.critical.length > 0) {
    const latest = eventLog.critical[eventLog.critical.length - 1]!;
    return {
      classification: 'suspect',
      reason: `power on, ${osPart}; the BMC's event log has ${eventLog.critical.length} critical ${eventLog.critical.length === 1 ? 'entry' : 'entries'} (latest: ${latest.sensor}: ${latest.event}${latest.timestamp ? ` at ${latest.timestamp}` : ''})`,
    };
  }
  if (eventLog.state === 'failed') {
    return { classification: 'suspect', reason: `power on, ${osPart}; the BMC's event log could not be read (${eventLog.kind}: ${eventLog.message})` };
  }
  return { classification: 'healthy', reason: `power on, ${osPart}${eventLog.state === 'read' ? `; event log: ${eventLog.entries} entries, none critical` : ''}` };
}

// IPMI event texts (ipmitool's `sel elist` wording, from the IPMI 2.0 spec's generic and sensor-specific
// event tables) that say something is wrong now, not merely noted: threshold crossings into critical or
// non-recoverable, uncorrectable memory errors, failures, faults, lost redundancy, and power lost.
const CRITICAL_IPMI_EVENT = /(?<!non-)critical|non-recoverable|uncorrectable|failure|failed|fault|redundancy lost|power lost|ac lost|predictive/i;

/**
 * The entries of a system event log that make a machine suspect: Redfish entries of severity Critical, and
 * IPMI entries asserting one of the events above. Deasserted entries (the condition went away) do not count,
 * nor do Warning/OK entries or merely correctable errors.
 */
export function criticalEvents(entries: ReadonlyArray<{ id: string; timestamp: string | null; sensor: string; event: string; state: string | null }>): NotableEvent[] {
  return entries
    .filter((entry) => {
      const state = entry.state?.toLowerCase() ?? null;
      if (state === 'critical') return true;
      if (state === 'ok' || state === 'warning' || state === 'deasserted') return false;
      return CRITICAL_IPMI_EVENT.test(entry.event) && !/^correctable/i.test(entry.event.trim());
    })
    .map(({ id, timestamp, sensor, event }) => ({ id, timestamp, sensor, event }));
}

/** The power state the machine should be in, from its labels: on unless said; null when the label is neither. */
export function expectedPowerOf(labels: Record<string, string>): 'on' | 'off' | null {
  const value = labels[AUDIT_LABELS.expectedPower]?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'on') return 'on';
  return value === 'off' ? 'off' : null;
}
