import {
  ConnectionError,
  PoolClosedError,
  RedisError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';

/**
 * The text BullMQ recognises as "the connection is closed" (`isNotConnectionError()` in BullMQ compares messages
 * against it, the text ioredis uses), so that it retries quietly instead of emitting `error` for every attempt.
 */
export const CONNECTION_CLOSED_MESSAGE = 'Connection is closed.';

/**
 * A command of a `BullMqClient` failed because there is no connection: the client was closed (`quit()`,
 * `disconnect()`), its lease was lost and is being taken again, the pool is closed, the socket to Redis failed, or
 * no connection could be had in time (`cause` holds the pool's own `ConnectionError`, `PoolClosedError` or
 * `TimeoutError`, with the server address). The message is the fixed text BullMQ looks for, so Workers and
 * QueueEvents wait and retry instead of reporting each attempt as an error. It is a `ConnectionError`, so
 * `instanceof RedisError` holds.
 */
export class BullMqConnectionClosedError extends ConnectionError {
  constructor(options?: { cause?: unknown; commandMayHaveRun?: boolean }) {
    super(CONNECTION_CLOSED_MESSAGE, options);
  }
}

/**
 * `runCommand()` (or a transaction's) named a script that `defineCommand()` never registered on this client.
 */
export class UnknownScriptError extends RedisError {
  constructor(
    /** The name passed to `runCommand()`. */
    readonly scriptName: string,
  ) {
    super(`BullMQ: unknown command "${scriptName}" (register it with defineCommand first)`);
  }
}

/**
 * What BullMQ should see for a failure of the pool: connection failures as `BullMqConnectionClosedError` (see it),
 * and so timeouts of commands that never reached Redis (no connection could be had in time: a connect that timed
 * out, a server unreachable); everything else (error replies, timeouts of commands Redis had, refusals)
 * unchanged.
 */
export function toBullMqError(error: unknown): unknown {
  if (error instanceof BullMqConnectionClosedError) return error;
  if (
    error instanceof ConnectionError ||
    (error instanceof TimeoutError && !error.commandMayHaveRun)
  ) {
    return new BullMqConnectionClosedError({
      cause: error,
      commandMayHaveRun: error.commandMayHaveRun,
    });
  }
  if (error instanceof PoolClosedError) return new BullMqConnectionClosedError({ cause: error });
  return error;
}

/** Rejects with `toBullMqError(error)`; a module-level function so the hot path allocates no closure for it. */
export function rejectAsBullMq(error: unknown): never {
  throw toBullMqError(error);
}

/** Whether a reply error says the script is not in the server's cache (after SCRIPT FLUSH, a restart...). */
export function isNoScript(error: unknown): boolean {
  return error instanceof ResponseError && error.code === 'NOSCRIPT';
}
