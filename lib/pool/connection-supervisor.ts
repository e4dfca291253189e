import { Connection } from '../connection/connection';
import type { ConnectionOptions } from '../connection/connection-options';
import { AuthenticationError, ResponseError } from '../errors/redis-pool.errors';
import { timerDelay } from '../utils/deadline';
import type { PoolTelemetry } from '../observability/pool-telemetry';
import { whenReadyTraced } from '../observability/trace';
import { backoffDelay } from './backoff';
import type { Waiter } from './waiter-queue';

/** The server is up but replaying its data set: it will answer soon, and ran nothing meanwhile. */
export function isLoading(error: Error): boolean {
  return error instanceof ResponseError && error.code === 'LOADING';
}

/**
 * Errors that no retry will cure: wrong credentials, missing permission, bad db, failed TLS verification. A full
 * server (`maxclients`) and a loading one are passing conditions, not fatal.
 */
export function isFatal(error: Error): boolean {
  if (error instanceof ResponseError) return !isLoading(error) && !isServerFull(error);
  if (error instanceof AuthenticationError) return true;
  const code = (error.cause as { code?: string } | undefined)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code);
}

/** `ERR max number of clients reached`: this attempt failed, the connections already open still serve. */
function isServerFull(error: ResponseError): boolean {
  return /max(imum)? number of clients/i.test(error.message);
}

/** What the supervisor tells its pool. */
export interface SupervisorHost {
  /** A connection finished its handshake; `waiter` is the lease request it was opened for, if any. */
  opened(connection: Connection, waiter: Waiter | null): void;
  /** An attempt failed; the backoff is already recorded. */
  openFailed(error: Error, waiter: Waiter | null): void;
  /** An adopted connection closed. */
  closed(connection: Connection, cause: Error | undefined): void;
  /** Runs the periodic upkeep (idle reaping, lifetimes, `minIdle`). */
  maintain(): void;
}

/** Backoff settings of the supervisor. */
export interface SupervisorSettings {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Connections older than this (with ±10 % jitter) are retired; 0 keeps them. */
  maxLifetimeMs: number;
  /** The period of `maintain()` follows it (between 100 ms and 1 s). */
  idleTimeoutMs: number;
}

/**
 * Opens the pool's connections and keeps track of them: every open connection and those being opened (and
 * for whom); the reconnect backoff (exponential with jitter, pool-wide, per attempt); and the
 * maintenance timer. It decides nothing about where a connection goes: that is the pool's.
 */
export class ConnectionSupervisor {
  /** Every open connection: shared, leased, spare or being retired. */
  readonly all = new Set<Connection>();
  private readonly connecting = new Map<Connection, Waiter | null>();
  private sharedAttempts = 0;
  private failures = 0;
  private downUntil = 0;
  /** The last reason a connection could not be opened. */
  lastError: Error | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private leaseRetryTimer: NodeJS.Timeout | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private readonly lifetimes = new WeakMap<Connection, number>();
  private stopped = false;

  constructor(
    private readonly options: () => ConnectionOptions,
    private readonly settings: SupervisorSettings,
    private readonly host: SupervisorHost,
    private readonly telemetry?: PoolTelemetry,
  ) {}

  /** Connections being opened. */
  get connectingCount(): number {
    return this.connecting.size;
  }

  /** Connections being opened for the shared path. */
  get connectingShared(): number {
    return this.sharedAttempts;
  }

  /** Connections being opened for lease waiters. */
  get connectingLeases(): number {
    return this.connecting.size - this.sharedAttempts;
  }

  /** The backoff after the last failure has passed (or there was none). */
  get mayConnect(): boolean {
    return Date.now() >= this.downUntil;
  }

  /** A failure a moment ago and no attempt under way: new work fails fast. */
  get inBackoff(): boolean {
    return this.failures > 0 && Date.now() < this.downUntil && this.connecting.size === 0;
  }

