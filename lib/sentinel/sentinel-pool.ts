import type { Connection } from '../connection/connection';
import { commandFlags, READ_ONLY_FLAG } from '../connection/command-policy';
import { TimeoutError } from '../errors/redis-pool.errors';
import { commandName } from '../protocol/command-name';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { backoffDelay } from '../pool/backoff';
import { ConnectionPool } from '../pool/connection-pool';
import type { PoolOptions } from '../pool/pool-options';
import { LeaseRegistry } from '../pool/lease-registry';
import { PoolSurface } from '../pool/pool-surface';
import { POOL_DEFAULTS } from '../pool/pool-defaults';
import {
  emptyStats,
  type CommandOptions,
  type PoolStats,
  type RedisPool,
} from '../pool/redis-pool.interface';
import { sumCacheStats, type CacheStats } from '../client-cache/client-cache.options';
import { publishFailover } from '../observability/channels';
import { emitSafely } from '../utils/safe-emit';
import { addressKey, SentinelClient } from './sentinel-client';
import {
  mapAddress,
  type NatMap,
  resolveSentinelOptions,
  type ResolvedSentinelOptions,
  type SentinelAddress,
  type SentinelPoolOptions,
} from './sentinel-options';
import { mayResend, signalsFailover } from './failover-signals';
import { verifyMaster } from './master-check';
import { ReplicaSet } from './replica-set';
import { sentinelUrlOptions } from './sentinel-url';
import { SentinelWatcher } from './sentinel-watcher';
import { FailoverPause } from './failover-pause';
import type { FailoverEvent } from './sentinel-options';

export type { FailoverEvent } from './sentinel-options';

/** The master in use: its address and the pool of connections to it. */
interface MasterNode {
  readonly key: string;
  readonly pool: ConnectionPool;
}

/**
 * Redis Sentinel behind the same surface as `ConnectionPool`, always on the current master. The sentinels are
 * asked where the master is (`SENTINEL GET-MASTER-ADDR-BY-NAME`), and the node is checked with `ROLE` before any
 * command is sent to it. Three signals trigger a new question: the sentinels' `+switch-master`/`+sdown`/`+odown`
 * events (on a subscribed sentinel connection that comes back after a drop), a periodic check
 * (`recheckIntervalMs`), and errors on the data path (READONLY, LOADING, a failed or silent connection).
 *
 * On a switch, a new `ConnectionPool` serves the new master and the old one is drained and closed: its
 * in-flight work finishes or fails typed, its leases are discarded when released. At most once holds: a written
 * command is resent to the new master only when it is read-only (or `retryable`), or was refused with READONLY
 * (a demoted master ran nothing), all within the command's one deadline.
 *
 * Events: `failover` (`{ from, to }`, once per switch), `error` (a question to the sentinels failed; only when
 * listened to), and the current master pool's `connect`, `close`, `up`, `down`; `closing`.
 */
export class SentinelPool extends PoolSurface implements RedisPool {
  protected readonly description: string;
  private readonly settings: ResolvedSentinelOptions;
  /** The data nodes' options (credentials included), in a private field. */
  readonly #node: PoolOptions;
  private readonly client: SentinelClient;
  private readonly watcher: SentinelWatcher;
  private current: MasterNode | null = null;
  private discovering: Promise<MasterNode> | null = null;
  private readonly leases = new LeaseRegistry();
  private readonly retired = new Set<ConnectionPool>();
  private recheckTimer: NodeJS.Timeout | null = null;
  /** The replicas reads go to; `null` with `readFrom: 'master'`. */
  private readonly replicas: ReplicaSet | null;
  /** While a failover is under way new commands wait for the new master instead of the old one. */
  private readonly pause: FailoverPause;
  private readonly natMap: NatMap | undefined;

  constructor(options: SentinelPoolOptions) {
    super();
    const { settings, sentinelAuth, natMap, node } = resolveSentinelOptions(options);
    this.settings = settings;
    this.#node = node;
    this.natMap = natMap;
    this.pause = new FailoverPause(settings.maxPauseMs, () => this.recheck());
    this.description = `sentinel pool for master "${settings.masterName}"`;
    this.client = new SentinelClient(
      settings.sentinels,
      settings.masterName,
      sentinelAuth,
      settings.queryTimeoutMs,
      natMap,
      node.clientName,
    );
    this.replicas =
      settings.readFrom === 'master' ? null : new ReplicaSet(this.client, settings, node, this);
    this.watcher = new SentinelWatcher(
      this.client,
      settings.masterName,
      settings.backoff,
      (channel, words) => this.onSignal(channel, words),
    );
  }

  /**
   * A pool from a `redis-sentinel://[[user]:password@]host1[:port1][,host2...]/masterName[/db][?...]` URL (see
   * `parseSentinelUrl`); explicit `options` win over what the URL says.
   * @throws ConfigurationError naming the problem, every secret masked.
   */
  static fromUrl(url: string, options: Partial<SentinelPoolOptions> = {}): SentinelPool {
    return new SentinelPool(sentinelUrlOptions(url, options));
  }

