import type { Connection } from '../connection/connection';
import { commandName } from '../protocol/resp-encoder';
import { READ_ONLY_FLAG, commandFlags } from '../connection/command-policy';
import {
  ClusterError,
  ConnectionError,
  PoolClosedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { backoffDelay } from '../pool/backoff';
import type { ConnectionPool } from '../pool/connection-pool';
import { PoolSurface } from '../pool/pool-surface';
import type {
  BatchCommand,
  CommandOptions,
  PoolStats,
  RedisPool,
} from '../pool/redis-pool.interface';
import { ClusterMap, type ClusterNode } from './cluster-map';
import {
  clusterOptionsFromUrls,
  resolveClusterOptions,
  type ClusterPoolOptions,
  type ResolvedClusterOptions,
} from './cluster-options';
import {
  parseClusterShards,
  parseClusterSlots,
  type NodeAddress,
  type ShardLayout,
} from './cluster-topology';
import { CommandKeyTable } from './command-keys';
import { combineReplies } from './fan-out';
import { keySlot } from './hash-slot';
import { parseRedirection } from './redirection';
import { withinDeadline } from '../utils/deadline';

/** No key: the command may run on any master. */
const ANY_SLOT = -1;

/** Retries of cluster-wide transient failures (failover, CLUSTERDOWN, TRYAGAIN) when a call has no deadline. */
const MAX_TRANSIENT_ATTEMPTS = 30;

/** One command on its way through the cluster. */
interface RoutedCall {
  command: string;
  args: readonly RedisArgument[];
  options: CommandOptions | undefined;
  slot: number;
  readOnly: boolean;
  deadline: number;
}

/** What a cluster pool reports about itself, for health checks. */
export interface ClusterHealth {
  /** `cluster_state` from CLUSTER INFO of a master (`ok` or `fail`), or `unknown` when none answered. */
  state: string;
  /** Per node of the topology: its role and whether it answered PING in time. */
  nodes: Array<{ address: string; role: 'master' | 'replica'; up: boolean; error?: string }>;
}

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
  private readonly config: ResolvedClusterOptions;
  private readonly map: ClusterMap;
  private table: CommandKeyTable | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefreshAt = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private periodicTimer: NodeJS.Timeout | null = null;
  private readonly leases = new Map<Connection, ConnectionPool>();
  private readonly sleepers = new Set<() => void>();
  protected readonly description = 'cluster pool';

  constructor(options: ClusterPoolOptions) {
    super();
    this.config = resolveClusterOptions(options);
    this.map = new ClusterMap(this.config.node, (pool, key) => this.watchPool(pool, key));
  }

  /**
   * A cluster pool from seed URLs (`redis://`, `rediss://`); the first URL's credentials and TLS apply to all.
   * @throws ConfigurationError for a bad URL, with the password masked.
   */
  static fromUrls(urls: readonly string[], options: Partial<ClusterPoolOptions> = {}): ClusterPool {
    return new ClusterPool(clusterOptionsFromUrls(urls, options));
  }

  /** `executeCommand` with per-call options (`buffers`, `timeoutMs`, `retryable`). */
  execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const table = this.table;
    if (table === null) {
      return this.ready().then(() => this.execute<T>(command, args, options));
    }
    let slot: number;
    try {
      slot = this.slotOf(table.keys(command, args), command, table, args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (slot === ANY_SLOT) {
      const policy = table.tips(command, args).requestPolicy;
      if (policy === 'all_shards' || policy === 'all_nodes') {
        return this.fanOut(command, args, options, policy) as Promise<T>;
      }
    }
    const timeoutMs = options?.timeoutMs ?? this.config.commandTimeoutMs;
    const call: RoutedCall = {
      command,
      args,
      options,
      slot,
      readOnly:
        this.config.readFrom === 'replica' &&
        (commandFlags(commandName(command)) & READ_ONLY_FLAG) !== 0,
      deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity,
    };
    const node = this.target(call);
    if (node === undefined) return this.recover(new NoNodeError(noNode(slot)), call, null);
    return node.pool
      .execute<T>(command, args, options)
      .catch((error: unknown) => this.recover<T>(error, call, node));
  }

  /**
   * Leases a connection on the master serving `key`'s slot (any master without a key), for blocking commands,
   * transactions and other stateful work. Give it back with `release()`.
   */
  async getConnection(key?: RedisArgument): Promise<Connection> {
    if (this.closed) throw this.closedError();
    await this.ready();
    const slot = key === undefined ? ANY_SLOT : keySlot(key);
    let node = slot === ANY_SLOT ? this.map.anyMaster() : this.map.owner(slot, false);
    if (node === undefined) {
      await this.refresh();
      node = slot === ANY_SLOT ? this.map.anyMaster() : this.map.owner(slot, false);
      if (node === undefined) throw new NoNodeError(noNode(slot));
    }
    const pool = node.pool;
    const connection = await pool.getConnection();
    this.leases.set(connection, pool);
    return connection;
  }

  /** Gives back a connection from `getConnection()` to its node's pool. */
  release(connection: Connection): void {
    const pool = this.leases.get(connection);
    if (pool === undefined) return;
    this.leases.delete(connection);
    pool.release(connection);
  }

  /**
   * The key a batch of commands (a transaction, a blocking call) is routed by: the first key of any of them.
   * @throws ClusterError when their keys hash to more than one slot: a transaction cannot span nodes.
   */
  routingKey(commands: readonly BatchCommand[]): RedisArgument | undefined {
    const table = this.table;
    if (table === null) return undefined;
    let first: RedisArgument | undefined;
    let slot = ANY_SLOT;
    for (const { command, args } of commands) {
      const keys = table.keys(command, args);
      if (keys.length === 0) continue;
      const own = this.slotOf(keys, command, table, args);
      if (slot !== ANY_SLOT && own !== slot) throw crossSlot('the batch', slot, own);
      slot = own;
      first ??= keys[0];
    }
    return first;
  }

  /** The pools of every master, for commands that must visit each one (SCAN). */
  async masterPools(): Promise<RedisPool[]> {
    await this.ready();
    return this.map.masters().map((node) => node.pool);
  }

  /** `cluster_state` and every node's reachability, each within `timeoutMs`. */
  async health(timeoutMs: number): Promise<ClusterHealth> {
    await withinDeadline(this.ready(), timeoutMs, 'Cluster topology');
    const masters = new Set(this.map.masters());
    const members = this.map.members();
    const nodes = await Promise.all(
      members.map(async (node) => {
        const role = masters.has(node) ? ('master' as const) : ('replica' as const);
        try {
          await node.pool.execute('PING', [], { timeoutMs });
          return { address: node.key, role, up: true };
        } catch (error) {
          return { address: node.key, role, up: false, error: (error as Error).message };
        }
      }),
    );
    let state = 'unknown';
    for (const node of masters) {
      try {
        const info = await node.pool.execute<string>('CLUSTER', ['INFO'], { timeoutMs });
        state = /cluster_state:(\w+)/.exec(String(info))?.[1] ?? state;
        break;
      } catch {
        // Ask the next master.
      }
    }
    return { state, nodes };
  }

  /** Closes every node's pool (letting in-flight commands finish until `drainTimeoutMs`). Idempotent. */
  disconnect(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    return this.closeOnce(() => {
      this.clearTimers();
      for (const wake of this.sleepers) wake();
      return Promise.all(this.map.drop(() => true, options)).then(() => undefined);
    });
  }

  /** The node pools' stats added up (`maxConnections` too: it is per node). */
  stats(): PoolStats {
    const total: PoolStats = {
      total: 0,
      idle: 0,
      leased: 0,
      connecting: 0,
      pending: 0,
      queued: 0,
      waiting: 0,
      maxConnections: 0,
    };
    for (const node of this.map.all()) {
      const stats = node.pool.stats();
      for (const key of Object.keys(total) as Array<keyof PoolStats>) total[key] += stats[key];
    }
    return total;
  }

  /** Reads the topology again now (coalesced with any refresh in progress). */
  refresh(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    this.refreshing ??= this.discover().finally(() => {
      this.refreshing = null;
      this.lastRefreshAt = Date.now();
    });
    return this.refreshing;
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

  /** Resolves once a topology and the command table are known. */
  private ready(): Promise<void> {
    if (this.table !== null && this.map.known) return Promise.resolve();
    return this.refresh();
  }

  private target(call: RoutedCall): ClusterNode | undefined {
    return call.slot === ANY_SLOT ? this.map.anyMaster() : this.map.owner(call.slot, call.readOnly);
  }

  /** The slot every key is in, `ANY_SLOT` without keys. @throws ClusterError (CROSSSLOT) when they differ. */
  private slotOf(
    keys: readonly RedisArgument[],
    command: string,
    table: CommandKeyTable,
    args: readonly RedisArgument[],
  ): number {
    if (keys.length === 0) return ANY_SLOT;
    const slot = keySlot(keys[0]);
    for (let i = 1; i < keys.length; i++) {
      const other = keySlot(keys[i]);
      // Where the server's key specs are incomplete (MIGRATE's "" placeholder), the server has the last word.
      if (other !== slot && table.keysAreComplete(command, args)) {
        throw crossSlot(commandName(command), slot, other);
      }
    }
    return slot;
  }

  /**
   * The slow path after a failed attempt: follows MOVED and ASK, waits out failovers and CLUSTERDOWN, and
   * retries, all within the call's deadline; anything else is the caller's error.
   */
  private async recover<T>(first: unknown, call: RoutedCall, from: ClusterNode | null): Promise<T> {
    let error = first;
    let node = from;
    let redirections = 0;
    let transient = 0;
    for (;;) {
      let ask: ClusterNode | undefined;
      if (error instanceof ResponseError && (error.code === 'MOVED' || error.code === 'ASK')) {
        if (++redirections > this.config.maxRedirections) {
          throw new ClusterError(
            `Too many cluster redirections (${this.config.maxRedirections}) for ${commandName(call.command)}; the last was ${error.code}`,
            { cause: error },
          );
        }
        const redirection = parseRedirection(error, node?.address.host ?? '');
        const to = this.map.node(redirection.to);
        if (redirection.kind === 'MOVED') {
          this.map.move(redirection.slot, to);
          this.requestRefresh();
        } else {
          ask = to;
        }
      } else if (this.isTransient(error, call)) {
        transient++;
        if (call.deadline === Infinity && transient > MAX_TRANSIENT_ATTEMPTS) throw error;
        this.requestRefresh();
        const { baseDelayMs, maxDelayMs } = this.config.backoff;
        const wait = Math.max(baseDelayMs, backoffDelay(transient, baseDelayMs * 2, maxDelayMs));
        if (Date.now() + wait >= call.deadline) throw error;
        await this.sleep(wait);
        if (this.closed) throw this.closedError();
      } else {
        throw error;
      }
      const remaining = call.deadline - Date.now();
      if (remaining <= 0) {
        throw new TimeoutError(
          `${commandName(call.command)} timed out while the cluster redirected it`,
          { cause: error },
        );
      }
      node = ask ?? this.target(call) ?? null;
      if (node === null) {
        error = new NoNodeError(noNode(call.slot));
        continue;
      }
      const options: CommandOptions = { ...call.options, timeoutMs: remaining };
      try {
        return ask !== undefined
          ? await this.askOn<T>(ask, call, remaining)
          : await node.pool.execute<T>(call.command, call.args, options);
      } catch (next) {
        error = next;
      }
    }
  }

  /** Failures that a moment and a fresh topology cure, when sending again cannot run the command twice. */
  private isTransient(error: unknown, call: RoutedCall): boolean {
    if (this.closed) return false;
    if (error instanceof ResponseError) {
      return error.code === 'TRYAGAIN' || error.code === 'CLUSTERDOWN';
    }
    if (error instanceof NoNodeError) return true;
    // A node's pool closed because a refresh dropped it: the command never reached it.
    if (error instanceof PoolClosedError) return true;
    if (error instanceof ConnectionError) {
      const retryable =
        call.options?.retryable === true ||
        (commandFlags(commandName(call.command)) & READ_ONLY_FLAG) !== 0;
      return !error.commandMayHaveRun || retryable;
    }
    return false;
  }

  /** ASKING then the command, pipelined on one leased connection of the importing node. */
  private async askOn<T>(node: ClusterNode, call: RoutedCall, timeoutMs: number): Promise<T> {
    return node.pool.withConnection(async (connection) => {
      const asking = connection.executeWith('ASKING', [], false, timeoutMs);
      const reply = connection.executeWith<T>(
        call.command,
        call.args,
        call.options?.buffers ?? false,
        timeoutMs,
      );
      reply.catch(() => undefined);
      await asking;
      return reply;
    });
  }

  /** A keyless command every shard (or node) must run, its replies combined by its response policy. */
  private async fanOut(
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
    policy: 'all_shards' | 'all_nodes',
  ): Promise<RedisReply> {
    const nodes = policy === 'all_nodes' ? this.map.members() : this.map.masters();
    const settled = await Promise.all(
      nodes.map((node) =>
        node.pool.execute<RedisReply>(command, args, options).catch((error: unknown) => {
          this.requestRefresh();
          return error instanceof Error ? error : new Error(String(error));
        }),
      ),
    );
    return combineReplies(this.table?.tips(command, args).responsePolicy, settled);
  }

  /** Asks known nodes, then the seeds, for the topology, until one answers. */
  private async discover(): Promise<void> {
    const tried = new Set<string>();
    const candidates: NodeAddress[] = [
      ...shuffled(this.map.masters()).map((node) => node.address),
      ...this.config.seeds,
      ...this.map.members().map((node) => node.address),
    ];
    const failures: string[] = [];
    let lastError: unknown;
    for (const address of candidates) {
      if (this.closed) return;
      const node = this.map.node(address);
      if (tried.has(node.key)) continue;
      tried.add(node.key);
      try {
        const layouts = await this.topologyFrom(node);
        if (layouts.length === 0) throw new ClusterError('the node serves no slots');
        if (this.table === null) {
          const reply = await node.pool.execute('COMMAND', [], {
            timeoutMs: this.queryTimeoutMs(),
          });
          // Shard channels count as keys, so SPUBLISH goes straight to the slot's master.
          this.table = CommandKeyTable.fromCommandReply(reply, { includeNotKeys: true });
        }
        if (this.closed) return;
        void Promise.all(this.map.apply(layouts)).catch(() => undefined);
        this.scheduleRefresh();
        this.emit('refresh');
        return;
      } catch (error) {
        lastError = error;
        failures.push(`${node.key}: ${(error as Error).message}`);
      }
    }
    // Seeds that did not answer are closed again, unless they are part of a known topology.
    const known = new Set(this.map.members().map((node) => node.key));
    void Promise.all(this.map.drop((node) => !known.has(node.key))).catch(() => undefined);
    const error = new ClusterError(
      `Could not read the cluster topology from any node (${failures.join('; ')})`,
      { cause: lastError },
    );
    if (this.listenerCount('error') > 0) this.emit('error', error);
    throw error;
  }

  /** CLUSTER SHARDS, or CLUSTER SLOTS from servers before 7.0. */
  private async topologyFrom(node: ClusterNode): Promise<ShardLayout[]> {
    const timeoutMs = this.queryTimeoutMs();
    try {
      const reply = await node.pool.execute('CLUSTER', ['SHARDS'], { timeoutMs });
      return parseClusterShards(
        reply,
        node.address.host,
        this.config.node.tls !== undefined && this.config.node.tls !== false,
      );
    } catch (error) {
      if (!(error instanceof ResponseError) || /cluster support disabled/i.test(error.message)) {
        throw error;
      }
      const reply = await node.pool.execute('CLUSTER', ['SLOTS'], { timeoutMs });
      return parseClusterSlots(reply, node.address.host);
    }
  }

  private queryTimeoutMs(): number {
    return this.config.queryTimeoutMs;
  }

  /** A refresh soon, at most one per `refreshMinIntervalMs`, coalesced with any other. */
  private requestRefresh(): void {
    if (this.closed || this.refreshing !== null || this.refreshTimer !== null) return;
    const wait = this.lastRefreshAt + this.config.refreshMinIntervalMs - Date.now();
    const run = (): void => {
      this.refreshTimer = null;
      if (!this.closed) this.refresh().catch(() => undefined);
    };
    if (wait <= 0) run();
    else this.refreshTimer = setTimeout(run, wait);
  }

  /** Re-arms the periodic refresh. */
  private scheduleRefresh(): void {
    if (this.periodicTimer !== null) clearTimeout(this.periodicTimer);
    this.periodicTimer = null;
    if (this.config.refreshIntervalMs === 0 || this.closed) return;
    this.periodicTimer = setTimeout(() => {
      this.periodicTimer = null;
      if (!this.closed) this.refresh().catch(() => undefined);
    }, this.config.refreshIntervalMs);
    this.periodicTimer.unref();
  }

  private clearTimers(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    if (this.periodicTimer !== null) clearTimeout(this.periodicTimer);
    this.refreshTimer = null;
    this.periodicTimer = null;
  }

  /** Forwards a node pool's events with the node's address; a node that goes down prompts a refresh. */
  private watchPool(pool: ConnectionPool, key: string): void {
    for (const event of ['connect', 'close', 'up'] as const) {
      pool.on(event, (...args: unknown[]) => this.emit(event, ...args, key));
    }
    pool.on('down', (...args: unknown[]) => {
      this.requestRefresh();
      this.emit('down', ...args, key);
    });
  }

  /** Waits `ms`, or less when `disconnect()` is called meanwhile, so no timer outlives the pool. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

/** No node is known for a slot (yet): a refresh may well find one. */
class NoNodeError extends ClusterError {}

function noNode(slot: number): string {
  return slot === ANY_SLOT ? 'No node of the cluster is known' : `No node serves slot ${slot}`;
}

function crossSlot(what: string, slot: number, other: number): ClusterError {
  return new ClusterError(
    `CROSSSLOT refused before sending: the keys of ${what} hash to different slots (${slot} and ${other}); ` +
      'put them in one slot with a {hash tag}',
  );
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
