// A step whose workers keep disappearing has not failed. Temporal retries an activity whose worker stopped
// heartbeating, but each such loss uses up one of the step's attempts, which are budgeted for the step's own
// failures (an unreachable BMC, a refused SSH login). Here a step that ran out of attempts only because its
// workers died is issued again, a bounded number of times, with the step's whole retry policy fresh. The
// reissue is a new activity in the history, so what ran stays accounted for (the crash and cluster tests
// count power operations against it).
import { ActivityFailure, patched, TimeoutFailure } from '@temporalio/workflow';

/** How many times a step is issued again after its attempts all ended in lost workers. */
export const REISSUES_AFTER_LOST_WORKERS = 5;

/** The activity's last attempt ended because its worker stopped heartbeating: the process died or hung. */
export function lostWorker(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof TimeoutFailure && error.cause.timeoutType === 'HEARTBEAT';
}

/**
 * `activities` with each call issued again (at most REISSUES_AFTER_LOST_WORKERS times) when it fails for a
 * lost worker. Histories from before this existed failed there instead, hence the patch marker.
 */
export function reissuedAfterLostWorkers<T extends object>(activities: T): T {
  return new Proxy(activities, {
    get(target, name, receiver) {
      const call = Reflect.get(target, name, receiver) as unknown;
      if (typeof call !== 'function') return call;
      return async (...args: unknown[]) => {
        for (let lost = 0; ; lost++) {
          try {
            return await (call as (...a: unknown[]) => Promise<unknown>)(...args);
          } catch (error) {
            if (!lostWorker(error) || lost >= REISSUES_AFTER_LOST_WORKERS || !patched('reissue-after-lost-workers')) throw error;
          }
        }
      };
    },
  });
}
