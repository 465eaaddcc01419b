// Giving up on something still starting when a stop comes, without leaving what it starts behind.

/**
 * `starting`, or a rejection as soon as `signal` aborts: a stop need not wait for what takes long to
 * start (a worker's connection to a Temporal that does not answer: up to 30 s). What comes up after that is put
 * away by `discard`.
 */
export function untilAborted<T>(starting: Promise<T>, signal: AbortSignal, discard: (late: T) => Promise<void>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abandon = () => {
      reject(new Error('stopped'));
      starting.then(discard).catch(() => undefined);
    };
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    starting.then(
      (value) => {
        signal.removeEventListener('abort', abandon);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abandon);
        reject(error);
      },
    );
  });
}
