// Every activity the worker registers, built over the worker's dependencies.
import type { ActivityDependencies } from './dependencies.js';
import { createWorkerProbeActivities } from './worker-probe.js';

export function createActivities(dependencies: ActivityDependencies) {
  return {
    ...createWorkerProbeActivities(dependencies),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDependencies };
