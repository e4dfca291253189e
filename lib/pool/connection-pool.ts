import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { commandFlags, READ_ONLY_FLAG, sharedPathRefusal } from '../connection/command-policy';
import { Connection } from '../connection/connection';
import { addressOf } from '../connection/connection-options';
import {
  CommandRequest,
  settledBy,
  unsettled,
  type RequestOwner,
} from '../connection/command-request';
import {
  AuthenticationError,
  CommandNotAllowedError,
  ConnectionError,
  PoolClosedError,
  PoolExhaustedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { commandName, encodeCommand, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { Fifo } from '../utils/fifo';
import { backoffDelay } from './backoff';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './pool-options';
import { mergeUrlOptions } from './redis-url';
import type { CommandOptions, PoolStats, RedisPool } from './redis-pool.interface';
import { WaiterQueue, type Waiter } from './waiter-queue';

/**
 * When shared connections have this many replies outstanding each, another connection is opened (up to
 * `maxConnections`); below it, one deeper pipeline is faster than more sockets. A command carrying a large value
 * counts as this many on its own.
 */
const GROW_AT_PENDING = 128;

/** Errors that no retry will cure: wrong credentials, missing permission, bad db, failed TLS verification. */
function isFatal(error: Error): boolean {
  if (error instanceof ResponseError) return !isLoading(error);
  if (error instanceof AuthenticationError) return true;
  const code = (error.cause as { code?: string } | undefined)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code);
}

/** The server is up but replaying its data set: it will answer soon, and ran nothing meanwhile. */
function isLoading(error: Error): boolean {
  return error instanceof ResponseError && error.code === 'LOADING';
}

/**
 * A pool of Redis connections, modelled on redis-py's `ConnectionPool` (`getConnection`, `release`,
 * `disconnect`, `maxConnections`) and multiplexed: `executeCommand` pipelines every caller's commands over the
 * shared connections, while `getConnection`/`withConnection` hand out exclusive leases for blocking and
 * stateful work.
 *
 * Events (none of them can crash the process when nobody listens): `connect` (connection id), `close`
 * (connection id, error), `down` (error: the pool cannot reach the server), `up` (reachable again),
 * `closing` (`disconnect()` was called), `error` (each failed connect, emitted only when listened to).
 */
export class ConnectionPool extends EventEmitter implements RequestOwner, RedisPool {
  private readonly config: ResolvedPoolOptions;
  private readonly address: string;
  private readonly all = new Set<Connection>();
  private readonly connecting = new Set<Connection>();
  private shared: Connection[] = [];
  private readonly leased = new Set<Connection>();
  private readonly retiring = new Set<Connection>();
  /** Commands waiting for a shared connection. */
  private backlog = new Fifo<CommandRequest>();
  private backlogTimer: NodeJS.Timeout | null = null;
  private backlogTimerAt = Infinity;
  private readonly waiters = new WaiterQueue();
  /**
   * The shared connection chosen for this event-loop turn: every command issued in one turn goes to it, so that
   * `Promise.all([set(k), get(k)])` runs in order and leaves in one write. The turn lasts while that connection
   * holds commands not yet written (its coalesced flush ends it); rebalancing happens between turns.
   */
  private turnConnection: Connection | null = null;
  /** A shared connection set aside to become a lease once its replies are in. */
  private reservedForLease: Connection | null = null;
  private failures = 0;
  private lastConnectError: Error | null = null;
  private downUntil = 0;
  private isDown = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private readonly lifetimes = new WeakMap<Connection, number>();
  /** Requests waiting out a backoff before they are sent again, with their timers. */
  private readonly delayed = new Map<CommandRequest, NodeJS.Timeout>();

  constructor(options: PoolOptions = {}) {
    super();
    const merged = options.url !== undefined ? mergeUrlOptions(options.url, options) : options;
    this.config = resolvePoolOptions(merged);
    this.address = addressOf(this.config.connection);
    for (let i = 0; i < this.config.minIdle; i++) this.spawn(null);
  }

  /**
   * A pool from a `redis://`, `rediss://` or `unix://` URL; explicit `options` win over the URL.
   * @throws ConfigurationError naming the problem, with the password masked.
   */
  static fromUrl(url: string, options: PoolOptions = {}): ConnectionPool {
    return new ConnectionPool({ ...options, url });
  }

  /** Largest number of connections. */
  get maxConnections(): number {
    return this.config.maxConnections;
  }

  /** Whether `disconnect()` has been called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Runs one command. In multiplexed dispatch it is pipelined with other callers' commands on the least busy
   * shared connection; blocking and stateful commands are refused here with `CommandNotAllowedError` (use
   * `withConnection`). Rejects with `TypeError` for a bad argument before anything is queued.
   */
  executeCommand<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.execute<T>(command, args);
  }

  /** `executeCommand` with per-call options. */
  execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    if (this.config.dispatch === 'exclusive') {
      return this.withConnection((c) =>
        c.executeWith<T>(command, args, options?.buffers ?? false, options?.timeoutMs),
      );
    }
    let encoded: EncodedCommand;
    try {
      encoded = encodeCommand(command, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const name = commandName(command);
    const flags = commandFlags(name);
    const refusal = sharedPathRefusal(name, args, flags);
    if (refusal !== undefined) return Promise.reject(new CommandNotAllowedError(refusal));
    const timeoutMs = options?.timeoutMs ?? this.config.commandTimeoutMs;
    const request = new CommandRequest(
      name,
      encoded,
      options?.buffers ?? false,
      timeoutMs > 0 ? Date.now() + timeoutMs : Infinity,
      unsettled,
      unsettled,
      options?.retryable === true || (flags & READ_ONLY_FLAG) !== 0,
      this,
    );
    request.timeoutMs = timeoutMs;
    const promise = settledBy<T>(request);
    this.dispatch(request);
    return promise;
  }

  /**
   * Leases a connection for your exclusive use (redis-py's `get_connection`): for blocking commands,
   * transactions and anything stateful. Waits up to `acquireTimeoutMs` when all `maxConnections` are busy, then
   * rejects with `PoolExhaustedError`. Give it back with `release()`.
   */
  getConnection(): Promise<Connection> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    const idle = this.takeIdle();
    if (idle !== null) return this.checkHealth(idle);
    const room = this.all.size + this.connecting.size < this.config.maxConnections;
    if (room && this.inBackoff()) return Promise.reject(this.lastConnectError as Error);
    if (this.waiters.length >= this.config.maxQueueLength) {
      return Promise.reject(
        new PoolExhaustedError(`Too many callers waiting for a connection to ${this.address}`),
      );
    }
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (connection) => {
          this.clearWaiterTimer(waiter);
          this.checkHealth(connection).then(resolve, reject);
        },
        reject: (error) => {
          this.clearWaiterTimer(waiter);
          reject(error);
        },
        timer: null,
        prev: null,
        next: null,
        queued: false,
      };
      if (this.config.acquireTimeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          waiter.timer = null;
          this.waiters.remove(waiter);
          reject(
            new PoolExhaustedError(
              `No connection to ${this.address} became free within ${this.config.acquireTimeoutMs} ms (${this.leased.size} of ${this.config.maxConnections} leased)`,
            ),
          );
        }, this.config.acquireTimeoutMs);
      }
      this.waiters.push(waiter);
      if (room) this.spawn(waiter);
      else this.reserveForLease();
    });
  }

  /**
   * Gives a lease back. State the lease changed is undone first (DISCARD, UNWATCH, SELECT back) or, for
   * subscriptions, tracking, identity changes or replies still outstanding, the connection is discarded.
   * Releasing twice, or a connection that is not leased, does nothing.
   */
  release(connection: Connection): void {
    if (!this.leased.delete(connection)) return;
    if (this.closing !== null || !connection.ready) {
      connection.destroy();
      this.afterCapacityFreed();
      return;
    }
    const lease = connection.lease;
    if (connection.pending > 0 || lease.mustDiscard || connection.subscribed) {
      if (connection.pending > 0) connection.destroy();
      else void connection.disconnect();
      this.afterCapacityFreed();
      return;
    }
    if (!lease.dirty) {
      this.place(connection);
      return;
    }
    const undo: Array<Promise<unknown>> = [];
    if (lease.inMulti) undo.push(connection.executeCommand('DISCARD').catch(() => undefined));
    if (lease.watching || lease.inMulti) undo.push(connection.executeCommand('UNWATCH'));
    if (lease.selectedDb !== undefined && lease.selectedDb !== this.config.connection.db) {
      undo.push(connection.executeCommand('SELECT', this.config.connection.db));
    }
    this.leased.add(connection);
    Promise.all(undo).then(
      () => {
        lease.clear();
        this.leased.delete(connection);
        if (this.closing !== null) connection.destroy();
        else this.place(connection);
      },
      () => {
        this.leased.delete(connection);
        connection.destroy();
        this.afterCapacityFreed();
      },
    );
  }

  /** Leases a connection, runs `fn` with it, and always releases it. */
  async withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await this.getConnection();
    try {
      return await fn(connection);
    } finally {
      this.release(connection);
    }
  }

  /**
   * Refuses new work (`PoolClosedError`), lets in-flight commands and leases finish until `drainTimeoutMs`,
   * then closes every socket (QUIT where it is idle). Idempotent: later calls return the same promise.
   */
  disconnect(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing === null) {
      this.closing = this.shutDown(options.drainTimeoutMs ?? this.config.drainTimeoutMs);
      // Lease holders that never finish on their own (subscribers) hear it here and give their lease back.
      this.emit('closing');
    }
    return this.closing;
  }

  /** A snapshot of the pool. */
  stats(): PoolStats {
    let idle = 0;
    let pending = this.backlog.length;
    for (const connection of this.shared) {
      if (connection.pending === 0) idle++;
      pending += connection.pending;
    }
    return {
      total: this.all.size,
      idle,
      leased: this.leased.size,
      connecting: this.connecting.size,
      pending,
      queued: this.backlog.length,
      waiting: this.waiters.length,
      maxConnections: this.config.maxConnections,
    };
  }

  /** Never shows credentials. */
  [inspect.custom](): string {
    return `ConnectionPool ${inspect(this.toJSON())}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      address: this.address,
      db: this.config.connection.db,
      tls: this.config.connection.tls !== undefined,
      dispatch: this.config.dispatch,
      closed: this.closed,
      ...this.stats(),
    };
  }

  /** @internal Takes back a command whose connection died, when it is safe to send again. */
  retry(request: CommandRequest, error: ConnectionError): boolean {
    if (this.closing !== null || request.attempts >= this.config.retry.attempts) return false;
    if (error.commandMayHaveRun && !request.idempotent) return false;
    if (Date.now() >= request.deadline) return false;
    request.attempts++;
    request.written = false;
    const connection = this.pickShared();
    if (connection !== null) {
      connection.enqueue(request);
    } else {
      this.queue(request);
      this.ensureConnection();
    }
    return true;
  }

  /** @internal Takes back a command the server refused to run for now (LOADING), to send after a backoff. */
  retryLater(request: CommandRequest, error: ResponseError): boolean {
    if (this.closing !== null) return false;
    const { baseDelayMs, maxDelayMs } = this.config.retry;
    const delay = backoffDelay(request.attempts + 1, baseDelayMs, maxDelayMs);
    if (Date.now() + delay >= request.deadline) return false;
    request.attempts++;
    request.written = false;
    this.lastConnectError = error;
    const timer = setTimeout(() => {
      this.delayed.delete(request);
      if (this.closing !== null) request.reject(this.closedError());
      else this.dispatch(request);
    }, delay);
    this.delayed.set(request, timer);
    return true;
  }

  private dispatch(request: CommandRequest): void {
    const connection = this.pickShared();
    if (connection !== null) {
      connection.enqueue(request);
      return;
    }
    if (this.inBackoff()) {
      // The server was unreachable a moment ago: fail fast rather than pile up work until it returns.
      request.reject(this.lastConnectError as Error);
      return;
    }
    if (this.backlog.length >= this.config.maxQueueLength) {
      request.reject(
        new PoolExhaustedError(`Too many commands waiting for a connection to ${this.address}`),
      );
      return;
    }
    this.queue(request);
    this.ensureConnection();
  }

  /** The least busy ready shared connection, opening another when every one is deep in replies. */
  private pickShared(): Connection | null {
    const sticky = this.turnConnection;
    // This turn's commands share one write, so they run in the order issued, large values or not.
    if (sticky !== null && sticky.hasUnwritten && sticky.ready && !sticky.stalled) {
      if (sticky.pending >= GROW_AT_PENDING && this.canGrow() && !this.isDown) this.spawn(null);
      return sticky;
    }
    const chosen = this.leastBusyShared();
    this.turnConnection = chosen;
    return chosen;
  }

  private leastBusyShared(): Connection | null {
    const shared = this.shared;
    let best: Connection | null = null;
    let bestLoad = Infinity;
    let stalled: Connection | null = null;
    for (let i = 0; i < shared.length; i++) {
      const connection = shared[i];
      if (!connection.ready) continue;
      if (connection.stalled) {
        stalled ??= connection;
        continue;
      }
      // A large value in flight counts as a deep pipeline: the next one goes to (or opens) another connection,
      // and the server writes to each of its clients in the same turn.
      const load = connection.pending + connection.largePending * GROW_AT_PENDING;
      if (load < bestLoad) {
        best = connection;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    const canGrow = this.canGrow();
    if ((best === null || bestLoad >= GROW_AT_PENDING) && canGrow && !this.isDown) this.spawn(null);
    return best ?? (canGrow ? null : stalled);
  }

  /** Room for one more connection, and none being opened already. */
  private canGrow(): boolean {
    return this.connecting.size === 0 && this.all.size < this.config.maxConnections;
  }

  private queue(request: CommandRequest): void {
    this.backlog.push(request);
    if (request.deadline < this.backlogTimerAt) this.armBacklogTimer(request.deadline);
  }

  /** Sends queued commands to the shared connections, oldest first. */
  private flushBacklog(): void {
    while (this.backlog.length > 0) {
      const request = this.backlog.peek() as CommandRequest;
      if (request.done) {
        this.backlog.shift();
        continue;
      }
      const connection = this.pickShared();
      if (connection === null) return;
      this.backlog.shift();
      connection.enqueue(request);
    }
  }

  private armBacklogTimer(at: number): void {
    if (this.backlogTimer !== null) clearTimeout(this.backlogTimer);
    this.backlogTimerAt = at;
    this.backlogTimer = setTimeout(() => this.expireBacklog(), Math.max(0, at - Date.now()));
  }

  private expireBacklog(): void {
    this.backlogTimer = null;
    this.backlogTimerAt = Infinity;
    const now = Date.now();
    const kept = new Fifo<CommandRequest>();
    let next = Infinity;
    for (
      let request = this.backlog.shift();
      request !== undefined;
      request = this.backlog.shift()
    ) {
      if (request.done) continue;
      if (request.deadline <= now) {
        const cause = this.lastConnectError;
        request.reject(
          new TimeoutError(
            `${request.name} to ${this.address} timed out waiting for a connection${cause !== null ? ` (last error: ${cause.message})` : ''}`,
            { cause: cause ?? undefined },
          ),
        );
        continue;
      }
      kept.push(request);
      if (request.deadline < next) next = request.deadline;
    }
    this.backlog = kept;
    if (next !== Infinity) this.armBacklogTimer(next);
  }

  /** Opens a connection when queued work needs one and the backoff allows it. */
  private ensureConnection(): void {
    if (this.closing !== null || this.connecting.size > 0) return;
    if (this.all.size >= this.config.maxConnections) return;
    const wait = this.downUntil - Date.now();
    if (wait > 0) {
      this.reconnectTimer ??= setTimeout(() => {
        this.reconnectTimer = null;
        if (this.wantsConnection()) this.ensureConnection();
      }, wait);
      return;
    }
    this.spawn(null);
  }

  /** Opens one connection; `waiter` is the lease request it is opened for, if any. */
  private spawn(waiter: Waiter | null): void {
    const connection = Connection.open(this.config.connection);
    this.connecting.add(connection);
    connection.whenReady().then(
      () => {
        this.connecting.delete(connection);
        // While closing, a new connection is still welcome if commands accepted before the close wait for it.
        if (this.closing !== null && this.backlog.length === 0) {
          connection.destroy();
          return;
        }
        this.adopt(connection);
        if (waiter !== null && waiter.queued) {
          this.waiters.remove(waiter);
          this.lease(connection, waiter);
        } else {
          this.place(connection);
        }
      },
      (error: Error) => {
        this.connecting.delete(connection);
        this.onConnectFailed(error, waiter);
      },
    );
  }

  private adopt(connection: Connection): void {
    this.all.add(connection);
    this.failures = 0;
    this.downUntil = 0;
    if (this.isDown) {
      this.isDown = false;
      this.emit('up');
    }
    if (this.config.maxLifetimeMs > 0) {
      this.lifetimes.set(connection, this.config.maxLifetimeMs * (0.9 + Math.random() * 0.2));
    }
    connection.once('close', (cause?: Error) => this.onConnectionClosed(connection, cause));
    this.emit('connect', connection.id);
    this.startMaintenance();
  }

  private onConnectFailed(error: Error, waiter: Waiter | null): void {
    if (this.closing !== null) return;
    this.failures++;
    this.lastConnectError = error;
    this.downUntil =
      Date.now() +
      backoffDelay(this.failures, this.config.retry.baseDelayMs, this.config.retry.maxDelayMs);
    if (isLoading(error)) {
      // Reachable but still loading: keep every caller's work queued (within its deadline) and try again soon.
      this.ensureConnection();
      return;
    }
    if (!this.isDown) {
      this.isDown = true;
      this.emit('down', error);
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (waiter !== null && waiter.queued) {
      this.waiters.remove(waiter);
      waiter.reject(error);
    }
    // Fresh commands get the real cause now; commands already being retried wait for the server within their
    // deadline, unless no retry can cure the failure.
    const fatal = isFatal(error);
    const kept = new Fifo<CommandRequest>();
    for (
      let request = this.backlog.shift();
      request !== undefined;
      request = this.backlog.shift()
    ) {
      if (request.done) continue;
      if (fatal || request.attempts === 0) request.reject(error);
      else kept.push(request);
    }
    this.backlog = kept;
    if (fatal) {
      for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) w.reject(error);
    }
    if (this.wantsConnection()) this.ensureConnection();
  }

  private onConnectionClosed(connection: Connection, cause?: Error): void {
    this.all.delete(connection);
    this.leased.delete(connection);
    this.retiring.delete(connection);
    this.removeShared(connection);
    if (this.reservedForLease === connection) this.reservedForLease = null;
    this.emit('close', connection.id, cause);
    if (this.closing !== null) return;
    if (this.all.size === 0) this.stopMaintenance();
    this.afterCapacityFreed();
  }

  /** A slot opened up: open a connection for the oldest waiter, or for queued commands. */
  private afterCapacityFreed(): void {
    if (this.closing !== null) return;
    const room = this.all.size + this.connecting.size < this.config.maxConnections;
    if (this.waiters.length > 0 && room && !this.inBackoff()) this.spawn(this.waiters.peek());
    else if (this.wantsConnection()) this.ensureConnection();
  }

  /** Someone still needs a connection: queued commands, lease waiters, or fewer than `minIdle` open. */
  private wantsConnection(): boolean {
    return (
      this.backlog.length > 0 || this.waiters.length > 0 || this.all.size < this.config.minIdle
    );
  }

  /** The server failed us a moment ago and no attempt is under way: new work fails fast. */
  private inBackoff(): boolean {
    return this.isDown && Date.now() < this.downUntil && this.connecting.size === 0;
  }

  /** Takes a connection out of the shared set (it is leased, reserved, retired or closed). */
  private removeShared(connection: Connection): void {
    const at = this.shared.indexOf(connection);
    if (at !== -1) this.shared.splice(at, 1);
    if (this.turnConnection === connection) this.turnConnection = null;
  }

  /** Puts a connection to use: the oldest lease waiter gets it, else it joins the shared set. */
  private place(connection: Connection): void {
    const waiter = this.waiters.shift();
    if (waiter !== null) {
      this.lease(connection, waiter);
      return;
    }
    this.shared.push(connection);
    this.flushBacklog();
  }

  private lease(connection: Connection, waiter: Waiter): void {
    connection.lease.clear();
    this.leased.add(connection);
    waiter.resolve(connection);
  }

  /** A shared connection with nothing outstanding, taken out of the shared set. */
  private takeIdle(): Connection | null {
    for (let i = 0; i < this.shared.length; i++) {
      const connection = this.shared[i];
      if (connection.ready && connection.pending === 0 && connection !== this.reservedForLease) {
        this.removeShared(connection);
        connection.lease.clear();
        this.leased.add(connection);
        return connection;
      }
    }
    return null;
  }

  /**
   * At `maxConnections`, a waiter is served by draining a shared connection: it gets no new commands, and once
   * its replies are in it becomes the lease.
   */
  private reserveForLease(): void {
    if (this.reservedForLease !== null) return;
    let candidate: Connection | null = null;
    for (const connection of this.shared) {
      if (connection.ready && (candidate === null || connection.pending < candidate.pending))
        candidate = connection;
    }
    if (candidate === null) return;
    const connection = candidate;
    this.reservedForLease = connection;
    this.removeShared(connection);
    const handOver = () => {
      this.reservedForLease = null;
      if (!connection.ready) return;
      if (this.waiters.length === 0 || this.closing !== null) {
        this.place(connection);
        return;
      }
      this.lease(connection, this.waiters.shift() as Waiter);
      // Several callers may have queued while this one drained: set the next connection aside for them.
      if (this.waiters.length > 0) this.reserveForLease();
    };
    if (connection.pending === 0) handOver();
    else connection.onDrained = handOver;
  }

  /** PINGs a lease that has been idle longer than `healthCheckIntervalMs`; a dead one is replaced. */
  private async checkHealth(connection: Connection): Promise<Connection> {
    const interval = this.config.healthCheckIntervalMs;
    if (interval === 0 || Date.now() - connection.lastActiveAt < interval) return connection;
    try {
      await connection.executeWith('PING', [], false, this.config.connection.connectTimeoutMs);
      return connection;
    } catch {
      this.leased.delete(connection);
      connection.destroy();
      return this.getConnection();
    }
  }

  private clearWaiterTimer(waiter: Waiter): void {
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    waiter.timer = null;
  }

  private startMaintenance(): void {
    if (this.maintenanceTimer !== null) return;
    const every = Math.max(100, Math.min(1000, this.config.idleTimeoutMs || 1000));
    this.maintenanceTimer = setInterval(() => this.maintain(), every).unref();
  }

  private stopMaintenance(): void {
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
  }

  /** Reaps idle connections above `minIdle`, retires old ones, and keeps `minIdle` warm. */
  private maintain(): void {
    if (this.closing !== null) return;
    const now = Date.now();
    const { idleTimeoutMs, minIdle } = this.config;
    for (const connection of [...this.shared]) {
      const lifetime = this.lifetimes.get(connection);
      const tooOld = lifetime !== undefined && now - connection.createdAt > lifetime;
      const tooIdle =
        idleTimeoutMs > 0 &&
        connection.pending === 0 &&
        now - connection.lastActiveAt > idleTimeoutMs;
      if ((tooOld || tooIdle) && (tooOld || this.all.size - this.retiring.size > minIdle)) {
        this.removeShared(connection);
        this.retiring.add(connection);
        // disconnect() lets outstanding replies arrive before QUIT, so retiring loses nothing.
        void connection.disconnect();
      }
    }
    if (this.all.size - this.retiring.size + this.connecting.size < minIdle && !this.isDown)
      this.spawn(null);
  }

  private closedError(): PoolClosedError {
    return new PoolClosedError(`The pool for ${this.address} is closed`);
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
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopMaintenance();
    const deadline = Date.now() + drainTimeoutMs;
    while (Date.now() < deadline && !this.drained()) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (this.backlogTimer !== null) clearTimeout(this.backlogTimer);
    this.backlogTimer = null;
    for (
      let request = this.backlog.shift();
      request !== undefined;
      request = this.backlog.shift()
    ) {
      request.reject(this.closedError());
    }
    const closing: Array<Promise<void>> = [];
    // QUIT gets what is left of the drain deadline (a little at least), so a frozen server cannot stretch it.
    const quitWithinMs = Math.max(20, deadline - Date.now());
    for (const connection of [...this.all, ...this.connecting]) {
      if (connection.ready && connection.pending === 0) {
        closing.push(connection.disconnect(quitWithinMs));
      } else {
        connection.destroy(this.closedError());
        closing.push(connection.whenClosed());
      }
    }
    await Promise.all(closing);
    this.shared = [];
  }

  private drained(): boolean {
    if (this.backlog.length > 0 || this.leased.size > 0) return false;
    for (const connection of this.all) if (connection.pending > 0) return false;
    return true;
  }
}
