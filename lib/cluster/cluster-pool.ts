import { sumCacheStats, type CacheStats } from '../client-cache/client-cache.options';
import type { Connection } from '../connection/connection';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { ConnectionPool } from '../pool/connection-pool';
import { LeaseRegistry } from '../pool/lease-registry';
import { PoolSurface } from '../pool/pool-surface';
import {
  addStats,
  emptyStats,
  type BatchCommand,
  type CommandOptions,
  type PoolStats,
  type RedisPool,
} from '../pool/redis-pool.interface';
import type { ClusterContext } from './cluster-context';
import { clusterHealth, type ClusterHealth } from './cluster-health';
import { ClusterMap } from './cluster-map';
import {
  clusterOptionsFromUrls,
  resolveClusterOptions,
  type ClusterPoolOptions,
  type ClusterSettings,
} from './cluster-options';
import { ClusterRefresher } from './cluster-refresher';
import { ClusterRouter } from './cluster-router';
import { batchRoutingKey } from './command-slot';
import { runRedirectedLease, type LeaseHost } from './cluster-lease';
import { planSplit, runSplit, type SplitPlan } from './slot-split';

export type { ClusterHealth } from './cluster-health';

/**
 * Redis Cluster behind the same surface as `ConnectionPool`: it discovers the topology from any seed node
 * (CLUSTER SHARDS, or CLUSTER SLOTS before Redis 7), keeps one multiplexed `ConnectionPool` per node, and routes
 * every command by the hash slot of its keys, found from the server's own command table (COMMAND key specs).
 *
 * - MOVED updates the slot, schedules one coalesced refresh and retries on the new owner; ASK retries once on
 *   the target after ASKING, leaving the map alone; TRYAGAIN, CLUSTERDOWN and unreachable masters are retried
 *   with backoff within the command's deadline. After `maxRedirections` redirections the call fails with
 *   `ClusterError`.
 * - Multi-key commands whose keys hash to different slots are refused before sending (`ClusterError`).
 * - Keyless commands the server marks for every shard or node (DBSIZE, FLUSHALL, KEYS, SCRIPT LOAD...) are sent
 *   to each and their replies combined as its response policy says; other keyless commands go to one master.
 * - `getConnection(key)` leases a connection on the key's master, for blocking commands and transactions.
 *
 * Events: `refresh` (topology applied), `error` (a refresh failed; only when listened to), and `connect`,
 * `close`, `up`, `down` of every node's pool with the node's address as the last argument; `closing`.
 */
export class ClusterPool extends PoolSurface implements RedisPool {
  protected readonly description = 'cluster pool';
  /** Routing settings; the node options (credentials) are held only by the map, in a private field. */
  private readonly config: ClusterSettings;
  private readonly map: ClusterMap;
  private readonly refresher: ClusterRefresher;
  private readonly router: ClusterRouter;
  private readonly leases = new LeaseRegistry();
  /** What redirected leases (`withConnection`) use of this pool. */
  private readonly leaseHost: LeaseHost;

  constructor(options: ClusterPoolOptions) {
    super();
    const { node, ...settings } = resolveClusterOptions(options);
    this.config = settings;
    this.map = new ClusterMap(node, (pool, key) => this.watchPool(pool, key));
    const context: ClusterContext = {
      config: this.config,
      map: this.map,
      isClosed: () => this.closed,
      closedError: () => this.closedError(),
      refreshed: () => this.emit('refresh'),
      refreshFailed: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    };
    this.refresher = new ClusterRefresher(context);
    this.router = new ClusterRouter(context, this.refresher);
    this.leaseHost = {
      masterFor: (key) => this.router.masterFor(key),
      follow: (error, from) => this.router.follow(error, from),
      lease: async (node) => {
        if (this.closed) throw this.closedError();
        return this.leases.track(await node.pool.getConnection(), node.pool);
      },
      release: (connection) => this.leases.release(connection),
      maxRedirections: settings.maxRedirections,
      timeoutMs: settings.commandTimeoutMs,
    };
  }

  /**
   * A cluster pool from seed URLs (`redis://`, `rediss://`); the first URL's credentials and TLS apply to all.
   * @throws ConfigurationError for a bad URL, with the password masked.
   */
  static fromUrls(urls: readonly string[], options: Partial<ClusterPoolOptions> = {}): ClusterPool {
    return new ClusterPool(clusterOptionsFromUrls(urls, options));
  }

