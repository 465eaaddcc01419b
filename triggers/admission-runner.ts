// The loop that starts deferred rescues as room frees up (the queue lives in the database, so nothing is
// lost when this process stops), and frees the room of admitted rescues Temporal no longer runs.
import type { Guard } from './guard.js';

const RECONCILE_EVERY_TICKS = 12;

export function startAdmissionRunner(guard: Guard, options: { intervalMs: number; log?: (line: string) => void }): () => Promise<void> {
  const log = options.log ?? (() => undefined);
  let ticks = 0;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    ticks += 1;
    running = (async () => {
      try {
        const pumped = await guard.pumpQueue();
        if (pumped.started.length > 0 || pumped.refused.length > 0) log(`guard: queue: started ${pumped.started.join(', ') || 'none'}; refused ${pumped.refused.join(', ') || 'none'}; ${pumped.waiting} waiting`);
        if (ticks % RECONCILE_EVERY_TICKS === 0) await guard.reconcileSlots();
      } catch (error) {
        log(`guard: the queue could not be looked at: ${(error as Error).message}`);
      } finally {
        busy = false;
      }
    })();
  }, options.intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
