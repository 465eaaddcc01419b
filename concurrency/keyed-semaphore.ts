// A counting semaphore per key, waiters served in arrival order; a waiter whose signal aborts leaves the
// queue. The BMC limit (power/bmc-limit.ts) and the worker's SSH sessions (workers/rescue-shell.ts) use it.

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
