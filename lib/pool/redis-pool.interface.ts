import type { Connection } from '../connection/connection';
import type { RedisArgument } from '../protocol/resp.types';

/** A snapshot of the pool, for health checks and metrics. */
export interface PoolStats {
  /** Open connections (shared, leased, closing), not counting those still connecting. */
  total: number;
  /** Open connections neither leased nor with a reply outstanding (shared ones, and spares kept for leases). */
  idle: number;
  /** Connections held by an exclusive lease. */
  leased: number;
  /** Connections being opened. */
  connecting: number;
  /** Commands awaiting replies on shared connections plus those queued for a connection. */
  pending: number;
  /** Commands queued because no shared connection was ready. */
  queued: number;
  /** Callers waiting for an exclusive lease. */
  waiting: number;
  /** Most shared (multiplexed) connections. */
  maxConnections: number;
  /** Most exclusive leases at once. */
  maxLeases: number;
  /** The most replies outstanding on one shared connection (the deepest multiplexed pipeline) right now. */
  deepestPipeline: number;
  /**
   * Lease waits and queued commands that timed out waiting for a connection, since the pool started
   * (`db.client.connection.timeouts`).
   */
  timeouts: number;
  /** Commands that timed out after they were handed to a connection, since the pool started. */
  commandTimeouts: number;
  /** Connections opened to replace one lost (closed by an error while the pool was open). */
  reconnects: number;
  /** Commands sent again after their connection failed (or the server was LOADING). */
  retries: number;
  /** Commands not sent again because they had been written and may have run (at-most-once). */
  resendsRefused: number;
  /** Median wait for an exclusive lease over the last one to two minutes, in ms (immediate leases count as 0). */
  leaseWaitP50Ms: number;
  /** 99th percentile of the lease waits over the last one to two minutes, in ms. */
  leaseWaitP99Ms: number;
  /** Longest lease wait over the last one to two minutes, in ms. */
  leaseWaitMaxMs: number;
}

/** Stats that are a level or a percentile, not a count: a sum over pools takes their maximum instead. */
const MAX_OVER_POOLS: ReadonlySet<keyof PoolStats> = new Set<keyof PoolStats>([
  'deepestPipeline',
  'leaseWaitP50Ms',
  'leaseWaitP99Ms',
  'leaseWaitMaxMs',
]);

/** Adds one pool's stats into a total (a cluster's): counts add up, levels and percentiles take the maximum. */
export function addStats(total: PoolStats, stats: PoolStats): void {
  for (const key of Object.keys(total) as Array<keyof PoolStats>) {
    total[key] = MAX_OVER_POOLS.has(key)
      ? Math.max(total[key], stats[key])
      : total[key] + stats[key];
  }
}

/** Stats of a pool with no connection, and the given bounds. */
export function emptyStats(maxConnections = 0, maxLeases = maxConnections): PoolStats {
  return {
    total: 0,
    idle: 0,
    leased: 0,
    connecting: 0,
    pending: 0,
    queued: 0,
    waiting: 0,
    maxConnections,
    maxLeases,
    deepestPipeline: 0,
    timeouts: 0,
    commandTimeouts: 0,
    reconnects: 0,
    retries: 0,
    resendsRefused: 0,
    leaseWaitP50Ms: 0,
    leaseWaitP99Ms: 0,
    leaseWaitMaxMs: 0,
  };
}

/** Options of one multiplexed command call. */
export interface CommandOptions {
  /** Decode strings in the reply as Buffers. */
  buffers?: boolean;
  /** This call's deadline instead of `commandTimeoutMs`. */
  timeoutMs?: number;
  /** May be sent again even after it was written (you know it is idempotent). Read-only commands always may. */
  retryable?: boolean;
  /**
   * Abandons the call when it aborts: a command not yet written is withdrawn (`AbortError` with
   * `commandMayHaveRun: false`, it never reaches the server); one already written keeps its place and its reply
   * is dropped (`commandMayHaveRun: true`).
   */
  signal?: AbortSignal;
  /**
   * Cluster only: MSET whose keys hash to different slots is split into one MSET per slot (atomic per slot, not
   * as a whole) instead of being refused. Overrides the cluster pool's own `splitAcrossSlots`.
   * @default the cluster pool's `splitAcrossSlots` (false)
   */
  splitAcrossSlots?: boolean;
}

/** Events every pool emits; see `ConnectionPool`. */
export type RedisPoolEvent = 'up' | 'down' | 'connect' | 'close' | 'closing' | 'error';

/**
 * What `RedisService`, the Nest module and the health indicator need from a pool. `ConnectionPool` implements
 * it, and so will the cluster pool, so the whole command API works on either.
 */
export interface RedisPool {
  executeCommand<T = unknown>(command: string, ...args: RedisArgument[]): Promise<T>;
  execute<T = unknown>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T>;
  /** An exclusive lease; a cluster pool leases on the master serving `key`'s slot. */
  getConnection(key?: RedisArgument): Promise<Connection>;
  release(connection: Connection): void;
  withConnection<T>(fn: (connection: Connection) => Promise<T>, key?: RedisArgument): Promise<T>;
  disconnect(options?: { drainTimeoutMs?: number }): Promise<void>;
  stats(): PoolStats;
  readonly closed: boolean;
  on(event: RedisPoolEvent, listener: (...args: unknown[]) => void): this;
  off(event: RedisPoolEvent, listener: (...args: unknown[]) => void): this;
  /**
   * Pools that route by key (a cluster): the key a batch of commands (a transaction, a blocking call) must be
   * leased by, after checking they all hash to one slot (`ClusterError` otherwise). Absent on a single server.
   */
  routingKey?(commands: readonly BatchCommand[]): RedisArgument | undefined;
  /** Pools that shard (a cluster): one pool per master, for commands that must visit every one (SCAN). */
  masterPools?(): Promise<RedisPool[]>;
}

/** A command as a batch holds it. */
export interface BatchCommand {
  command: string;
  args: readonly RedisArgument[];
}
