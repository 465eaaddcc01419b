// Temporal as /healthz sees it: the namespace answers, and how many workers poll our task queue.
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;
import type { HealthCheck } from '../api/routes/health.js';

export function createTemporalHealthCheck(connection: Connection, options: { address: string; namespace: string; taskQueue: string }): HealthCheck {
  let workers = 'unknown';
  return {
    describe: () => ({ address: options.address, namespace: options.namespace, taskQueue: options.taskQueue, workers }),
    async check() {
      await connection.workflowService.describeNamespace({ namespace: options.namespace });
      const queue = await connection.workflowService.describeTaskQueue({
        namespace: options.namespace,
        taskQueue: { name: options.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      workers = String(queue.pollers?.length ?? 0);
    },
  };
}
