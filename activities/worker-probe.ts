// Answers "is a worker there, and can it reach the inventory?" from inside a worker.
import { hostname } from 'node:os';
import type { ActivityDependencies } from './dependencies.js';

export interface WorkerDescription {
  hostname: string;
  pid: number;
  database: 'postgres' | 'pglite';
  systems: number;
}

export function createWorkerProbeActivities(dependencies: ActivityDependencies) {
  return {
    async describeWorker(): Promise<WorkerDescription> {
      const systems = await dependencies.inventory.systems.list();
      return { hostname: hostname(), pid: process.pid, database: dependencies.databaseKind, systems: systems.length };
    },
  };
}
