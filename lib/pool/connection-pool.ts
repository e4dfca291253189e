import { ClientCache } from '../client-cache/client-cache';
import { emptyCacheStats, type CacheStats } from '../client-cache/client-cache.options';
import { commandFlags, READ_ONLY_FLAG, sharedPathRefusal } from '../connection/command-policy';
import type { Connection } from '../connection/connection';
import { addressOf } from '../connection/connection-options';
import { CommandRequest, settledBy, type RequestOwner } from '../connection/command-request';
import {
  CommandNotAllowedError,
  ConnectionError,
  ResponseError,
} from '../errors/redis-pool.errors';
import { commandWords, sentArgs, type CommandWords } from '../protocol/command-name';
import { encodeWords, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { ConnectionSupervisor } from './connection-supervisor';
import { LeaseManager } from './lease-manager';
import { checkUrlGiven } from './option-checks';
import { checkPoolOptions } from './pool-option-checks';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './pool-options';
import { PoolSurface } from './pool-surface';
import { PoolUpkeep } from './pool-upkeep';
import type { CommandOptions, PoolStats, RedisPool } from './redis-pool.interface';
import { mergeUrlOptions } from './redis-url';
import { drainAndClose, poolStats, type StatsSources } from './pool-parts';
import { Resender } from './resender';
import { SharedDispatcher } from './shared-dispatcher';
import { commandChannel } from '../observability/channels';
import { PoolTelemetry } from '../observability/pool-telemetry';
import { traceDispatch } from '../observability/trace';
import { sharedRequest } from './shared-request';

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
  private readonly leases: LeaseManager;
  /** Answers the supervisor's reports, opens shared connections for queued work, and keeps `down`. */
  private readonly upkeep: PoolUpkeep;
  /** Requests waiting out a backoff before they are sent again, with their timers. */
  private readonly resender: Resender;
  /** @internal Counters, the lease-wait histogram and the diagnostics channels (lib/observability). */
  readonly telemetry: PoolTelemetry;
  /** The client-side cache (`clientSideCache`), or `null`. */
  private readonly cache: ClientCache | null;

  constructor(options: PoolOptions = {}) {
    super();
    // Keys first, before a URL is merged in: a mistyped key whose value is undefined is still a mistake.
    checkPoolOptions(options);
    const merged = options.url !== undefined ? mergeUrlOptions(options.url, options) : options;
    const config = resolvePoolOptions(merged);
    this.#config = config;
    this.address = addressOf(config.connection);
    this.telemetry = PoolTelemetry.attach(this, config, merged.name);
    this.cache = config.clientSideCache === null ? null : new ClientCache(config.clientSideCache);
    this.supervisor = new ConnectionSupervisor(
      () => this.#config.connection,
      {
        ...config.retry,
        maxLifetimeMs: config.maxLifetimeMs,
        idleTimeoutMs: config.idleTimeoutMs,
      },
      {
        opened: (connection, waiter) => this.upkeep.opened(connection, waiter),
        openFailed: (error, waiter) => this.upkeep.openFailed(error, waiter),
        closed: (connection, cause) => this.upkeep.closed(connection, cause),
        maintain: () => this.upkeep.maintain(),
      },
      this.telemetry,
    );
    this.dispatcher = new SharedDispatcher(
      {
        address: this.address,
        canGrowShared: () => this.canGrowShared(),
        growShared: () => this.supervisor.spawn(null),
        ensureShared: () => this.upkeep.ensureShared(),
        inBackoff: () => this.supervisor.inBackoff,
        lastConnectError: () => this.supervisor.lastError,
      },
      {
        maxQueueLength: config.maxQueueLength,
        maxPendingPerConnection: config.maxPendingPerConnection,
      },
      this.telemetry,
    );
    this.leases = new LeaseManager(
      {
        address: this.address,
        closed: () => this.closed,
        closedError: () => this.closedError(),
        takeIdleShared: () => this.dispatcher.takeIdle(),
        returnShared: (connection) => {
          if (this.dispatcher.connections.length >= config.maxConnections) return false;
          this.dispatcher.add(connection);
          return true;
        },
        retire: (connection) => this.supervisor.retire(connection),
        spawnFor: (waiter) => this.supervisor.spawn(waiter),
        connectingLeases: () => this.supervisor.connectingLeases,
        inBackoff: () => this.supervisor.inBackoff,
        afterBackoff: (retry) => this.supervisor.afterBackoff(retry),
        lastError: () => this.supervisor.lastError,
      },
      {
        maxLeases: config.maxLeases,
        acquireTimeoutMs: config.acquireTimeoutMs,
        maxQueueLength: config.maxQueueLength,
        healthCheckIntervalMs: config.healthCheckIntervalMs,
        connectTimeoutMs: config.connection.connectTimeoutMs,
        db: config.connection.db,
      },
      this.telemetry,
    );
    this.resender = new Resender(
      {
        closed: () => this.closed,
        closedError: () => this.closedError(),
        dispatch: (request) => this.dispatcher.dispatch(request, false),
        refusedWith: (error) => {
          this.supervisor.lastError = error;
        },
      },
      config.retry,
      this.telemetry,
    );
    this.upkeep = new PoolUpkeep(
      this,
      {
        supervisor: this.supervisor,
        dispatcher: this.dispatcher,
        leases: this.leases,
        cache: this.cache,
        sharedCount: () => this.sharedCount(),
      },
      {
        maxConnections: config.maxConnections,
        minIdle: config.minIdle,
        idleTimeoutMs: config.idleTimeoutMs,
      },
    );
    for (let i = 0; i < config.minIdle; i++) this.supervisor.spawn(null);
  }

  /**
   * A pool from a `redis://`, `rediss://` or `unix://` URL; explicit `options` win over the URL. A missing URL
   * (`undefined`, `''`: an unset environment variable) is an error, never a silent `localhost:6379`.
   * @throws ConfigurationError naming the problem, with the password masked.
   */
  static fromUrl(url: string, options: PoolOptions = {}): ConnectionPool {
    checkUrlGiven(url, options?.name, 'ConnectionPool.fromUrl()');
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
    // Read once, without an object per command: this runs for every command sent.
    let words: CommandWords;
    let encoded: EncodedCommand;
    try {
      words = commandWords(command);
      // A cache hit needs no encoding: every entry was read with arguments that encoded.
      const hit = this.cache?.hit<T>(words, args, buffers, options?.signal);
      if (hit !== undefined) return hit;
      encoded = encodeWords(words, args, command);
    } catch (error) {
      return Promise.reject(error);
    }
    const name = words.name;
    const sent = sentArgs(words, args);
    const flags = commandFlags(name);
    const refusal = sharedPathRefusal(name, sent, flags);
    if (refusal !== undefined) return Promise.reject(new CommandNotAllowedError(refusal));
    const timeoutMs = options?.timeoutMs ?? this.#config.commandTimeoutMs;
    const idempotent = options?.retryable === true || (flags & READ_ONLY_FLAG) !== 0;
    const request = sharedRequest(
      this.cache,
      name,
      sent,
      encoded,
      buffers,
      timeoutMs,
      idempotent,
      this,
    );
    request.timeoutMs = timeoutMs;
    const promise = settledBy<T>(request);
    if (options?.signal !== undefined) request.watch(options.signal);
    if (commandChannel.hasSubscribers) {
      return traceDispatch(this.telemetry, name, sent, this.dispatcher, request, promise);
    }
    this.dispatcher.dispatch(request);
    return promise;
  }

  /**
   * Leases a connection for your exclusive use (redis-py's `get_connection`): for blocking commands,
   * transactions and anything stateful. Waits up to `acquireTimeoutMs` when all `maxLeases` are held, then
   * rejects with `PoolExhaustedError`. Give it back with `release()`.
   */
  getConnection(): Promise<Connection> {
    return this.leases.acquire();
  }

  /**
   * Gives a lease back. State the lease changed is undone first (DISCARD, UNWATCH, SELECT back) or, for
   * subscriptions, tracking, identity changes or replies still outstanding, the connection is discarded.
   * Releasing twice, or a connection that is not leased, does nothing.
   */
  release(connection: Connection): void {
    this.leases.release(connection);
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

  /** Whether the pool is down: it serves on no connection and its last connection attempt failed. */
  get down(): boolean {
    return this.upkeep.down;
  }

  /**
   * @internal The oldest `silentSince` of the shared connections: since when one has awaited replies without
   * hearing from the server (`Infinity`: none waits). The cluster reads it to tell a frozen node.
   */
  silentSince(): number {
    let since = Infinity;
    for (const connection of this.dispatcher.connections) {
      since = Math.min(since, connection.silentSince);
    }
    return since;
  }

  /** A snapshot of the pool. */
  stats(): PoolStats {
    return poolStats(this.parts());
  }

  /** The client-side cache's counters (all zero without `clientSideCache`). */
  cacheStats(): CacheStats {
    return this.cache?.stats() ?? emptyCacheStats();
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
    return this.resender.afterConnectionLoss(request, error);
  }

  /** @internal Takes back a command the server refused to run for now (LOADING), to send after a backoff. */
  retryLater(request: CommandRequest, error: ResponseError): boolean {
    return this.resender.later(request, error);
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

  private shutDown(drainTimeoutMs: number): Promise<void> {
    return drainAndClose(
      { ...this.parts(), rejectBackoffs: (error) => this.resender.rejectWaiting(error) },
      () => this.closedError(),
      drainTimeoutMs,
    );
  }

  private parts(): StatsSources {
    return {
      supervisor: this.supervisor,
      dispatcher: this.dispatcher,
      leases: this.leases,
      telemetry: this.telemetry,
      maxConnections: this.#config.maxConnections,
      maxLeases: this.#config.maxLeases,
    };
  }
}
