import { commandFlags, READ_ONLY_FLAG, sharedPathRefusal } from '../connection/command-policy';
import type { Connection } from '../connection/connection';
import { addressOf } from '../connection/connection-options';
import {
  CommandRequest,
  settledBy,
  unsettled,
  type RequestOwner,
} from '../connection/command-request';
import {
  CommandNotAllowedError,
  ConnectionError,
  PoolExhaustedError,
  ResponseError,
} from '../errors/redis-pool.errors';
import { commandWords, sentArgs } from '../protocol/command-name';
import { encodeCommand, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { timerDelay } from '../utils/deadline';
import { emitSafely } from '../utils/safe-emit';
import { backoffDelay } from './backoff';
import { ConnectionSupervisor, isFatal, isLoading } from './connection-supervisor';
import { restoreLease } from './lease-restore';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './pool-options';
import { PoolSurface } from './pool-surface';
import type { CommandOptions, PoolStats, RedisPool } from './redis-pool.interface';
import { mergeUrlOptions } from './redis-url';
import { SharedDispatcher } from './shared-dispatcher';
import { WaiterQueue, type Waiter } from './waiter-queue';

/**
 * A pool of Redis connections, modelled on redis-py's `ConnectionPool` (`getConnection`, `release`,
 * `disconnect`, `maxConnections`) and multiplexed: `executeCommand` pipelines every caller's commands over the
 * shared connections (at most `maxConnections`), while `getConnection`/`withConnection` hand out exclusive
 * leases (at most `maxLeases`, a budget of their own, so leases never starve the shared path).
 *
 * Events (none of them can crash the process when nobody listens, and a throwing listener cannot disturb the
 * pool): `connect` (connection id), `close` (connection id, error), `down` (error: the pool cannot reach the
 * server), `up` (reachable again), `closing` (`disconnect()` was called), `error` (each failed connect, emitted
 * only when listened to).
 */
export class ConnectionPool extends PoolSurface implements RequestOwner, RedisPool {
  /** Held in a private field: `inspect()` (even with `customInspect: false`), spreading and JSON never see it. */
  readonly #config: ResolvedPoolOptions;
  readonly address: string;
  private readonly supervisor: ConnectionSupervisor;
  private readonly dispatcher: SharedDispatcher;
  private readonly leased = new Set<Connection>();
  private readonly waiters = new WaiterQueue();
  private isDown = false;
  /** Requests waiting out a backoff before they are sent again, with their timers. */
  private readonly delayed = new Map<CommandRequest, NodeJS.Timeout>();

  constructor(options: PoolOptions = {}) {
    super();
    const merged = options.url !== undefined ? mergeUrlOptions(options.url, options) : options;
    const config = resolvePoolOptions(merged);
    this.#config = config;
    this.address = addressOf(config.connection);
    this.supervisor = new ConnectionSupervisor(
      () => this.#config.connection,
      {
        ...config.retry,
        maxLifetimeMs: config.maxLifetimeMs,
        idleTimeoutMs: config.idleTimeoutMs,
      },
      {
        opened: (connection, waiter) => this.onOpened(connection, waiter),
        openFailed: (error, waiter) => this.onOpenFailed(error, waiter),
        closed: (connection, cause) => this.onClosed(connection, cause),
        maintain: () => this.maintain(),
      },
    );
    this.dispatcher = new SharedDispatcher(
      {
        address: this.address,
        canGrowShared: () => this.canGrowShared(),
        growShared: () => this.supervisor.spawn(null),
        ensureShared: () => this.ensureShared(),
        inBackoff: () => this.supervisor.inBackoff,
        lastConnectError: () => this.supervisor.lastError,
      },
      {
        maxQueueLength: config.maxQueueLength,
        maxPendingPerConnection: config.maxPendingPerConnection,
      },
    );
    for (let i = 0; i < config.minIdle; i++) this.supervisor.spawn(null);
  }

  /**
   * A pool from a `redis://`, `rediss://` or `unix://` URL; explicit `options` win over the URL.
   * @throws ConfigurationError naming the problem, with the password masked.
   */
  static fromUrl(url: string, options: PoolOptions = {}): ConnectionPool {
    return new ConnectionPool({ ...options, url });
  }

  protected get description(): string {
    return `pool for ${this.address}`;
  }

  /** Most shared (multiplexed) connections. */
  get maxConnections(): number {
    return this.#config.maxConnections;
  }

  /** Most exclusive leases at once. */
  get maxLeases(): number {
    return this.#config.maxLeases;
  }

  /**
   * Runs one command with per-call options. In multiplexed dispatch it is pipelined with other callers' commands
   * on the least busy shared connection; blocking and stateful commands are refused here with
   * `CommandNotAllowedError` (use `withConnection`). Rejects with `TypeError` for a bad argument or name before
   * anything is queued. An aborted `signal` withdraws a command not yet written (`AbortError`,
   * `commandMayHaveRun: false`).
   */
  execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const buffers = options?.buffers ?? false;
    if (this.#config.dispatch === 'exclusive') {
      return this.withConnection((c) =>
        c.executeWith<T>(command, args, buffers, options?.timeoutMs, options?.signal),
      );
    }
    let encoded: EncodedCommand;
    let name: string;
    let sent: readonly RedisArgument[];
    try {
      const words = commandWords(command);
      name = words.name;
      sent = sentArgs(words, args);
      encoded = encodeCommand(command, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const flags = commandFlags(name);
    const refusal = sharedPathRefusal(name, sent, flags);
    if (refusal !== undefined) return Promise.reject(new CommandNotAllowedError(refusal));
    const timeoutMs = options?.timeoutMs ?? this.#config.commandTimeoutMs;
    const request = new CommandRequest(
      name,
      encoded,
      buffers,
      timeoutMs > 0 ? Date.now() + timeoutMs : Infinity,
      unsettled,
      unsettled,
      options?.retryable === true || (flags & READ_ONLY_FLAG) !== 0,
      this,
    );
    request.timeoutMs = timeoutMs;
    const promise = settledBy<T>(request);
    if (options?.signal !== undefined) request.watch(options.signal);
    this.dispatcher.dispatch(request);
    return promise;
  }

  /**
   * Leases a connection for your exclusive use (redis-py's `get_connection`): for blocking commands,
   * transactions and anything stateful. Waits up to `acquireTimeoutMs` when all `maxLeases` are held, then
   * rejects with `PoolExhaustedError`. Give it back with `release()`.
   */
  getConnection(): Promise<Connection> {
    if (this.closed) return Promise.reject(this.closedError());
    const config = this.#config;
    if (this.leased.size < config.maxLeases) {
      const idle = this.dispatcher.takeIdle();
      if (idle !== null) {
        this.lease(idle);
        return this.checkHealth(idle);
      }
    }
    const room = this.leaseRoom();
    if (room && this.supervisor.inBackoff) {
      return Promise.reject(this.supervisor.lastError as Error);
    }
    if (this.waiters.length >= config.maxQueueLength) {
      return Promise.reject(
        new PoolExhaustedError(`Too many callers waiting for a connection to ${this.address}`),
      );
    }
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (connection) => {
          clearWaiterTimer(waiter);
          this.checkHealth(connection).then(resolve, reject);
        },
        reject: (error) => {
          clearWaiterTimer(waiter);
          reject(error);
        },
        timer: null,
        prev: null,
        next: null,
        queued: false,
      };
      if (config.acquireTimeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          waiter.timer = null;
          this.waiters.remove(waiter);
          reject(
            new PoolExhaustedError(
              `No connection to ${this.address} became free within ${config.acquireTimeoutMs} ms (${this.leased.size} of ${config.maxLeases} leases held)`,
            ),
          );
        }, timerDelay(config.acquireTimeoutMs));
      }
      this.waiters.push(waiter);
      if (room) this.supervisor.spawn(waiter);
    });
  }

  /**
   * Gives a lease back. State the lease changed is undone first (DISCARD, UNWATCH, SELECT back) or, for
   * subscriptions, tracking, identity changes or replies still outstanding, the connection is discarded.
   * Releasing twice, or a connection that is not leased, does nothing.
   */
  release(connection: Connection): void {
    if (!this.leased.has(connection)) return;
    const restored = this.closed ? false : restoreLease(connection, this.#config.connection.db);
    if (restored === true) {
      this.leased.delete(connection);
      this.placeReleased(connection);
    } else if (restored === false) {
      this.leased.delete(connection);
      if (this.closed) connection.destroy();
      this.afterLeaseFreed();
    } else {
      // Still counted as leased while its state is restored, so nobody else can take it meanwhile.
      void restored.then((clean) => {
        this.leased.delete(connection);
        if (clean && !this.closed) this.placeReleased(connection);
        else if (clean) connection.destroy();
        else this.afterLeaseFreed();
      });
    }
  }

  /**
   * Refuses new work (`PoolClosedError`), lets in-flight commands and leases finish until `drainTimeoutMs`,
   * then closes every socket (QUIT where it is idle). Idempotent: later calls return the same promise.
   */
  disconnect(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    return this.closeOnce(() =>
      this.shutDown(options.drainTimeoutMs ?? this.#config.drainTimeoutMs),
    );
  }

  /** A snapshot of the pool. */
  stats(): PoolStats {
    let idle = 0;
    let pending = this.dispatcher.queued;
    for (const connection of this.dispatcher.connections) {
      if (connection.pending === 0) idle++;
      pending += connection.pending;
    }
    return {
      total: this.supervisor.all.size,
      idle,
      leased: this.leased.size,
      connecting: this.supervisor.connectingCount,
      pending,
      queued: this.dispatcher.queued,
      waiting: this.waiters.length,
      maxConnections: this.#config.maxConnections,
      maxLeases: this.#config.maxLeases,
    };
  }

  /** Never shows credentials. */
  toJSON(): Record<string, unknown> {
    return {
      address: this.address,
      db: this.#config.connection.db,
      tls: this.#config.connection.tls !== undefined,
      dispatch: this.#config.dispatch,
      closed: this.closed,
      ...this.stats(),
    };
  }

  /**
   * @internal Takes back a command whose connection died, when it is safe to send again: it was never written,
   * or it is read-only (or opted in) and this is the first time a connection died with it in flight. A reply
   * that kills its connection (over `client-output-buffer-limit`) is thus not resent in a loop.
   */
  retry(request: CommandRequest, error: ConnectionError): boolean {
    if (this.closed || request.attempts >= this.#config.retry.attempts) return false;
    if (error.commandMayHaveRun && (!request.idempotent || request.diedInFlight > 1)) return false;
    if (Date.now() >= request.deadline) return false;
    request.attempts++;
    request.written = false;
    this.dispatcher.dispatch(request, false);
    return true;
  }

  /** @internal Takes back a command the server refused to run for now (LOADING), to send after a backoff. */
  retryLater(request: CommandRequest, error: ResponseError): boolean {
    if (this.closed) return false;
    const { baseDelayMs, maxDelayMs } = this.#config.retry;
    const delay = backoffDelay(request.attempts + 1, baseDelayMs, maxDelayMs);
    if (Date.now() + delay >= request.deadline) return false;
    request.attempts++;
    request.written = false;
    this.supervisor.lastError = error;
    const timer = setTimeout(() => {
      this.delayed.delete(request);
      if (this.closed) request.reject(this.closedError());
      else this.dispatcher.dispatch(request, false);
    }, delay);
    this.delayed.set(request, timer);
    return true;
  }

  /** Shared connections open or being opened. */
  private sharedCount(): number {
    return this.dispatcher.connections.length + this.supervisor.connectingShared;
  }

  /** Room for one more shared connection, none being opened, and no backoff in force. */
  private canGrowShared(): boolean {
    return (
      this.supervisor.connectingShared === 0 &&
      this.sharedCount() < this.#config.maxConnections &&
      this.supervisor.mayConnect &&
      !this.closed
    );
  }

  /** Room in the lease budget for one more connection opened for a waiter. */
  private leaseRoom(): boolean {
    return this.leased.size + this.supervisor.connectingLeases < this.#config.maxLeases;
  }

  /** Opens a shared connection for queued work when the budget and the backoff allow. */
  private ensureShared(): void {
    if (this.closed || this.supervisor.connectingShared > 0) return;
    if (this.sharedCount() >= this.#config.maxConnections) return;
    this.supervisor.spawnAfterBackoff(() => this.wantsShared());
  }

  /** Queued commands wait, or fewer than `minIdle` shared connections are open. */
  private wantsShared(): boolean {
    return this.dispatcher.queued > 0 || this.sharedCount() < this.#config.minIdle;
  }

  private onOpened(connection: Connection, waiter: Waiter | null): void {
    // While closing, a new connection is still welcome if commands accepted before the close wait for it.
    if (this.closed && this.dispatcher.queued === 0) {
      connection.destroy();
      return;
    }
    this.supervisor.adopt(connection);
    if (this.isDown) {
      this.isDown = false;
      emitSafely(this, 'up');
    }
    emitSafely(this, 'connect', connection.id);
    if (waiter !== null && waiter.queued) {
      this.waiters.remove(waiter);
      this.lease(connection);
      waiter.resolve(connection);
    } else if (waiter !== null) {
      this.placeReleased(connection);
    } else {
      this.dispatcher.add(connection);
    }
  }

  private onOpenFailed(error: Error, waiter: Waiter | null): void {
    if (this.closed) return;
    if (isLoading(error)) {
      // Reachable but still loading: keep every caller's work queued (within its deadline) and try again soon.
      this.ensureShared();
      return;
    }
    const serving = this.dispatcher.connections.some((c) => c.ready);
    if (!serving && this.leased.size === 0 && !this.isDown) {
      this.isDown = true;
      emitSafely(this, 'down', error);
    }
    if (this.listenerCount('error') > 0) emitSafely(this, 'error', error);
    if (waiter !== null && waiter.queued) {
      this.waiters.remove(waiter);
      waiter.reject(error);
    }
    const fatal = isFatal(error);
    // A failed extra connection (e.g. maxclients) leaves the pool serving on what it has; it grows later.
    if (!serving || fatal) this.dispatcher.failQueued(error, fatal);
    if (fatal) {
      for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) w.reject(error);
    }
    if (this.wantsShared()) this.ensureShared();
  }

  private onClosed(connection: Connection, cause: Error | undefined): void {
    const wasLeased = this.leased.delete(connection);
    this.dispatcher.remove(connection);
    emitSafely(this, 'close', connection.id, cause);
    if (this.closed) return;
    if (wasLeased) this.afterLeaseFreed();
    if (this.wantsShared()) this.ensureShared();
  }

  /** A lease ended without its connection coming back: open one for the oldest waiter. */
  private afterLeaseFreed(): void {
    if (this.closed || this.waiters.length === 0) return;
    if (this.leaseRoom() && !this.supervisor.inBackoff) this.supervisor.spawn(this.waiters.peek());
  }

  /** A clean connection with no lease: the oldest waiter gets it, else the shared set, else it retires. */
  private placeReleased(connection: Connection): void {
    const waiter = this.waiters.shift();
    if (waiter !== null) {
      this.lease(connection);
      waiter.resolve(connection);
    } else if (this.dispatcher.connections.length < this.#config.maxConnections) {
      this.dispatcher.add(connection);
    } else {
      this.supervisor.retire(connection);
    }
  }

  private lease(connection: Connection): void {
    connection.lease.clear();
    this.leased.add(connection);
  }

  /** PINGs a lease that has been idle longer than `healthCheckIntervalMs`; a dead one is replaced. */
  private async checkHealth(connection: Connection): Promise<Connection> {
    const interval = this.#config.healthCheckIntervalMs;
    if (interval === 0 || Date.now() - connection.lastActiveAt < interval) return connection;
    try {
      await connection.executeWith('PING', [], false, this.#config.connection.connectTimeoutMs);
      return connection;
    } catch {
      this.leased.delete(connection);
      connection.destroy();
      return this.getConnection();
    }
  }

  /** Reaps idle shared connections above `minIdle`, retires old ones, and keeps `minIdle` warm. */
  private maintain(): void {
    if (this.closed) return;
    const now = Date.now();
    const { idleTimeoutMs, minIdle } = this.#config;
    for (const connection of [...this.dispatcher.connections]) {
      const tooOld = this.supervisor.tooOld(connection, now);
      const tooIdle =
        idleTimeoutMs > 0 &&
        connection.pending === 0 &&
        now - connection.lastActiveAt > idleTimeoutMs;
      if (tooOld || (tooIdle && this.dispatcher.connections.length > minIdle)) {
        this.dispatcher.remove(connection);
        this.supervisor.retire(connection);
      }
    }
    if (this.sharedCount() < minIdle && this.supervisor.mayConnect) this.supervisor.spawn(null);
  }

  private async shutDown(drainTimeoutMs: number): Promise<void> {
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) {
      w.reject(this.closedError());
    }
    for (const [request, timer] of this.delayed) {
      clearTimeout(timer);
      request.reject(this.closedError());
    }
    this.delayed.clear();
    this.supervisor.stop();
    const deadline = Date.now() + drainTimeoutMs;
    while (Date.now() < deadline && !this.drained()) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.dispatcher.rejectAll(() => this.closedError());
    const closing: Array<Promise<void>> = [];
    // QUIT gets what is left of the drain deadline (a little at least), so a frozen server cannot stretch it.
    const quitWithinMs = Math.max(20, deadline - Date.now());
    for (const connection of this.supervisor.everyConnection()) {
      if (connection.ready && connection.pending === 0) {
        closing.push(connection.disconnect(quitWithinMs));
      } else {
        connection.destroy(this.closedError());
        closing.push(connection.whenClosed());
      }
    }
    await Promise.all(closing);
  }

  private drained(): boolean {
    if (this.dispatcher.queued > 0 || this.leased.size > 0) return false;
    for (const connection of this.supervisor.all) if (connection.pending > 0) return false;
    return true;
  }
}

function clearWaiterTimer(waiter: Waiter): void {
  if (waiter.timer !== null) clearTimeout(waiter.timer);
  waiter.timer = null;
}
