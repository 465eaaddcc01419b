// A workflow that only asks a worker to describe itself: the end-to-end proof that the Temporal server,
// a worker on our task queue and the inventory database are wired together.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { describeWorker } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

export async function workerProbeWorkflow() {
  return describeWorker();
}
