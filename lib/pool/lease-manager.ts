import type { Connection } from '../connection/connection';
import { PoolExhaustedError } from '../errors/redis-pool.errors';
import { timerDelay } from '../utils/deadline';
import type { PoolTelemetry } from '../observability/pool-telemetry';
import { restoreLease } from './lease-restore';
import { WaiterQueue, type Waiter } from './waiter-queue';

/** What the lease manager needs from its pool. */
export interface LeaseHost {
  readonly address: string;
  closed(): boolean;
  closedError(): Error;
  /** An idle shared connection, taken out of the shared set, or `null`. */
  takeIdleShared(): Connection | null;
  /** A clean connection nobody waits for joins the shared set; `false` when that is full. */
  returnShared(connection: Connection): boolean;
  /** Closes a connection gracefully (its replies arrive first). */
  retire(connection: Connection): void;
  /** Opens a connection for `waiter`. */
  spawnFor(waiter: Waiter): void;
  /** Connections being opened for waiters. */
  connectingLeases(): number;
  /** A connect failed a moment ago and no attempt is under way: fail fast with `lastError()`. */
  inBackoff(): boolean;
  /** Calls `retry` once the backoff has passed. */
  afterBackoff(retry: () => void): void;
  lastError(): Error | null;
}

/** The limits of leasing. */
export interface LeaseSettings {
  maxLeases: number;
  acquireTimeoutMs: number;
  maxQueueLength: number;
  healthCheckIntervalMs: number;
  /** The PING of a health check gets this long. */
  connectTimeoutMs: number;
  /** The db a returned lease is switched back to. */
  db: number;
}

/**
 * Exclusive leases (redis-py's `get_connection`/`release`), on a budget of their own (`maxLeases`), so that
 * blocked workers never starve the shared path. Waiters are served oldest first; a returned lease is made clean
 * (or discarded) before anyone else gets it; a lease idle for `healthCheckIntervalMs` is PINGed first.
 */
export class LeaseManager {
  readonly leased = new Set<Connection>();
  readonly waiters = new WaiterQueue();
  /**
   * Clean connections returned by leases that the shared set had no room for, kept (within the lease budget) for
   * the next lease instead of being closed and opened again.
   */
  private readonly spare: Connection[] = [];

  constructor(
    private readonly host: LeaseHost,
    private readonly settings: LeaseSettings,
    private readonly telemetry?: PoolTelemetry,
  ) {}

  /** Room in the budget for one more connection opened for a waiter. */
  get room(): boolean {
    return (
      this.leased.size + this.spare.length + this.host.connectingLeases() < this.settings.maxLeases
    );
  }

  /** Spare connections kept for the next lease. */
  get spareCount(): number {
    return this.spare.length;
  }

