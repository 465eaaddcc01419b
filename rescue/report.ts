// A rescue's report as operators read it: the stored run, and its diagnosis before the repair and after it side
// by side, finding by finding, with the playbooks that worked on each and what they did. Pure: built from the
// stored run, shared by the API (which returns it) and the CLI (which prints it).
import type { RescueRunView } from '../db/repositories/rescues.js';

export interface FindingState {
  severity: string;
  summary: string;
}

export interface FindingComparison {
  id: string;
  probe: string;
  subject: string;
  /** null: the finding was not there before the repair (or no diagnosis was stored). */
  before: FindingState | null;
  /** null: gone after the repair, or no repair ran (see `repaired`). */
  after: FindingState | null;
  /**
   * resolved: a problem before, gone or harmless after; remaining: a problem still; appeared: a problem only
   * after; unchanged: information, before and after; not-repaired: no repair ran.
   */
  outcome: 'resolved' | 'remaining' | 'appeared' | 'unchanged' | 'not-repaired';
  /** The playbooks that worked on this finding, with how it went. */
  playbooks: Array<{ playbook: string; status: string }>;
}

export interface PlaybookReport {
  playbook: string;
  subject: string;
  status: string;
  changed: boolean;
  /** What the playbook did (or would do, or why it did nothing), one line each. */
  actions: string[];
  findings: string[];
  error: string | null;
}

export interface RescueReport extends RescueRunView {
  /** Whether a repair ran: then `comparison` holds before and after, else the one diagnosis as `before`. */
  repaired: boolean;
  comparison: FindingComparison[];
  playbooks: PlaybookReport[];
}

interface StoredFinding {
  id: string;
  probe: string;
  subject: string;
  severity: string;
  summary: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The findings of a stored diagnosis report; whatever does not look like one is skipped, not trusted. */
function findingsOf(diagnosis: unknown): StoredFinding[] {
  if (!isRecord(diagnosis) || !Array.isArray(diagnosis.findings)) return [];
  return diagnosis.findings.flatMap((item): StoredFinding[] => {
    if (!isRecord(item) || typeof item.id !== 'string') return [];
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    return [{ id: item.id, probe: text(item.probe), subject: text(item.subject), severity: text(item.severity), summary: text(item.summary) }];
  });
}

function playbooksOf(repairs: unknown): PlaybookReport[] {
  if (!Array.isArray(repairs)) return [];
  return repairs.flatMap((item): PlaybookReport[] => {
    if (!isRecord(item) || typeof item.playbook !== 'string') return [];
    const strings = (value: unknown) => (Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : []);
    const error = isRecord(item.error) && typeof item.error.message === 'string' ? item.error.message : null;
    return [{
      playbook: item.playbook,
      subject: typeof item.subject === 'string' ? item.subject : '',
      status: typeof item.status === 'string' ? item.status : item.changed === true ? 'changed' : 'unchanged',
      changed: item.changed === true,
      actions: strings(item.actions),
      findings: strings(item.findings),
      error,
    }];
  });
}

const isProblem = (state: FindingState | null) => state !== null && state.severity !== 'info';

export function buildRescueReport(run: RescueRunView): RescueReport {
  const repaired = run.diagnosisBeforeRepair !== null;
  const before = findingsOf(repaired ? run.diagnosisBeforeRepair : run.diagnosis);
  const after = repaired ? findingsOf(run.diagnosis) : [];
  const playbooks = playbooksOf(run.repairs);
  const ids = [...new Set([...before.map((item) => item.id), ...after.map((item) => item.id)])];
  const comparison = ids.map((id): FindingComparison => {
    const was = before.find((item) => item.id === id);
    const is = after.find((item) => item.id === id);
    const stateOf = (item: StoredFinding | undefined) => (item ? { severity: item.severity, summary: item.summary } : null);
    const beforeState = stateOf(was);
    const afterState = stateOf(is);
    const outcome: FindingComparison['outcome'] = !repaired ? 'not-repaired'
      : isProblem(beforeState) ? (isProblem(afterState) ? 'remaining' : 'resolved')
        : isProblem(afterState) ? 'appeared' : 'unchanged';
    const described = was ?? is!;
    return {
      id,
      probe: described.probe,
      subject: described.subject,
      before: beforeState,
      after: afterState,
      outcome,
      playbooks: playbooks.filter((playbook) => playbook.findings.includes(id)).map((playbook) => ({ playbook: playbook.playbook, status: playbook.status })),
    };
  });
  return { ...run, repaired, comparison, playbooks };
}
