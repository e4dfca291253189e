import type { EventEmitter } from 'node:events';
import type { ClientCache } from '../client-cache/client-cache';
import type { Connection } from '../connection/connection';
import { emitSafely } from '../utils/safe-emit';
import {
  isFatal,
  isLoading,
  type ConnectionSupervisor,
  type SupervisorHost,
} from './connection-supervisor';
import type { LeaseManager } from './lease-manager';
import type { ResolvedPoolOptions } from './pool-options';
import type { SharedDispatcher } from './shared-dispatcher';
import type { Waiter } from './waiter-queue';

/** The pool an upkeep works for: it emits the pool's events and stops when the pool is closed. */
export interface UpkeepPool extends EventEmitter {
  readonly closed: boolean;
}

/** The parts of a `ConnectionPool` its upkeep moves connections between. */
export interface UpkeepParts {
  supervisor: ConnectionSupervisor;
  dispatcher: SharedDispatcher;
  leases: LeaseManager;
  cache: ClientCache | null;
  /** Shared connections open or being opened. */
  sharedCount(): number;
}

/** The settings the upkeep reads: numbers only, so that no credential is reachable from it. */
export type UpkeepSettings = Pick<
  ResolvedPoolOptions,
  'maxConnections' | 'minIdle' | 'idleTimeoutMs'
>;

/**
 * What a pool does with its supervisor's reports: a connection opened goes to the lease request it was opened
 * for or joins the shared set, a failed attempt fails the work that waited for it, a closed one leaves; the
 * periodic upkeep reaps and retires shared connections and keeps `minIdle` warm; and shared connections are
 * opened for queued work. It keeps the pool's `down` state (emitting `up` and `down`) and the last fatal error.
 */
export class PoolUpkeep implements SupervisorHost {
  private isDown = false;
  /**
   * A failure no retry cures (refused credentials, an ACL denial, TLS verification) since the last connection
   * opened: the pool then opens no connection on its own (for `minIdle`), only for a caller's command.
   */
  private fatalError: Error | null = null;

  constructor(
    private readonly pool: UpkeepPool,
    private readonly parts: UpkeepParts,
    private readonly settings: UpkeepSettings,
  ) {}

  /** Whether the pool serves on no connection and its last connection attempt failed. */
  get down(): boolean {
    return this.isDown;
  }

  /** Opens a shared connection for queued work when the budget and the backoff allow. */
  ensureShared(): void {
    const { supervisor, dispatcher } = this.parts;
    if (this.pool.closed || supervisor.connectingShared > 0) return;
    if (this.parts.sharedCount() >= this.settings.maxConnections) return;
    supervisor.spawnAfterBackoff(() => this.wantsShared(), dispatcher.hasBacklog);
  }

  /** Queued commands wait, or fewer than `minIdle` shared connections are open (and retrying may help). */
  private wantsShared(): boolean {
    return this.parts.dispatcher.queued > 0 || this.wantsMinIdle();
  }

  private wantsMinIdle(): boolean {
    return this.fatalError === null && this.parts.sharedCount() < this.settings.minIdle;
  }

  opened(connection: Connection, waiter: Waiter | null): void {
    const { supervisor, dispatcher, leases, cache } = this.parts;
    // While closing, a new connection is still welcome if commands accepted before the close wait for it.
    if (this.pool.closed && dispatcher.queued === 0) {
      connection.destroy();
      return;
    }
    supervisor.adopt(connection);
    cache?.attach(connection);
    this.fatalError = null;
    if (this.isDown) {
      this.isDown = false;
      emitSafely(this.pool, 'up');
    }
    emitSafely(this.pool, 'connect', connection.id);
    if (waiter !== null) leases.opened(connection, waiter);
    else dispatcher.add(connection);
  }

  openFailed(error: Error, waiter: Waiter | null): void {
    if (this.pool.closed) return;
    if (isLoading(error)) {
      // Reachable but still loading: keep every caller's work queued (within its deadline) and try again soon.
      this.ensureShared();
      return;
    }
    const { dispatcher, leases } = this.parts;
    const serving = dispatcher.connections.some((c) => c.ready);
    if (!serving && leases.leased.size === 0 && !this.isDown) {
      this.isDown = true;
      emitSafely(this.pool, 'down', error);
    }
    if (this.pool.listenerCount('error') > 0) emitSafely(this.pool, 'error', error);
    leases.failed(waiter, error);
    const fatal = isFatal(error);
    if (fatal) this.fatalError = error;
    // A failed extra connection (e.g. maxclients) leaves the pool serving on what it has; it grows later.
    if (!serving || fatal) dispatcher.failQueued(error, fatal);
    if (fatal) leases.rejectAll(() => error);
    if (this.wantsShared()) this.ensureShared();
  }

  closed(connection: Connection, cause: Error | undefined): void {
    this.parts.leases.closed(connection);
    this.parts.dispatcher.remove(connection);
    emitSafely(this.pool, 'close', connection.id, cause);
    if (!this.pool.closed && this.wantsShared()) this.ensureShared();
  }

  /** Reaps idle shared connections above `minIdle`, retires old ones, and keeps `minIdle` warm. */
  maintain(): void {
    if (this.pool.closed) return;
    const { supervisor, dispatcher, leases } = this.parts;
    const now = Date.now();
    const { idleTimeoutMs, minIdle } = this.settings;
    for (const connection of [...dispatcher.connections]) {
      const tooOld = supervisor.tooOld(connection, now);
      const tooIdle =
        idleTimeoutMs > 0 &&
        connection.pending === 0 &&
        now - connection.lastActiveAt > idleTimeoutMs;
      if (tooOld || (tooIdle && dispatcher.connections.length > minIdle)) {
        dispatcher.remove(connection);
        supervisor.retire(connection);
      }
    }
    leases.reapSpare(now, idleTimeoutMs);
    if (this.wantsMinIdle() && supervisor.mayConnect) supervisor.spawn(null);
  }
}
