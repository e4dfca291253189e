import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../connection/connection';
import { addressOf, type ConnectionOptions } from '../connection/connection-options';
import type { ResolvedPoolOptions } from '../pool/pool-options';
import type { PoolStats } from '../pool/redis-pool.interface';
import type { RedisArgument } from '../protocol/resp.types';
import {
  connectionCloseChannel,
  connectionCreateChannel,
  leaseAcquireChannel,
  leaseReleaseChannel,
  leaseWaitEndChannel,
  leaseWaitStartChannel,
  poolDownChannel,
  poolUpChannel,
} from './channels';
import type { CommandTraceContext, ConnectionTelemetry, ServerTarget } from './command-context';
import { redactArgs } from './redact';
import { targetOf } from './server-target';
import { WaitHistogram } from './wait-histogram';

/** What the telemetry reads from its pool. */
export interface ObservedPool extends EventEmitter {
  readonly closed: boolean;
  stats(): PoolStats;
}

/** The counters a pool's `stats()` adds from its telemetry. */
export interface TelemetryStats {
  timeouts: number;
  commandTimeouts: number;
  reconnects: number;
  retries: number;
  resendsRefused: number;
  leaseWaitP50Ms: number;
  leaseWaitP99Ms: number;
  leaseWaitMaxMs: number;
}

/** Live pools, for the metrics that read every pool's stats (the OpenTelemetry bridge's gauges). */
const live = new Set<WeakRef<PoolTelemetry>>();

/** The telemetry of every pool not yet closed (or closed and still holding connections). */
export function livePools(): PoolTelemetry[] {
  const pools: PoolTelemetry[] = [];
  for (const ref of live) {
    const telemetry = ref.deref();
    if (telemetry === undefined || telemetry.finished) live.delete(ref);
    else pools.push(telemetry);
  }
  return pools;
}

/**
 * One pool's observability: its cheap counters (read by `stats()`), the lease-wait histogram, and the point
 * channels of its connections, leases and state. Everything here runs per connection or per lease, never per
 * multiplexed command; each publish first asks `hasSubscribers`.
 */
export class PoolTelemetry implements ConnectionTelemetry {
  readonly serverAddress: string;
  readonly serverPort: number | undefined;
  readonly database: number;
  /** Lease waits and queued commands that timed out waiting for a connection (`db.client.connection.timeouts`). */
  timeouts = 0;
  /** Commands that timed out after they were handed to a connection. */
  commandTimeouts = 0;
  /** Connections opened to replace one lost (closed with an error while the pool was open). */
  reconnects = 0;
  /** Commands sent again after their connection failed, or after a LOADING reply. */
  retries = 0;
  /** Commands not sent again because they may have run (at-most-once). */
  resendsRefused = 0;
  readonly leaseWaits = new WaitHistogram();
  /** The pool's bound on callers waiting (`maxQueueLength`), for the liveness check. */
  maxQueueLength = Infinity;
  /** The pool said `down` (no connection serves, the last connect failed) and not `up` since. */
  down = false;
  /** Connections lost and not replaced yet. */
  private owed = 0;
  /** When each current lease was handed out (`performance.now()`); at most `maxLeases` entries. */
  private readonly leasedAt = new Map<Connection, number>();

  constructor(
    private readonly pool: ObservedPool,
    options: ConnectionOptions,
    readonly poolName: string,
  ) {
    const target = targetOf(options, poolName);
    this.serverAddress = target.serverAddress;
    this.serverPort = target.serverPort;
    this.database = target.database;
    live.add(new WeakRef(this));
    pool.on('down', (error: Error) => {
      this.down = true;
      if (poolDownChannel.hasSubscribers) poolDownChannel.publish(this.stateEvent('down', error));
    });
    pool.on('up', () => {
      this.down = false;
      if (poolUpChannel.hasSubscribers) poolUpChannel.publish(this.stateEvent('up', undefined));
    });
  }

  /**
   * The telemetry of a new pool, set on its connection options too (so its connections count their timeouts
   * and name the pool in their traces). Without a `name`, the pool is named `host:port/db`.
   */
  static attach(pool: ObservedPool, config: ResolvedPoolOptions, name?: string): PoolTelemetry {
    const options = config.connection;
    const telemetry = new PoolTelemetry(
      pool,
      options,
      name ?? `${addressOf(options)}/${options.db}`,
    );
    telemetry.maxQueueLength = config.maxQueueLength;
    options.telemetry = telemetry;
    return telemetry;
  }

