// At most N operations at once against one BMC, shared by every caller in this process (rescues, audits,
// operators): a BMC holds few sessions (iDRAC 8) and answers slowly when many clients talk to it at once.
// Keyed by the BMC's endpoint; the limit comes from the option bmc_concurrency, else RESCUED_BMC_CONCURRENCY,
// else 4. Waiters are served in arrival order; a waiter whose signal aborts leaves the queue.

export const DEFAULT_BMC_CONCURRENCY = 4;
export const BMC_CONCURRENCY_ENV = 'RESCUED_BMC_CONCURRENCY';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

interface Slot {
  running: number;
  limit: number;
  waiting: Waiter[];
}

export class KeyedSemaphore {
  private readonly slots = new Map<string, Slot>();

  /** Operations running now for this key (for tests and benchmarks). */
  running(key: string): number {
    return this.slots.get(key)?.running ?? 0;
  }

  /**
   * Resolves with a release function once fewer than `limit` holders of `key` run. The latest limit given for a
   * key is the one applied. Rejects with the signal's reason if it aborts first.
   */
  acquire(key: string, limit: number, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const slot = this.slots.get(key) ?? { running: 0, limit, waiting: [] };
    slot.limit = Math.max(1, limit);
    this.slots.set(key, slot);
    if (slot.running < slot.limit) {
      slot.running += 1;
      return Promise.resolve(this.releaser(key, slot));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = slot.waiting.indexOf(waiter);
          if (index >= 0) slot.waiting.splice(index, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      slot.waiting.push(waiter);
    });
  }

  private releaser(key: string, slot: Slot): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slot.running -= 1;
      while (slot.running < slot.limit && slot.waiting.length > 0) {
        const next = slot.waiting.shift() as Waiter;
        next.signal.removeEventListener('abort', next.onAbort);
        slot.running += 1;
        next.resolve(this.releaser(key, slot));
      }
      if (slot.running === 0 && slot.waiting.length === 0) this.slots.delete(key);
    };
  }
}

/** The one semaphore of this process. */
export const processBmcLimiter = new KeyedSemaphore();

/** The default limit: RESCUED_BMC_CONCURRENCY when it is a whole number from 1 to 64, else 4. */
export function defaultBmcConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[BMC_CONCURRENCY_ENV]?.trim();
  if (value && /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 64) return Number(value);
  return DEFAULT_BMC_CONCURRENCY;
}