  /** A lease: an idle shared connection when the budget allows, else a new one or the next one returned. */
  acquire(): Promise<Connection> {
    if (this.host.closed()) return Promise.reject(this.host.closedError());
    const { maxLeases, maxQueueLength, acquireTimeoutMs } = this.settings;
    if (this.leased.size < maxLeases) {
      const idle = this.spare.pop() ?? this.host.takeIdleShared();
      if (idle !== null) {
        this.hold(idle);
        this.telemetry?.leased(idle, 0);
        return this.checkHealth(idle);
      }
    }
    const room = this.room;
    if (room && this.host.inBackoff()) return Promise.reject(this.host.lastError() as Error);
    if (this.waiters.length >= maxQueueLength) {
      return Promise.reject(
        new PoolExhaustedError(`Too many callers waiting for a connection to ${this.host.address}`),
      );
    }
    const waitingSince = this.telemetry?.waitStarted(this.waiters.length + 1) ?? 0;
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (connection) => {
          clearWaiterTimer(waiter);
          this.telemetry?.leased(connection, this.telemetry.waitEnded(waitingSince, 'acquired'));
          this.checkHealth(connection).then(resolve, reject);
        },
        reject: (error) => {
          clearWaiterTimer(waiter);
          this.telemetry?.waitEnded(waitingSince, 'failed');
          reject(error);
        },
        timer: null,
        prev: null,
        next: null,
        queued: false,
      };
      if (acquireTimeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          waiter.timer = null;
          this.waiters.remove(waiter);
          this.telemetry?.waitEnded(waitingSince, 'timeout');
          reject(
            new PoolExhaustedError(
              `No connection to ${this.host.address} became free within ${acquireTimeoutMs} ms (${this.leased.size} of ${maxLeases} leases held)`,
            ),
          );
        }, timerDelay(acquireTimeoutMs));
      }
      this.waiters.push(waiter);
      if (room) this.host.spawnFor(waiter);
    });
  }

  /** Gives a lease back: restored and passed on, or discarded (see `restoreLease`). */
  release(connection: Connection): void {
    if (!this.leased.has(connection)) return;
    this.telemetry?.released(connection);
    const closed = this.host.closed();
    const restored = closed ? false : restoreLease(connection, this.settings.db);
    if (restored === true) {
      this.leased.delete(connection);
      this.place(connection);
    } else if (restored === false) {
      this.leased.delete(connection);
      if (closed) connection.destroy();
      this.afterLeaseFreed();
    } else {
      // Still counted as leased while its state is restored, so nobody else can take it meanwhile.
      void restored.then((clean) => {
        this.leased.delete(connection);
        if (clean && !this.host.closed()) this.place(connection);
        else if (clean) connection.destroy();
        else this.afterLeaseFreed();
      });
    }
  }

  /** A connection opened for `waiter`: that waiter gets it if still waiting, else it is placed as returned. */
  opened(connection: Connection, waiter: Waiter): void {
    if (waiter.queued) {
      this.waiters.remove(waiter);
      this.hold(connection);
      waiter.resolve(connection);
    } else {
      this.place(connection);
    }
  }

  /** A connection opened for `waiter` failed: that waiter hears the real cause. */
  failed(waiter: Waiter | null, error: Error): void {
    if (waiter === null || !waiter.queued) return;
    this.waiters.remove(waiter);
    waiter.reject(error);
  }

  /** Rejects every waiter (a failure no retry cures, or the pool closed). */
  rejectAll(error: () => Error): void {
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) w.reject(error());
  }

  /** A connection closed; if it was leased (or spare), its budget is free again. */
  closed(connection: Connection): void {
    const at = this.spare.indexOf(connection);
    if (at !== -1) this.spare.splice(at, 1);
    this.telemetry?.released(connection);
    if (this.leased.delete(connection) && !this.host.closed()) this.afterLeaseFreed();
  }

  /** Retires spare connections idle longer than `idleTimeoutMs` (0 keeps them). */
  reapSpare(now: number, idleTimeoutMs: number): void {
    if (idleTimeoutMs === 0) return;
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const connection = this.spare[i];
      if (now - connection.lastActiveAt > idleTimeoutMs) {
        this.spare.splice(i, 1);
        this.host.retire(connection);
      }
    }
  }

  /** A clean connection with no lease: the oldest waiter gets it, else the shared path, else it is kept spare. */
  private place(connection: Connection): void {
    const waiter = this.waiters.shift();
    if (waiter !== null) {
      this.hold(connection);
      waiter.resolve(connection);
    } else if (this.host.returnShared(connection)) {
      return;
    } else if (this.leased.size + this.spare.length < this.settings.maxLeases) {
      this.spare.push(connection);
    } else {
      this.host.retire(connection);
    }
  }

  /** A lease ended without its connection coming back: open one for the oldest waiter. */
  private afterLeaseFreed(): void {
    if (this.host.closed() || this.waiters.length === 0 || !this.room) return;
    if (this.host.inBackoff()) this.host.afterBackoff(() => this.afterLeaseFreed());
    else this.host.spawnFor(this.waiters.peek() as Waiter);
  }

  private hold(connection: Connection): void {
    connection.lease.clear();
    this.leased.add(connection);
  }

  /** PINGs a lease that has been idle longer than `healthCheckIntervalMs`; a dead one is replaced. */
  private async checkHealth(connection: Connection): Promise<Connection> {
    const { healthCheckIntervalMs, connectTimeoutMs } = this.settings;
    if (
      healthCheckIntervalMs === 0 ||
      Date.now() - connection.lastActiveAt < healthCheckIntervalMs
    ) {
      return connection;
    }
    try {
      await connection.executeWith('PING', [], false, connectTimeoutMs);
      return connection;
    } catch {
      this.leased.delete(connection);
      connection.destroy();
      return this.acquire();
    }
  }
}

function clearWaiterTimer(waiter: Waiter): void {
  if (waiter.timer !== null) clearTimeout(waiter.timer);
  waiter.timer = null;
}