  /** Closed and every connection gone: no longer reported. */
  get finished(): boolean {
    return this.pool.closed && this.pool.stats().total === 0;
  }

  /** The pool's stats (for gauges). */
  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** What `stats()` adds. */
  stats(): TelemetryStats {
    const now = Date.now();
    return {
      timeouts: this.timeouts,
      commandTimeouts: this.commandTimeouts,
      reconnects: this.reconnects,
      retries: this.retries,
      resendsRefused: this.resendsRefused,
      leaseWaitP50Ms: this.leaseWaits.percentile(0.5, now),
      leaseWaitP99Ms: this.leaseWaits.percentile(0.99, now),
      leaseWaitMaxMs: this.leaseWaits.max(now),
    };
  }

  /** The context of one command on this pool (only built when someone subscribed). */
  commandContext(
    command: string,
    args: readonly RedisArgument[],
    connectionId?: number,
  ): CommandTraceContext {
    return {
      command,
      args: redactArgs(command, args),
      database: this.database,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      poolName: this.poolName,
      connectionId,
    };
  }

  /** A connection finished its handshake. */
  opened(connection: Connection): void {
    if (this.owed > 0) {
      this.owed--;
      this.reconnects++;
    }
    if (connectionCreateChannel.hasSubscribers) {
      connectionCreateChannel.publish({
        ...this.target(),
        connectionId: connection.id,
        createTimeMs: Date.now() - connection.createdAt,
      });
    }
  }

  /** An adopted connection closed; one closed by an error while the pool is open is owed a replacement. */
  closed(connection: Connection, error: Error | undefined): void {
    if (error !== undefined && !this.pool.closed) this.owed++;
    if (connectionCloseChannel.hasSubscribers) {
      connectionCloseChannel.publish({ ...this.target(), connectionId: connection.id, error });
    }
  }

  /** A caller starts waiting for a lease; returns the start time for `waitEnded`. */
  waitStarted(waiting: number): number {
    if (leaseWaitStartChannel.hasSubscribers) {
      leaseWaitStartChannel.publish({ ...this.target(), waiting });
    }
    return performance.now();
  }

  /** A caller stopped waiting; returns how long it waited. */
  waitEnded(startedAt: number, outcome: 'acquired' | 'timeout' | 'failed'): number {
    const waitMs = performance.now() - startedAt;
    if (outcome === 'timeout') this.timeouts++;
    if (leaseWaitEndChannel.hasSubscribers) {
      leaseWaitEndChannel.publish({ ...this.target(), waitMs, outcome });
    }
    return waitMs;
  }

  /** A lease was handed out after `waitMs`. */
  leased(connection: Connection, waitMs: number): void {
    this.leaseWaits.record(waitMs);
    this.leasedAt.set(connection, performance.now());
    if (leaseAcquireChannel.hasSubscribers) {
      leaseAcquireChannel.publish({ ...this.target(), connectionId: connection.id, waitMs });
    }
  }

  /** How long the oldest current lease has been held, in ms (0 with none), and how many are held `overMs`. */
  leaseAges(overMs: number): { oldestMs: number; over: number } {
    const now = performance.now();
    let oldestMs = 0;
    let over = 0;
    for (const since of this.leasedAt.values()) {
      const held = now - since;
      if (held > oldestMs) oldestMs = held;
      if (held > overMs) over++;
    }
    return { oldestMs, over };
  }

  /** A lease was given back (or its connection died). */
  released(connection: Connection): void {
    const since = this.leasedAt.get(connection);
    if (since === undefined) return;
    this.leasedAt.delete(connection);
    if (leaseReleaseChannel.hasSubscribers) {
      leaseReleaseChannel.publish({
        ...this.target(),
        connectionId: connection.id,
        useMs: performance.now() - since,
      });
    }
  }

  private target(): ServerTarget {
    return {
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      database: this.database,
      poolName: this.poolName,
    };
  }

  private stateEvent(state: 'down' | 'up', error: Error | undefined) {
    return { ...this.target(), state, error };
  }
}
