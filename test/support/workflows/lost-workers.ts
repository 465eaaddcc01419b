// A workflow for the lost-worker test: one step whose activity has a 1 s heartbeat timeout and a single
// attempt, so that each attempt its worker abandons (never heartbeats) is a lost worker at once.
import { proxyActivities } from '@temporalio/workflow';
import { reissuedAfterLostWorkers } from '../../../workflows/lost-workers.js';

export interface LostWorkerActivities {
  step(): Promise<string>;
}

export async function oneStepWorkflow(): Promise<string> {
  const { step } = reissuedAfterLostWorkers(
    proxyActivities<LostWorkerActivities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '1 second', retry: { maximumAttempts: 1 } }),
  );
  return step();
}
