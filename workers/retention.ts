// The worker's pruning timer: runs db/retention.ts once at start and then every RESCUED_PRUNE_INTERVAL_MINUTES,
// in every worker process (deletes are idempotent, so several workers pruning at once do no harm).
import type { Inventory } from '../db/inventory.js';
import { pruneExpiredRecords, type PruneReport, type RetentionPolicy } from '../db/retention.js';
import type { Stopper } from './components.js';

export function startRetention(inventory: Inventory, options: RetentionPolicy & { intervalMs: number; log: (line: string) => void }): Stopper {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pruneNow = () => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        const report: PruneReport = await pruneExpiredRecords(inventory, options);
        const removed = Object.entries(report).filter(([, count]) => count > 0);
        if (removed.length > 0) options.log(`retention: removed ${removed.map(([table, count]) => `${count} ${table}`).join(', ')}`);
      } catch (error) {
        // The database may be down for a while: the next round tries again.
        options.log(`retention: pruning failed (${(error as Error).message}); trying again in ${Math.round(options.intervalMs / 60_000)} min`);
      }
    });
  };
  pruneNow();
  const timer = setInterval(pruneNow, options.intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
