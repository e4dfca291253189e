import { TimeoutError } from '../errors/redis-pool.errors';

/**
 * `work`, or a `TimeoutError` naming `what` once `timeoutMs` passed; the timer is always cleared, and a late
 * rejection of `work` is never reported as unhandled.
 */
export function withinDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${what} got no reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
