// At most N operations at once against one BMC, shared by every caller in this process (rescues, audits,
// operators): a BMC holds few sessions (iDRAC 8) and answers slowly when many clients talk to it at once.
// Keyed by the BMC's endpoint; the limit comes from the option bmc_concurrency, else RESCUED_BMC_CONCURRENCY,
// else 4. Waiters are served in arrival order (concurrency/keyed-semaphore.ts).

import { KeyedSemaphore } from '../concurrency/keyed-semaphore.js';

export { KeyedSemaphore };

export const DEFAULT_BMC_CONCURRENCY = 4;
export const BMC_CONCURRENCY_ENV = 'RESCUED_BMC_CONCURRENCY';

/** The one semaphore of this process. */
export const processBmcLimiter = new KeyedSemaphore();

/** The default limit: RESCUED_BMC_CONCURRENCY when it is a whole number from 1 to 64, else 4. */
export function defaultBmcConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[BMC_CONCURRENCY_ENV]?.trim();
  if (value && /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 64) return Number(value);
  return DEFAULT_BMC_CONCURRENCY;
}