  /** `host:port` of the master in use, or `undefined` before the first discovery. */
  get masterAddress(): string | undefined {
    return this.current?.key;
  }

  /** The sentinels known now (the seeds and those the sentinels named). */
  get sentinels(): readonly SentinelAddress[] {
    return this.client.sentinels;
  }

  /** How many of the known sentinels answer a PING now, all asked at once within the query deadline. */
  answeringSentinels(): Promise<number> {
    return this.client.answering();
  }

  /** `host:port` of the replicas reads go to (`readFrom` other than `'master'`). */
  get replicaAddresses(): string[] {
    return this.replicas?.addresses ?? [];
  }

  /**
   * Runs one command on the current master (a read-only one on a replica with `readFrom`), following a failover
   * within the command's deadline.
   */
  execute<T = RedisReply>(
    command: string,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const timeoutMs = options?.timeoutMs ?? this.settings.commandTimeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const readOnly = (commandFlags(commandName(command)) & READ_ONLY_FLAG) !== 0;
    if (readOnly && this.replicas !== null) {
      return this.replicas.read<T>(command, args, options, deadline, () =>
        this.run<T>(command, args, options, deadline, true, 0),
      );
    }
    const resendable = options?.retryable === true || readOnly;
    const node = this.current;
    if (node === null || this.pause.waiting !== null) {
      return this.run<T>(command, args, options, deadline, resendable, 0);
    }
    // The usual case, with no extra await: straight to the master's pool.
    return node.pool
      .execute<T>(command, args, options)
      .catch((error: unknown) =>
        this.recover<T>(error, node, command, args, options, deadline, resendable, 0),
      );
  }

  private async run<T>(
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
    deadline: number,
    resendable: boolean,
    attempt: number,
  ): Promise<T> {
    await this.pause.waiting;
    const node = await this.master();
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new TimeoutError(`${commandName(command)} timed out during a failover`);
    try {
      return await node.pool.execute<T>(command, args, {
        ...options,
        timeoutMs: deadline === Infinity ? options?.timeoutMs : remaining,
      });
    } catch (error) {
      return this.recover<T>(error, node, command, args, options, deadline, resendable, attempt);
    }
  }

  /** A command failed on `node`: ask the sentinels, and resend it when at most once allows. */
  private async recover<T>(
    error: unknown,
    node: MasterNode,
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
    deadline: number,
    resendable: boolean,
    attempt: number,
  ): Promise<T> {
    if (this.closed || !signalsFailover(error)) throw error;
    const moved = await this.rediscoverAfter(node);
    if (!mayResend(error, resendable) || Date.now() >= deadline || attempt >= 30) throw error;
    if (!moved) await this.sleep(attempt, deadline);
    return this.run<T>(command, args, options, deadline, resendable, attempt + 1);
  }

  /** Leases a connection on the current master. */
  async getConnection(): Promise<Connection> {
    if (this.closed) throw this.closedError();
    let node = await this.master();
    let connection: Connection;
    try {
      connection = await node.pool.getConnection();
    } catch (error) {
      // A dead or retired master: lease on the new one, once, if the sentinels name another.
      if (this.closed || !signalsFailover(error) || !(await this.rediscoverAfter(node)))
        throw error;
      node = await this.master();
      connection = await node.pool.getConnection();
    }
    return this.leases.track(connection, node.pool);
  }

  /** Gives a lease back to the pool it came from (a retired master's pool discards it). */
  release(connection: Connection): void {
    this.leases.release(connection);
  }

  /** Closes the master pool (in-flight work gets `drainTimeoutMs`), the sentinel watcher and timers. */
  disconnect(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    return this.closeOnce(async () => {
      this.watcher.stop();
      this.pause.end();
      if (this.recheckTimer !== null) clearInterval(this.recheckTimer);
      this.recheckTimer = null;
      await this.discovering?.catch(() => undefined);
      const pools = [...this.retired];
      if (this.current !== null) pools.push(this.current.pool);
      await Promise.all([
        ...pools.map((pool) => pool.disconnect(options)),
        this.replicas?.close(options),
      ]);
    });
  }

