import { RedisError } from '../errors/redis-pool.errors';

/** Why {@link startTestRedis} failed. */
export type TestRedisFailure =
  /** The binary is not on `PATH` (or the given path does not exist). */
  | 'not-found'
  /** The binary exists but could not be run (not executable, ...). */
  | 'spawn-failed'
  /** The server exited before it answered PING (bad argument, port taken, ...). */
  | 'exited'
  /** The server did not answer PING within `startTimeoutMs`; it was killed. */
  | 'timeout';

/** {@link startTestRedis} could not start a redis-server. The message says what to do. */
export class TestRedisError extends RedisError {
  /** What went wrong. */
  readonly reason: TestRedisFailure;
  /** The executable that was run. */
  readonly binary: string;
  /** The last lines the server wrote (stdout and stderr), empty when it never ran. */
  readonly output: string;

  constructor(
    message: string,
    details: { reason: TestRedisFailure; binary: string; output?: string; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.reason = details.reason;
    this.binary = details.binary;
    this.output = details.output ?? '';
  }
}
