// What the rescue activities need from an SSH session to the rescue environment. Implemented over
// shell/ (ssh2, probes, playbooks); the activities only see findings and changes.
import type { FindingSummary } from '../workflows/rescue-types.js';
import type { RepairPolicy } from '../shell/playbooks/types.js';

export interface RescueSshEndpoint {
  host: string;
  port: number;
  /** The host key the rescue environment phoned home with, pinned for every session. */
  hostKey: string;
  privateKeyPem: string;
  system: string;
  /** The only devices to examine (label rescued.devices); undefined: every disk the rescue environment has. */
  devices?: string[];
}

export interface DiagnosisOutcome {
  findings: FindingSummary[];
  /** The whole report, stored with the rescue run (not in workflow history). */
  report: Record<string, unknown>;
}

export interface RepairOutcome {
  /** Each playbook's result as shell/ reports it (status, actions, the findings it worked on, evidence, error), stored with the run. */
  results: Array<Record<string, unknown> & { playbook: string; subject: string; changed: boolean; actions: string[]; status: string }>;
  after: DiagnosisOutcome;
}

/** What the machine's labels allow the playbooks to do (shell/playbooks/types.ts). */
export type { RepairPolicy };

export interface RescueShell {
  diagnose(endpoint: RescueSshEndpoint, heartbeat: () => void, signal: AbortSignal): Promise<DiagnosisOutcome>;
  repair(endpoint: RescueSshEndpoint, previous: Record<string, unknown>, policy: RepairPolicy, heartbeat: () => void, signal: AbortSignal): Promise<RepairOutcome>;
}
