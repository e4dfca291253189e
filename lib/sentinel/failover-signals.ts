import {
  ConnectionError,
  PoolClosedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';

/**
 * Errors on the data path that may mean the master moved: the node now refuses writes (READONLY: it was
 * demoted), is loading, or the connection failed or went silent (killed or frozen master).
 */
export function signalsFailover(error: unknown): boolean {
  if (error instanceof ResponseError) return error.code === 'READONLY' || error.code === 'LOADING';
  return (
    error instanceof ConnectionError ||
    error instanceof TimeoutError ||
    error instanceof PoolClosedError
  );
}

/**
 * Whether a failed command may be sent to the (new) master: it never ran (refused as READONLY by a demoted
 * master, never written, or still queued in a retired pool), or running it twice is harmless.
 */
export function mayResend(error: unknown, resendable: boolean): boolean {
  return (
    resendable ||
    (error instanceof ResponseError && error.code === 'READONLY') ||
    (error instanceof ConnectionError && !error.commandMayHaveRun) ||
    error instanceof PoolClosedError
  );
}