  /** Opens one connection; `waiter` is the lease request it is opened for, or `null` for the shared path. */
  spawn(waiter: Waiter | null): void {
    if (this.stopped) return;
    const options = this.options();
    const connection = Connection.open(options);
    this.connecting.set(connection, waiter);
    if (waiter === null) this.sharedAttempts++;
    whenReadyTraced(connection, options).then(
      () => {
        this.settle(connection);
        this.telemetry?.opened(connection);
        this.host.opened(connection, waiter);
      },
      (error: Error) => {
        this.settle(connection);
        if (this.stopped) return;
        this.failures++;
        this.lastError = error;
        this.downUntil =
          Date.now() +
          backoffDelay(this.failures, this.settings.baseDelayMs, this.settings.maxDelayMs);
        this.host.openFailed(error, waiter);
      },
    );
  }

  private settle(connection: Connection): void {
    if (this.connecting.get(connection) === null) this.sharedAttempts--;
    this.connecting.delete(connection);
  }

  /**
   * Opens a shared connection once the backoff allows; several calls meanwhile open one. The wait keeps the
   * process alive only when work waits for it (`keepAlive`): refilling `minIdle` alone never holds a process that
   * forgot to close its pool.
   */
  spawnAfterBackoff(stillWanted: () => boolean, keepAlive = true): void {
    if (this.stopped) return;
    if (this.reconnectTimer !== null) {
      if (keepAlive) this.reconnectTimer.ref();
      return;
    }
    const wait = this.downUntil - Date.now();
    if (wait <= 0) {
      this.spawn(null);
      return;
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (stillWanted()) this.spawnAfterBackoff(stillWanted, keepAlive);
    }, timerDelay(wait));
    if (!keepAlive) this.reconnectTimer.unref();
  }

  /** Runs `retry` once the backoff has passed (lease waiters that could not be served during it). */
  afterBackoff(retry: () => void): void {
    if (this.stopped || this.leaseRetryTimer !== null) return;
    this.leaseRetryTimer = setTimeout(
      () => {
        this.leaseRetryTimer = null;
        if (!this.stopped) retry();
      },
      timerDelay(this.downUntil - Date.now()),
    );
  }

  /** Takes an opened connection into the pool: the backoff resets, and closing it is reported. */
  adopt(connection: Connection): void {
    this.all.add(connection);
    this.failures = 0;
    this.downUntil = 0;
    const { maxLifetimeMs } = this.settings;
    if (maxLifetimeMs > 0)
      this.lifetimes.set(connection, maxLifetimeMs * (0.9 + Math.random() * 0.2));
    connection.once('close', (cause?: Error) => {
      this.all.delete(connection);
      this.telemetry?.closed(connection, cause);
      this.host.closed(connection, cause);
      if (this.all.size === 0) this.stopMaintenance();
    });
    if (!this.stopped) this.startMaintenance();
  }

  /** Whether a connection has outlived its (jittered) `maxLifetimeMs`. */
  tooOld(connection: Connection, now: number): boolean {
    const lifetime = this.lifetimes.get(connection);
    return lifetime !== undefined && now - connection.createdAt > lifetime;
  }

  /** Closes a connection gracefully: its outstanding replies arrive first, so retiring loses nothing. */
  retire(connection: Connection): void {
    void connection.disconnect();
  }

  private startMaintenance(): void {
    if (this.maintenanceTimer !== null) return;
    const every = Math.max(100, Math.min(1000, this.settings.idleTimeoutMs || 1000));
    this.maintenanceTimer = setInterval(() => this.host.maintain(), every).unref();
  }

  private stopMaintenance(): void {
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
  }

  /** No more connections are opened and no timer runs (the pool is closing). */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.leaseRetryTimer !== null) clearTimeout(this.leaseRetryTimer);
    this.reconnectTimer = null;
    this.leaseRetryTimer = null;
    this.stopMaintenance();
  }

  /** Every connection, open or still connecting. */
  everyConnection(): Connection[] {
    return [...this.all, ...this.connecting.keys()];
  }
}
