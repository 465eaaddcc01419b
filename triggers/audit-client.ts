// Fleet audits through Temporal: the schedule (reconciled from configuration at every start, changed by
// operators) and manual runs. One audit at a time: a manual run opens its run in the database before it
// starts its workflow, and joins the open one instead when there is one; scheduled runs find the same lock
// (workflows/audit.ts) and the schedule itself never overlaps its own runs (overlap SKIP).
import { randomBytes } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { formatDuration } from '../config/duration.js';
import type { AuditRepository, AuditRunView } from '../db/repositories/audits.js';
import {
  DEFAULT_FLEET_AUDIT_SETTINGS,
  FLEET_AUDIT_WORKFLOW,
  MANUAL_AUDIT_WORKFLOW_PREFIX,
  type FleetAuditInput,
  type FleetAuditSettings,
} from '../workflows/audit-types.js';

/**
 * Missed runs (the server was down) are taken if at most this late, then never: the Temporal server's own
 * default is a year, which after an outage would start an audit nobody asked for at a time nobody expects.
 */
export const AUDIT_CATCHUP_WINDOW_MS = 10 * 60_000;

export const auditScheduleId = (taskQueue: string) => `rescued-fleet-audit-${taskQueue}`;

export interface AuditScheduleView {
  scheduleId: string;
  every: string;
  everyMs: number;
  paused: boolean;
  note: string | null;
  overlap: string;
  catchupWindow: string;
  nextRuns: string[];
  /** Workflows the schedule started lately, oldest first. */
  recentRuns: Array<{ workflowId: string; scheduledAt: string; startedAt: string }>;
  running: string[];
}

export class AuditScheduleMissingError extends Error {
  override readonly name = 'AuditScheduleMissingError';
}

function describeSchedule(description: ScheduleDescription): AuditScheduleView {
  const everyMs = description.spec.intervals?.[0]?.every;
  const ms = typeof everyMs === 'number' ? everyMs : 0;
  return {
    scheduleId: description.scheduleId,
    every: formatDuration(ms),
    everyMs: ms,
    paused: description.state.paused,
    note: description.state.note ?? null,
    overlap: description.policies.overlap ?? 'unknown',
    catchupWindow: formatDuration(description.policies.catchupWindow),
    nextRuns: description.info.nextActionTimes.map((at) => at.toISOString()),
    recentRuns: description.info.recentActions.map((action) => ({
      workflowId: action.action.workflow.workflowId,
      scheduledAt: action.scheduledAt.toISOString(),
      startedAt: action.takenAt.toISOString(),
    })),
    running: description.info.runningActions.map((action) => action.workflow.workflowId),
  };
}

