/**
 * Exponential backoff with "equal jitter": half of each step is fixed, so retries never turn into a hot loop,
 * and half is random, so many clients do not reconnect in lockstep.
 */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  const step = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, failures - 1));
  return step / 2 + Math.random() * (step / 2);
}
