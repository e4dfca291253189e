import type { EventEmitter } from 'node:events';
import { ConnectionError, TimeoutError } from '../errors/redis-pool.errors';
import { commandName } from '../protocol/command-name';
import type { RedisArgument } from '../protocol/resp.types';
import { ConnectionPool } from '../pool/connection-pool';
import type { PoolOptions } from '../pool/pool-options';
import type { CommandOptions } from '../pool/redis-pool.interface';
import { emitSafely } from '../utils/safe-emit';
import { signalsFailover } from './failover-signals';
import { addressKey, type SentinelClient } from './sentinel-client';
import type { ResolvedSentinelOptions, SentinelAddress } from './sentinel-options';

/** One replica in use: its pool, and until when it is left out after a failure. */
interface Replica {
  readonly pool: ConnectionPool;
  /** `Date.now()` before which reads skip it (0: in use). */
  downUntil: number;
}

/** Most replicas one read tries before it gives up (each within the one deadline). */
const MAX_READ_ATTEMPTS = 30;

/**
 * The healthy replicas of one master, as the sentinels list them, each with a pool of its own, for
 * `readFrom: 'replica' | 'preferReplica'`. Reads go round-robin to the replicas whose pool is up, and to another
 * one (within the command's deadline) when one fails. The list is asked for on the first read and again whenever
 * the sentinels are asked about the master; a replica that left it is drained and closed.
 */
export class ReplicaSet {
  private readonly replicas = new Map<string, Replica>();
  private readonly retiring = new Set<Promise<void>>();
  private loading: Promise<void> | null = null;
  /** Whether the sentinels were asked at least once. */
  private known = false;
  private next = 0;
  private closed = false;

  constructor(
    private readonly client: SentinelClient,
    private readonly settings: Pick<
      ResolvedSentinelOptions,
      'masterName' | 'readFrom' | 'drainTimeoutMs' | 'backoff'
    >,
    /** The data nodes' options (credentials included); each replica pool gets them with its own address. */
    private readonly node: PoolOptions,
    /** Where a failed question to the sentinels is reported (`'error'`, only when listened to). */
    private readonly events: EventEmitter,
  ) {}

  /** `host:port` of the replicas in use. */
  get addresses(): string[] {
    return [...this.replicas.keys()];
  }

  /** The pools of the replicas in use. */
  get pools(): ConnectionPool[] {
    return Array.from(this.replicas.values(), (replica) => replica.pool);
  }

  /**
   * Runs a read-only command on a replica that is up; with none, `onMaster()` (`'preferReplica'`) or a typed
   * failure (`'replica'`).
   */
  async read<T>(
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
    deadline: number,
    onMaster: () => Promise<T>,
  ): Promise<T> {
    if (!this.known) await this.refresh();
    for (let attempt = 0; ; attempt++) {
      const pool = this.pick();
      if (pool === undefined) {
        if (this.settings.readFrom === 'preferReplica') return onMaster();
        throw new ConnectionError(
          `No replica of master "${this.settings.masterName}" is up for ${commandName(command)} (readFrom: 'replica')`,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new TimeoutError(`${commandName(command)} timed out on the replicas`);
      }
      try {
        return await pool.execute<T>(command, args, {
          ...options,
          timeoutMs: deadline === Infinity ? options?.timeoutMs : remaining,
        });
      } catch (error) {
        const retry =
          !this.closed &&
          signalsFailover(error) &&
          Date.now() < deadline &&
          attempt + 1 < MAX_READ_ATTEMPTS;
        if (!retry) throw error;
        this.markDown(pool);
        void this.refresh();
      }
    }
  }

  /** Asks the sentinels again, when they were asked before (a read asks them the first time). */
  refreshIfKnown(): void {
    if (this.known) void this.refresh();
  }

  /** Closes every replica pool. */
  async close(options: { drainTimeoutMs?: number }): Promise<void> {
    this.closed = true;
    await this.loading;
    const pools = [...this.replicas.values()].map((replica) => replica.pool.disconnect(options));
    this.replicas.clear();
    await Promise.all([...pools, ...this.retiring]);
  }

  /** Asks the sentinels for the healthy replicas (coalesced; a failure keeps the list as it was). */
  private refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.loading ??= this.client
      .replicaAddresses()
      .then(
        (addresses) => this.update(addresses),
        (error: unknown) => {
          if (this.events.listenerCount('error') > 0) emitSafely(this.events, 'error', error);
        },
      )
      .finally(() => {
        this.known = true;
        this.loading = null;
      });
    return this.loading;
  }

  /** A pool of a replica that is up, round-robin; `undefined` when none is. */
  private pick(): ConnectionPool | undefined {
    const now = Date.now();
    const up = [...this.replicas.values()].filter((replica) => replica.downUntil <= now);
    if (up.length === 0) return undefined;
    this.next = (this.next + 1) % up.length;
    return up[this.next].pool;
  }

  /** Leaves a replica that failed out of the reads for the longest backoff step; then it is tried again. */
  private markDown(pool: ConnectionPool): void {
    for (const replica of this.replicas.values()) {
      if (replica.pool === pool) replica.downUntil = Date.now() + this.settings.backoff.maxDelayMs;
    }
  }

  /** Takes the sentinels' list of healthy replicas: new ones get a pool, those that left are retired. */
  private update(addresses: readonly SentinelAddress[]): void {
    if (this.closed) return;
    const wanted = new Map(addresses.map((address) => [addressKey(address), address]));
    for (const [key, replica] of this.replicas) {
      if (!wanted.has(key)) this.retire(key, replica);
    }
    for (const [key, address] of wanted) {
      if (!this.replicas.has(key)) this.replicas.set(key, this.open(address));
    }
  }

  private open(address: SentinelAddress): Replica {
    const pool = new ConnectionPool({ ...this.node, host: address.host, port: address.port });
    const replica: Replica = { pool, downUntil: 0 };
    pool.on('down', () => this.markDown(pool));
    pool.on('up', () => (replica.downUntil = 0));
    return replica;
  }

  private retire(key: string, replica: Replica): void {
    this.replicas.delete(key);
    const closing = replica.pool
      .disconnect({ drainTimeoutMs: this.settings.drainTimeoutMs })
      .finally(() => this.retiring.delete(closing));
    this.retiring.add(closing);
  }
}
