import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { Connection } from '../connection/connection';
import { PoolClosedError } from '../errors/redis-pool.errors';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { CommandOptions } from './redis-pool.interface';

/**
 * What every pool (`ConnectionPool`, `ClusterPool`) writes the same way on top of its own `execute`,
 * `getConnection`, `release` and `toJSON`: `executeCommand`, `withConnection`, the closed state with its one
 * closing promise, the error of a closed pool, and an `inspect()` that shows only `toJSON()`, so that credentials
 * never print.
 */
export abstract class PoolSurface extends EventEmitter {
  /** Set once by `closeOnce()`; settles when the pool is closed. */
  private closingPromise: Promise<void> | null = null;
  private closeStarted = false;

  /** Names the pool in errors, after "The": `'pool for 10.0.0.1:6379'`, `'cluster pool'`. */
  protected abstract readonly description: string;

  /** Runs one command with per-call options (`buffers`, `timeoutMs`, `retryable`). */
  abstract execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T>;

  /** An exclusive lease; a pool that routes by key leases where `key` lives. Give it back with `release()`. */
  abstract getConnection(key?: RedisArgument): Promise<Connection>;

  /** Gives back a lease from `getConnection()`. */
  abstract release(connection: Connection): void;

  /** What `inspect()` and `JSON.stringify` show: never a credential. */
  abstract toJSON(): Record<string, unknown>;

  /** Whether `disconnect()` has been called. */
  get closed(): boolean {
    return this.closeStarted;
  }

  /** Runs one command; `execute` without options. */
  executeCommand<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.execute<T>(command, args);
  }

  /** Leases a connection (where `key` lives, for a pool that routes by key), runs `fn` and always releases it. */
  async withConnection<T>(
    fn: (connection: Connection) => Promise<T>,
    key?: RedisArgument,
  ): Promise<T> {
    const connection = await this.getConnection(key);
    try {
      return await fn(connection);
    } finally {
      this.release(connection);
    }
  }

  /** Never shows credentials. */
  [inspect.custom](): string {
    return `${this.constructor.name} ${inspect(this.toJSON())}`;
  }

  /**
   * Starts closing, once: `shutDown()`'s promise becomes the pool's closing promise, then `closing` is emitted
   * (lease holders that never finish on their own, such as subscribers, hear it and give their lease back).
   * Later calls return the same promise.
   */
  protected closeOnce(shutDown: () => Promise<void>): Promise<void> {
    if (this.closingPromise === null) {
      // Closed already while `shutDown()` runs its synchronous part: a command its sockets fail must not be
      // taken back to be sent again (with no drain time, nothing is awaited before they are destroyed).
      this.closeStarted = true;
      this.closingPromise = shutDown();
      this.emit('closing');
    }
    return this.closingPromise;
  }

  /** The error of work asked of a closed pool. */
  protected closedError(): PoolClosedError {
    return new PoolClosedError(`The ${this.description} is closed`);
  }
}