  /**
   * Runs one command on the node serving its keys' slot (see the class description for redirections), with
   * per-call options (`buffers`, `timeoutMs`, `retryable`).
   */
  execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const table = this.refresher.table;
    if (table === null) {
      return this.refresher.ready().then(() => this.execute<T>(command, args, options));
    }
    if (args.length > 1) {
      let plan: SplitPlan | undefined;
      try {
        plan = planSplit(command, args, options?.splitAcrossSlots ?? this.config.splitAcrossSlots);
      } catch (error) {
        return Promise.reject(error);
      }
      if (plan !== undefined) {
        return runSplit(plan, (part) =>
          this.router.execute<RedisReply>(table, command, part, options),
        ) as Promise<T>;
      }
    }
    return this.router.execute<T>(table, command, args, options);
  }

  /**
   * Leases a connection on the master serving `key`'s slot (any master without a key), for blocking commands,
   * transactions and other stateful work. Give it back with `release()`.
   */
  async getConnection(key?: RedisArgument): Promise<Connection> {
    if (this.closed) throw this.closedError();
    await this.refresher.ready();
    const pool = (await this.router.masterFor(key)).pool;
    return this.leases.track(await pool.getConnection(), pool);
  }

  /**
   * Leases a connection on the master serving `key`'s slot, runs `fn` and always gives it back. When the slot
   * moved and `fn` failed on the redirection before anything it sent took effect (MULTI queued nothing, a
   * blocking command was refused), it runs again on the new owner (after ASKING for ASK), within
   * `maxRedirections` and `commandTimeoutMs`; after something took effect it fails with
   * `ClusterLeaseMovedError`, never with the raw MOVED reply.
   */
  override withConnection<T>(
    fn: (connection: Connection) => Promise<T>,
    key?: RedisArgument,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.refresher.ready().then(() => runRedirectedLease(this.leaseHost, key, fn));
  }

  /** Gives back a connection from `getConnection()` to its node's pool. */
  release(connection: Connection): void {
    this.leases.release(connection);
  }

  /**
   * The key a batch of commands (a transaction, a blocking call) is routed by: the first key of any of them.
   * @throws ClusterError when their keys hash to more than one slot: a transaction cannot span nodes.
   */
  routingKey(commands: readonly BatchCommand[]): RedisArgument | undefined {
    const table = this.refresher.table;
    return table === null ? undefined : batchRoutingKey(table, commands);
  }

  /** The pools of every master, for commands that must visit each one (SCAN). */
  async masterPools(): Promise<RedisPool[]> {
    await this.refresher.ready();
    return this.map.masters().map((node) => node.pool);
  }

  /** `cluster_state` and every node's reachability, each within `timeoutMs`. */
  health(timeoutMs: number): Promise<ClusterHealth> {
    return clusterHealth(this.map, this.refresher.ready(), timeoutMs);
  }

  /** Closes every node's pool (letting in-flight commands finish until `drainTimeoutMs`). Idempotent. */
  disconnect(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    return this.closeOnce(() => {
      this.refresher.stop();
      this.router.stop();
      return Promise.all(this.map.drop(() => true, options)).then(() => undefined);
    });
  }

  /** The node pools' client-side cache counters added up: each node pool caches what it read. */
  cacheStats(): CacheStats {
    return sumCacheStats(Array.from(this.map.all(), (node) => node.pool));
  }

  /** The node pools' stats added up (`maxConnections` and `maxLeases` too: they are per node). */
  stats(): PoolStats {
    const total = emptyStats();
    for (const node of this.map.all()) {
      const stats = node.pool.stats();
      addStats(total, stats);
    }
    return total;
  }

  /** Reads the topology again now (coalesced with any refresh in progress). */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  toJSON(): Record<string, unknown> {
    return {
      nodes: this.map.shards().map((shard) => ({
        master: shard.master.key,
        replicas: shard.replicas.map((replica) => replica.key),
      })),
      readFrom: this.config.readFrom,
      closed: this.closed,
      ...this.stats(),
    };
  }

  /** Forwards a node pool's events with the node's address; a node that goes down prompts a refresh. */
  private watchPool(pool: ConnectionPool, key: string): void {
    for (const event of ['connect', 'close', 'up'] as const) {
      pool.on(event, (...args: unknown[]) => this.emit(event, ...args, key));
    }
    pool.on('down', (...args: unknown[]) => {
      this.refresher.requestRefresh();
      this.emit('down', ...args, key);
    });
  }
}
