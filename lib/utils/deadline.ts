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
      timerDelay(timeoutMs),
    );
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The longest delay Node's timers honour (2^31 − 1 ms, about 24.8 days); a longer one would fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A delay a Node timer can hold: at least 0, at most `MAX_TIMER_MS`. A deadline further away fires early and its
 * owner re-arms, instead of Node clamping it to 1 ms and firing in a loop.
 */
export function timerDelay(ms: number): number {
  return ms <= 0 ? 0 : ms >= MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}
