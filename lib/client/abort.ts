import { AbortError } from '../errors/redis-pool.errors';

/** The `AbortError` for a signal, keeping its reason as the cause. */
export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/**
 * Settles with `promise`, or rejects with `AbortError` as soon as `signal` aborts. The promise itself runs on (a
 * command's reply is still read and dropped); `onAbort` runs once when the abort wins, and `onLate` receives a
 * value that arrived after it (a lease to give back).
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort?: () => void,
  onLate?: (value: T) => void,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.then(onLate, () => undefined);
    onAbort?.();
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const listener = () => {
      aborted = true;
      onAbort?.();
      reject(abortError(signal));
    };
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', listener);
        if (aborted) onLate?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(error);
      },
    );
  });
}