  /** The current master pool's stats (zeros before the first discovery). */
  stats(): PoolStats {
    if (this.current !== null) return this.current.pool.stats();
    const { maxConnections = POOL_DEFAULTS.maxConnections } = this.#node;
    return emptyStats(maxConnections, this.#node.maxLeases ?? maxConnections);
  }

  /** The client-side cache's counters over the master's and the replicas' pools (zeros without the option). */
  cacheStats(): CacheStats {
    return sumCacheStats([
      ...(this.current ? [this.current.pool] : []),
      ...(this.replicas?.pools ?? []),
    ]);
  }

  /** Never shows credentials. */
  toJSON(): Record<string, unknown> {
    return {
      masterName: this.settings.masterName,
      master: this.current?.key ?? null,
      sentinels: this.client.sentinels.map(addressKey),
      replicas: this.replicaAddresses,
      closed: this.closed,
      ...this.stats(),
    };
  }

  /** The master in use, discovering it first when there is none. */
  private master(): Promise<MasterNode> {
    if (this.current !== null) return Promise.resolve(this.current);
    return this.discover();
  }

  /** Asks the sentinels again (coalesced); resolves whether the master changed from `node`. */
  private async rediscoverAfter(node: MasterNode): Promise<boolean> {
    try {
      const now = await this.discover();
      return now !== node;
    } catch {
      return false;
    }
  }

  /**
   * A sentinel event. When a replica is about to be promoted, writes stop going to the old master (they would be
   * lost: it keeps accepting them until it is demoted) and wait, within a bound, for the switch; once it is
   * promoted (`+promoted-slave`, from the failover's leader) it is checked with ROLE and used at once, before the
   * other sentinels announce the switch. The failover's end, abort or the switch resumes them. Every other signal
   * asks where the master is.
   */
  private onSignal(channel: string, words: readonly string[]): void {
    if (channel === '+failover-state-send-slaveof-noone') this.pause.start();
    if (channel === '+promoted-slave') {
      this.pause.start();
      // "slave <ip:port> <ip> <port> @ <master> ...": the replica just promoted.
      const promoted = mapAddress(this.natMap, { host: words[2], port: Number(words[3]) });
      void this.adopt(promoted);
      return;
    }
    if (channel === '+failover-end' || channel.startsWith('-failover-abort')) this.pause.end();
    this.recheck();
  }

  /** Switches to a node an event named as the new master, once ROLE confirms it (else asks the sentinels). */
  private async adopt(address: SentinelAddress): Promise<void> {
    await this.discovering?.catch(() => undefined);
    const key = addressKey(address);
    if (this.closed || this.current === null || this.current.key === key) return;
    this.discovering ??= verifyMaster(this.#node, address, this.settings)
      .then(() => {
        if (this.closed) throw this.closedError();
        return this.current?.key === key ? this.current : this.switchTo(address, key);
      })
      .finally(() => {
        this.discovering = null;
      });
    await this.discovering.catch(() => this.recheck());
  }

  /** A signal (event, timer, reconnect of the watcher): ask the sentinels, quietly. */
  private recheck(): void {
    if (this.closed || this.current === null) return;
    this.discover().catch(() => undefined);
  }

  /** Asks the sentinels where the master is, checks it with ROLE, and switches to it. Coalesced. */
  private discover(): Promise<MasterNode> {
    if (this.closed) return Promise.reject(this.closedError());
    this.discovering ??= this.findMaster().finally(() => {
      this.discovering = null;
    });
    return this.discovering;
  }

  private async findMaster(): Promise<MasterNode> {
    let address: SentinelAddress;
    try {
      address = await this.client.masterAddress();
      await verifyMaster(this.#node, address, this.settings);
    } catch (error) {
      if (this.listenerCount('error') > 0) emitSafely(this, 'error', error);
      throw error;
    }
    this.replicas?.refreshIfKnown();
    const key = addressKey(address);
    if (this.current !== null && this.current.key === key) return this.current;
    if (this.closed) throw this.closedError();
    return this.switchTo(address, key);
  }

  private switchTo(address: SentinelAddress, key: string): MasterNode {
    // Every new connection checks ROLE too: a node demoted behind our back is never used as the master.
    const pool = new ConnectionPool({
      ...this.#node,
      host: address.host,
      port: address.port,
      expectRole: 'master',
    });
    for (const event of ['connect', 'close', 'up', 'down'] as const) {
      pool.on(event, (...args: unknown[]) => emitSafely(this, event, ...args));
    }
    pool.on('down', () => this.recheck());
    const previous = this.current;
    const next: MasterNode = { key, pool };
    this.current = next;
    this.pause.end();
    if (previous === null) {
      this.watcher.start();
      this.startRecheck();
    } else {
      this.retire(previous.pool);
      emitSafely(this, 'failover', { from: previous.key, to: key } satisfies FailoverEvent);
      publishFailover(this.#node.name ?? 'default', previous.key, key);
    }
    return next;
  }

  /** Drains and closes a pool of a master given up; its leases are discarded when released. */
  private retire(pool: ConnectionPool): void {
    this.retired.add(pool);
    void pool.disconnect({ drainTimeoutMs: this.settings.drainTimeoutMs }).finally(() => {
      this.retired.delete(pool);
    });
  }

  private startRecheck(): void {
    const every = this.settings.recheckIntervalMs;
    if (every === 0 || this.recheckTimer !== null) return;
    this.recheckTimer = setInterval(() => this.recheck(), every).unref();
  }

  /** Waits out a backoff step (within the deadline) before trying the same master again; a switch ends it. */
  private sleep(attempt: number, deadline: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.settings.backoff;
    return this.pause.sleep(
      Math.min(backoffDelay(attempt + 1, baseDelayMs, maxDelayMs), deadline - Date.now()),
    );
  }
}
