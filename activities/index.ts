// Every activity the worker registers, built over the worker's dependencies.
import type { ActivityDependencies } from './dependencies.js';
import { createWorkerProbeActivities } from './worker-probe.js';
import { createPowerActivities } from './power.js';
import { createRescueActivities } from './rescue.js';
import { createAuditActivities } from './audit.js';

export function createActivities(dependencies: ActivityDependencies) {
  return {
    ...createWorkerProbeActivities(dependencies),
    ...createPowerActivities(dependencies),
    ...createRescueActivities(dependencies),
    ...createAuditActivities(dependencies),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDependencies };
