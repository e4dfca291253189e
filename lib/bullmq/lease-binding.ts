import type { Connection } from '../connection/connection';
import {
  AuthenticationError,
  ConfigurationError,
  PoolClosedError,
  ResponseError,
} from '../errors/redis-pool.errors';
import { backoffDelay } from '../pool/backoff';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { BullMqConnectionClosedError, toBullMqError } from './bullmq.errors';
import type { ResolvedBullMqClientOptions } from './bullmq-client.options';

/** The status vocabulary BullMQ's `RedisConnection` waits on (ioredis's). */
export type LeaseStatus = 'wait' | 'connecting' | 'ready' | 'reconnecting' | 'end';

/** How the binding reports to the client that owns it. */
export interface BindingEvents {
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/** Errors no retry cures: a foreground `connect()` rejects with them instead of trying again. */
function permanent(error: unknown): boolean {
  return (
    error instanceof AuthenticationError ||
    error instanceof ConfigurationError ||
    (error instanceof ResponseError && error.code !== 'LOADING' && error.code !== 'BUSY')
  );
}

/**
 * The exclusive lease behind a `duplicate()`: taken on `connect()` (on a cluster, on the master serving the key
 * of the first blocking command, and again when a command names a key of another slot), named with
 * `CLIENT SETNAME` when the duplicate has a connection name, given back on `quit()`/`disconnect()`, and taken
 * again (status `reconnecting`, then `ready`) when its connection was lost. Blocking commands interrupted by
 * `disconnect()`/`quit()` resolve `null`, as a timeout would.
 */
export class LeaseBinding {
  private state: LeaseStatus = 'wait';
  private lease: Connection | null = null;
  /** The key the lease was taken for, on a pool that routes by key (a cluster). */
  private leaseKey: RedisArgument | undefined;
  /** Settle-promises of the `own()` commands in flight on the current lease. */
  private readonly ownCalls = new Set<Promise<void>>();
  private establishing: Promise<void> | null = null;
  private rebinding: Promise<void> | null = null;
  /** Bumped by `disconnect()`/`quit()`: work of an older epoch stops, and its blocking calls resolve `null`. */
  private epoch = 0;
  private failures = 0;
  private reported: string | undefined;
  private sleep: { timer: NodeJS.Timeout; wake: () => void } | null = null;

  constructor(
    private readonly pool: RedisPool,
    private readonly events: BindingEvents,
    private readonly settings: ResolvedBullMqClientOptions,
    /** The name given with `CLIENT SETNAME` to every lease, or `undefined`. */
    public connectionName: string | undefined,
  ) {}

  get status(): LeaseStatus {
    return this.state;
  }

  /** Whether the pool routes by key, so the lease must be on the master of the blocking command's key. */
  private get sharded(): boolean {
    return this.pool.masterPools !== undefined;
  }

  /**
   * Takes the lease (on a cluster, once a blocking command names its key) and resolves once `ready`. While Redis
   * cannot be reached or every lease is held it retries with backoff, emitting `error` for the first failure of
   * each kind; it rejects when `disconnect()`/`quit()` intervenes, the pool is closed, or the failure is one no
   * retry cures (authentication, a refused CLIENT SETNAME).
   */
  connect(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.establishing !== null) return this.establishing;
    this.state = 'connecting';
    return this.establish(true);
  }

  /** Closes at once: a blocking command in flight is interrupted (it resolves `null`), the lease is dropped. */
  disconnect(reconnect: boolean): void {
    this.stop();
    this.dropLease();
    this.state = reconnect ? 'wait' : 'end';
    this.events.emit('close');
    if (!reconnect) {
      this.events.emit('end');
      return;
    }
    this.events.emit('reconnecting');
    this.connect().catch((error: unknown) => this.report(error));
  }

  /** Gives the lease back (a blocking command in flight resolves `null`) and ends; `end` and `close` follow. */
  quit(): void {
    this.stop();
    this.dropLease();
    this.state = 'end';
    setImmediate(() => {
      this.events.emit('end');
      this.events.emit('close');
    });
  }

  /** Why commands are refused (the binding ended), or `undefined`. */
  closedError(): Error | undefined {
    return this.state === 'end' ? new BullMqConnectionClosedError() : undefined;
  }

  /**
   * A blocking command on the lease. Before the first `connect()` it connects first; while the lease is being
   * taken again after a loss it rejects at once with `BullMqConnectionClosedError` (BullMQ then waits for
   * `ready`), as it does once ended.
   */
  blocking(command: string, args: RedisArgument[], key: RedisArgument): Promise<RedisReply> {
    switch (this.state) {
      case 'end':
      case 'reconnecting':
        return Promise.reject(new BullMqConnectionClosedError());
      case 'wait':
      case 'connecting':
        return this.connect().then(() => this.blocking(command, args, key));
    }
    return this.onLease(command, args, key, false);
  }

  private onLease(
    command: string,
    args: RedisArgument[],
    key: RedisArgument,
    moved: boolean,
  ): Promise<RedisReply> {
    if (this.sharded && (this.lease === null || this.leaseKey !== key)) {
      return this.rebind(key).then(() => this.blocking(command, args, key));
    }
    const lease = this.lease;
    if (lease === null) return Promise.reject(new BullMqConnectionClosedError());
    const epoch = this.epoch;
    return lease.executeCommand<RedisReply>(command, ...args).then(undefined, (error: unknown) => {
      if (epoch !== this.epoch) return null;
      if (!moved && this.sharded && error instanceof ResponseError && error.code === 'MOVED') {
        // The slot moved: lease on the master now serving it and try once more there.
        this.dropLease();
        return this.rebind(key).then(() => this.onLease(command, args, key, true));
      }
      throw toBullMqError(error);
    });
  }

  /**
   * A command about the client's own connection. `CLIENT SETNAME` names the lease (and every later one; without
   * a lease yet, it is kept for the next); other commands run on the lease, or on the shared path without one.
   */
  own(
    command: string,
    args: RedisArgument[],
    shared: () => Promise<RedisReply>,
  ): Promise<RedisReply> {
    const closed = this.closedError();
    if (closed !== undefined) return Promise.reject(closed);
    const isSetName = String(args[0]).toUpperCase() === 'SETNAME';
    if (isSetName) this.connectionName = String(args[1]);
    const lease = this.state === 'ready' ? this.lease : null;
    if (lease === null) return isSetName ? Promise.resolve('OK') : shared();
    const call = lease.executeCommand<RedisReply>(command, ...args);
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    this.ownCalls.add(settled);
    void settled.then(() => this.ownCalls.delete(settled));
    return call.catch((error: unknown) => {
      throw toBullMqError(error);
    });
  }

  /** Attempts until ready; `foreground` for `connect()`, whose caller hears about failures no retry cures. */
  private establish(foreground: boolean): Promise<void> {
    const epoch = this.epoch;
    const run = async (): Promise<void> => {
      for (;;) {
        if (epoch !== this.epoch) throw new BullMqConnectionClosedError();
        try {
          if (!this.sharded || this.leaseKey !== undefined) await this.take(epoch, this.leaseKey);
          if (epoch !== this.epoch) throw new BullMqConnectionClosedError();
          if (!this.sharded && this.lease === null) {
            throw new BullMqConnectionClosedError(); // lost before it was ready: go round again
          }
          this.state = 'ready';
          this.failures = 0;
          this.reported = undefined;
          this.events.emit('ready');
          return;
        } catch (error) {
          if (epoch !== this.epoch) throw new BullMqConnectionClosedError({ cause: error });
          if (error instanceof PoolClosedError) {
            this.state = 'end';
            this.events.emit('end');
            throw toBullMqError(error);
          }
          if (foreground && permanent(error)) {
            this.state = 'wait';
            throw error;
          }
          this.report(error);
          await this.pause(epoch);
        }
      }
    };
    const attempt = run().finally(() => {
      if (this.establishing === attempt) this.establishing = null;
    });
    this.establishing = attempt;
    return attempt;
  }

  /** Leases (by `key` on a cluster), names the lease, and watches it for a loss. */
  private async take(epoch: number, key: RedisArgument | undefined): Promise<void> {
    const connection = await this.pool.getConnection(key);
    try {
      if (this.connectionName !== undefined && epoch === this.epoch) {
        await connection.executeCommand('CLIENT', 'SETNAME', this.connectionName);
      }
    } catch (error) {
      this.pool.release(connection);
      throw error;
    }
    if (epoch !== this.epoch) {
      this.pool.release(connection);
      throw new BullMqConnectionClosedError();
    }
    this.lease = connection;
    this.leaseKey = key;
    void connection.whenClosed().then(() => this.lost(connection));
  }

  /** On a cluster: the lease moved to the master of `key` (one move at a time). */
  private rebind(key: RedisArgument): Promise<void> {
    if (this.rebinding !== null) return this.rebinding;
    const epoch = this.epoch;
    this.dropLease();
    const move = this.take(epoch, key)
      .catch((error: unknown) => {
        throw toBullMqError(error);
      })
      .finally(() => {
        this.rebinding = null;
      });
    this.rebinding = move;
    return move;
  }

  /** The lease's connection closed under us: take another one (status `reconnecting` meanwhile). */
  private lost(connection: Connection): void {
    if (this.lease !== connection) return;
    this.lease = null;
    this.ownCalls.clear();
    this.pool.release(connection);
    if (this.state !== 'ready') return;
    this.state = 'reconnecting';
    this.events.emit('close');
    this.events.emit('reconnecting');
    this.establish(false).catch(() => undefined);
  }

  /**
   * Lets go of the lease. Blocked in a command, it is destroyed, which interrupts it (the pool would discard it
   * anyway). With only quick commands of `own()` in flight (CLIENT SETNAME as a QueueEvents starts), those get
   * their replies first, then it goes back.
   */
  private dropLease(): void {
    const lease = this.lease;
    if (lease === null) return;
    this.lease = null;
    const quick = [...this.ownCalls];
    this.ownCalls.clear();
    if (lease.pending > quick.length) {
      lease.destroy();
    } else if (quick.length > 0) {
      void Promise.all(quick).then(() => this.pool.release(lease));
      return;
    }
    this.pool.release(lease);
  }

  /** Ends this epoch's work: retries stop, blocking calls in flight will resolve `null`. */
  private stop(): void {
    this.epoch++;
    const sleep = this.sleep;
    if (sleep !== null) {
      clearTimeout(sleep.timer);
      this.sleep = null;
      sleep.wake();
    }
  }

  /** Waits the backoff delay, cut short by `stop()`. */
  private pause(epoch: number): Promise<void> {
    this.failures++;
    const { baseDelayMs, maxDelayMs } = this.settings.reconnect;
    const delay = backoffDelay(this.failures, baseDelayMs, maxDelayMs);
    return new Promise<void>((resolve) => {
      if (epoch !== this.epoch) return resolve();
      const timer = setTimeout(() => {
        this.sleep = null;
        resolve();
      }, delay);
      this.sleep = { timer, wake: resolve };
    });
  }

  /** Emits `error` for a failure unlike the last one reported (when anyone listens). */
  private report(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.reported || this.events.listenerCount('error') === 0) return;
    this.reported = message;
    this.events.emit('error', error);
  }
}