/** The audit schedule alone: what every process reconciles at start, with only a Temporal client. */
export function createAuditScheduleClient(client: Client, options: { taskQueue: string; settings?: Partial<FleetAuditSettings> | undefined }) {
  const scheduleId = auditScheduleId(options.taskQueue);
  const handle = (): ScheduleHandle => client.schedule.getHandle(scheduleId);

  /** The whole spec: an update re-sends all of it, so the caller says what the pause state is to be. */
  function scheduleSpec(everyMs: number, state: { paused: boolean; note: string | undefined }) {
    const input: FleetAuditInput = { trigger: 'schedule', requestedBy: 'schedule', ...(options.settings ? { settings: options.settings } : {}) };
    return {
      spec: { intervals: [{ every: everyMs }] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: FLEET_AUDIT_WORKFLOW,
        // The schedule appends the scheduled time to this ID.
        workflowId: 'fleet-audit-scheduled',
        taskQueue: options.taskQueue,
        args: [input],
        staticSummary: `Scheduled fleet audit, every ${formatDuration(everyMs)}`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: AUDIT_CATCHUP_WINDOW_MS, pauseOnFailure: false },
      state: { paused: state.paused, ...(state.note ? { note: state.note } : {}) },
    };
  }

  async function current(): Promise<ScheduleDescription | undefined> {
    try {
      return await handle().describe();
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return undefined;
      throw error;
    }
  }

  async function create(everyMs: number, state: { paused: boolean; note: string | undefined }): Promise<'created' | 'updated'> {
    try {
      await client.schedule.create({ scheduleId, ...scheduleSpec(everyMs, state) });
      return 'created';
    } catch (error) {
      // Another process of ours (api and worker start together) created it first: update it instead.
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await handle().update((previous) => scheduleSpec(everyMs, { paused: previous.state.paused, note: previous.state.note }));
      return 'updated';
    }
  }

  return {
    scheduleId,

    /**
     * Makes the schedule match the configuration, as MAAS reconciles its schedules at start: created when
     * missing, deleted when configured off, else updated with the whole spec, keeping an operator's pause.
     */
    async reconcileSchedule(everyMs: number | null): Promise<{ action: 'created' | 'updated' | 'deleted' | 'absent'; schedule: AuditScheduleView | null }> {
      const existing = await current();
      if (everyMs === null) {
        if (existing === undefined) return { action: 'absent', schedule: null };
        await handle().delete();
        return { action: 'deleted', schedule: null };
      }
      const action =
        existing === undefined
          ? await create(everyMs, { paused: false, note: undefined })
          : (await handle().update((previous) => scheduleSpec(everyMs, { paused: previous.state.paused, note: previous.state.note })), 'updated' as const);
      return { action, schedule: describeSchedule(await handle().describe()) };
    },

    async describeSchedule(): Promise<AuditScheduleView | null> {
      const existing = await current();
      return existing === undefined ? null : describeSchedule(existing);
    },

    /** An operator's change: the interval (creating the schedule if there is none), pause or resume. */
    async changeSchedule(change: { everyMs?: number; paused?: boolean; by: string }): Promise<AuditScheduleView> {
      const existing = await current();
      if (existing === undefined) {
        if (change.everyMs === undefined) throw new AuditScheduleMissingError('no audit schedule exists (RESCUED_AUDIT_EVERY=off); give an interval to create one');
        const paused = change.paused ?? false;
        await create(change.everyMs, { paused, note: paused ? `paused by ${change.by}` : `created by ${change.by}` });
        return describeSchedule(await handle().describe());
      }
      if (change.everyMs !== undefined) {
        await handle().update((previous) => {
          const paused = change.paused ?? previous.state.paused;
          return scheduleSpec(change.everyMs!, { paused, note: change.paused === undefined ? previous.state.note : `${paused ? 'paused' : 'resumed'} by ${change.by}` });
        });
      } else if (change.paused === true) await handle().pause(`paused by ${change.by}`);
      else if (change.paused === false) await handle().unpause(`resumed by ${change.by}`);
      return describeSchedule(await handle().describe());
    },
  };
}

/** The schedule, and manual runs (which need the audit records, for the one-at-a-time lock). */
export function createAuditClient(client: Client, options: { taskQueue: string; audits: AuditRepository; settings?: Partial<FleetAuditSettings> }) {
  const settings: FleetAuditSettings = { ...DEFAULT_FLEET_AUDIT_SETTINGS, ...options.settings };
  return {
    ...createAuditScheduleClient(client, options),

    /** Starts an audit now, or joins the one that is running (scheduled or manual). */
    async runNow(requestedBy: string): Promise<{ joined: boolean; audit: AuditRunView }> {
      const workflowId = `${MANUAL_AUDIT_WORKFLOW_PREFIX}${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
      const opened = await options.audits.open({ workflowId, trigger: 'manual', requestedBy, leaseMs: settings.leaseMs });
      if ('running' in opened) return { joined: true, audit: opened.running };
      const audit = opened.opened;
      const input: FleetAuditInput = { trigger: 'manual', requestedBy, auditId: audit.id, ...(options.settings ? { settings: options.settings } : {}) };
      try {
        await client.workflow.start(FLEET_AUDIT_WORKFLOW, {
          taskQueue: options.taskQueue,
          workflowId,
          args: [input],
          staticSummary: `Fleet audit ${audit.id}, started by ${requestedBy}`,
        });
      } catch (error) {
        await options.audits.close(audit.id, 'failed', `its workflow could not be started: ${(error as Error).message}`);
        throw error;
      }
      return { joined: false, audit };
    },
  };
}

export type AuditClient = ReturnType<typeof createAuditClient>;
