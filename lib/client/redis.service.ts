import type { Connection } from '../connection/connection';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { raceAbort } from './abort';
import type { CommandSpec } from './command-runner';
import { poolSource } from './connection-source';
import { LeasedClient } from './leased-client';
import { Multi } from './multi';
import { Pipeline } from './pipeline';
import { keySlot } from '../cluster/hash-slot';
import { ClusterError, TransactionAbortedError } from '../errors/redis-pool.errors';
import type { CallOptions, RedisKey, ScanOptions } from './redis-client.types';
import { IteratorCommands } from './scan-iterator';
import { createScript, type RedisScript, type ScriptOptions } from './script';
import {
  Subscriber,
  type MessageHandler,
  type BufferMessageHandler,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionKind,
} from './subscriber';

/** Options of `transaction()`. */
export interface TransactionOptions {
  /**
   * Keys to WATCH before each run of the callback; EXEC is then aborted when another client changed one of them.
   * @default [] (no WATCH)
   */
  watch?: readonly RedisKey[];
  /**
   * How many more times the callback runs after an aborted EXEC, before `TransactionAbortedError`.
   * @default 3
   */
  retries?: number;
}

/** Options of `watch()`. */
export interface WatchOptions {
  /**
   * How many more times the callback runs after an aborted EXEC, before `TransactionAbortedError`.
   * @default 3
   */
  retries?: number;
}

/** State shared by a service and the views `withOptions()` makes of it. */
interface SharedState {
  subscriber: Subscriber | null;
  /** On a cluster: one subscriber per slot of shard channels, each on the master serving that slot. */
  shardSubscribers: Map<number, Subscriber>;
}

/**
 * The Redis command API over a pool (`ConnectionPool` now, a cluster pool later: it only needs `RedisPool`).
 *
 * - `executeCommand` and the typed helpers (`get`, `set`, `hgetall`, `zadd`, `xreadgroup`...) run on the pool's
 *   shared, multiplexed connections; replies have the same shapes under `protocol: 2` and `protocol: 3`.
 *   `...Buffer` variants return raw bytes; `...Iterator` methods walk SCAN-family cursors.
 * - Blocking helpers (`blpop`, `brpop`, `blmove`, `bzpopmin`, `xread` with `block`...) lease a connection for the
 *   call, so they never stall the shared path.
 * - `pipeline()` and `multi()` batch commands on one leased connection; `watch()`/`transaction()` run optimistic
 *   locking with bounded retries; `withConnection()` hands a leased client to a callback.
 * - `subscribe()`, `psubscribe()`, `ssubscribe()` deliver messages from one dedicated connection that comes back
 *   (resubscribed) after a reconnect.
 * - `defineScript()` makes EVALSHA callables that reload themselves after SCRIPT FLUSH or a restart.
 * - `withOptions({ timeoutMs, signal })` gives a view whose every call uses those options.
 */
export class RedisService extends IteratorCommands {
  private callOptions: CallOptions = {};
  private readonly shared: SharedState = { subscriber: null, shardSubscribers: new Map() };

  constructor(
    /** The pool every command runs on. */
    readonly pool: RedisPool,
  ) {
    super();
  }

  /**
   * A view of this service whose calls all use `options` (merged over this one's): a deadline, an `AbortSignal`,
   * or `retryable`. It shares the pool, the subscriber and everything else.
   *
   * ```ts
   * await redis.withOptions({ timeoutMs: 200, signal }).get('k');
   * ```
   */
  withOptions(options: CallOptions): RedisService {
    const view = Object.create(this) as RedisService;
    view.callOptions = { ...this.callOptions, ...options };
    return view;
  }

  protected run<T>(spec: CommandSpec<T>): Promise<T> {
    const options = this.callOptions;
    if (spec.blocking) return this.runLeased(spec, options);
    const reply = this.pool.execute<RedisReply>(spec.command, spec.args, {
      buffers: spec.buffers,
      timeoutMs: options.timeoutMs,
      retryable: options.retryable,
      signal: options.signal,
      splitAcrossSlots: options.splitAcrossSlots,
    });
    const transform = spec.transform;
    return transform === undefined ? (reply as Promise<T>) : reply.then(transform);
  }

  /**
   * A blocking command on a connection leased for it. An abort withdraws it if it was not written yet; once
   * written, the connection (still blocked) is discarded when the lease is given back.
   */
  private async runLeased<T>(spec: CommandSpec<T>, options: CallOptions): Promise<T> {
    const { signal, timeoutMs } = options;
    const pool = this.pool;
    const block = async (connection: Connection): Promise<T> => {
      const reply = await connection.executeWith<RedisReply>(
        spec.command,
        spec.args,
        spec.buffers,
        timeoutMs,
        signal,
      );
      return spec.transform === undefined ? (reply as T) : spec.transform(reply);
    };
    // On a cluster the lease follows its slot: a blocking command refused with MOVED/ASK runs on the new owner.
    if (pool.routingKey !== undefined) {
      return raceAbort(pool.withConnection(block, pool.routingKey([spec])), signal);
    }
    const connection = await raceAbort(pool.getConnection(), signal, undefined, (late) =>
      pool.release(late),
    );
    try {
      return await block(connection);
    } finally {
      pool.release(connection);
    }
  }

  /**
   * A pipeline: chain helpers, then `exec()` sends them in one go on one leased connection, in order, and
   * resolves one result per command with errors in place.
   *
   * ```ts
   * const [set, count] = await redis.pipeline().set('k', 'v').incr('n').exec();
   * ```
   */
  pipeline(): Pipeline {
    return new Pipeline(poolSource(this.pool), this.callOptions);
  }

  /**
   * A MULTI/EXEC transaction on one leased connection: chain helpers, then `exec()` resolves the results (errors
   * of single commands in place), or `null` if EXEC was aborted by WATCH (see `watch()`).
   */
  multi(): Multi {
    return new Multi(poolSource(this.pool), this.callOptions);
  }

  /**
   * Optimistic locking: leases a connection, WATCHes `keys`, and runs `fn` with a client on that connection.
   * Read with it, then queue writes with `client.multi()...exec()`. When that EXEC is aborted because a watched
   * key changed, the keys are watched again and `fn` runs again, up to `retries` more times; then it rejects
   * with `TransactionAbortedError`. Resolves with what `fn` returned on the run whose EXEC went through (or that
   * did not EXEC at all).
   *
   * ```ts
   * await redis.watch(['balance'], async (tx) => {
   *   const balance = Number(await tx.get('balance'));
   *   return tx.multi().set('balance', balance - 10).exec();
   * }, { retries: 5 });
   * ```
   */
  watch<T>(
    keys: RedisKey | readonly RedisKey[],
    fn: (client: LeasedClient) => Promise<T>,
    options: WatchOptions = {},
  ): Promise<T> {
    const list = typeof keys === 'string' || Buffer.isBuffer(keys) ? [keys] : [...keys];
    return this.transaction(fn, { watch: list, retries: options.retries });
  }

  /**
   * Runs `fn` with a client on a leased connection, WATCHing `options.watch` first when given, and runs it again
   * (watching again) when its `multi().exec()` was aborted, up to `options.retries` more times. `watch()` is the
   * short form. Without `watch`, it is a place to build a transaction from reads on the same connection.
   */
  transaction<T>(
    fn: (client: LeasedClient) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const keys = options.watch ?? [];
    const retries = options.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 0)
      return Promise.reject(new TypeError('retries must be a non-negative integer'));
    let key: RedisArgument | undefined;
    try {
      key = this.pool.routingKey?.([{ command: 'WATCH', args: keys }]);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.pool.withConnection(async (connection) => {
      const client = new LeasedClient(connection, this.callOptions);
      for (let attempt = 1; ; attempt++) {
        if (keys.length > 0) await client.executeCommand('WATCH', ...keys);
        const result = await fn(client);
        if (!client.takeExecAborted()) return result;
        if (attempt > retries) {
          throw new TransactionAbortedError(
            `Transaction aborted: a watched key changed on each of ${attempt} attempts`,
            attempt,
          );
        }
      }
    }, key);
  }

  /**
   * Leases a connection, runs `fn` with a client on it (every helper, blocking commands, stateful commands via
   * `executeCommand`), and always gives the lease back: state the callback changed (SELECT, WATCH...) is undone
   * or the connection discarded. On a cluster, `key` picks the master of its slot (any master without it); when
   * the slot moves before anything the callback sent took effect, it runs again on the new owner.
   */
  withConnection<T>(fn: (client: LeasedClient) => Promise<T>, key?: RedisKey): Promise<T> {
    return this.pool.withConnection(
      (connection) => fn(new LeasedClient(connection, this.callOptions)),
      key,
    );
  }

  /**
   * The pub/sub subscriber shared by `subscribe()`, `psubscribe()` and `ssubscribe()`; listen to its `error`
   * event to hear about handlers that threw and failed reconnection attempts, `reconnect` for restored
   * subscriptions.
   */
  get subscriber(): Subscriber {
    return (this.shared.subscriber ??= new Subscriber(this.pool));
  }

  /**
   * SUBSCRIBE: calls `handler(message, channel)` for each message on `channels`, from a dedicated connection that
   * resubscribes after reconnects. Resolves once the server confirmed; `unsubscribe()` on the result stops it.
   * With `{ buffers: true }` the handler receives Buffers: the exact bytes published, binary payloads intact.
   */
  subscribe(channels: string | readonly string[], handler: MessageHandler): Promise<Subscription>;
  subscribe(
    channels: string | readonly string[],
    handler: BufferMessageHandler,
    options: SubscribeOptions & { buffers: true },
  ): Promise<Subscription>;
  subscribe(
    channels: string | readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.subscribeTo('channel', channels, handler, options);
  }

  /** PSUBSCRIBE: like `subscribe` for glob patterns; `handler(message, channel, pattern)`. */
  psubscribe(patterns: string | readonly string[], handler: MessageHandler): Promise<Subscription>;
  psubscribe(
    patterns: string | readonly string[],
    handler: BufferMessageHandler,
    options: SubscribeOptions & { buffers: true },
  ): Promise<Subscription>;
  psubscribe(
    patterns: string | readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.subscribeTo('pattern', patterns, handler, options);
  }

  /** SSUBSCRIBE (Redis 7+): like `subscribe` for shard channels (`spublish`). */
  ssubscribe(
    shardChannels: string | readonly string[],
    handler: MessageHandler,
  ): Promise<Subscription>;
  ssubscribe(
    shardChannels: string | readonly string[],
    handler: BufferMessageHandler,
    options: SubscribeOptions & { buffers: true },
  ): Promise<Subscription>;
  ssubscribe(
    shardChannels: string | readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.subscribeTo('shard', shardChannels, handler, options);
  }

  private subscribeTo(
    kind: SubscriptionKind,
    names: string | readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options: SubscribeOptions | undefined,
  ): Promise<Subscription> {
    const list = typeof names === 'string' ? [names] : names;
    if (kind !== 'shard' || this.pool.masterPools === undefined) {
      return this.subscriber.subscribe(kind, list, handler, options);
    }
    let subscriber: Subscriber;
    try {
      subscriber = this.shardSubscriber(list);
    } catch (error) {
      return Promise.reject(error);
    }
    return subscriber.subscribe(kind, list, handler, options);
  }

  /** On a cluster, the subscriber for the slot of `names` (which must share one slot, as SSUBSCRIBE requires). */
  private shardSubscriber(names: readonly string[]): Subscriber {
    const slot = names.length === 0 ? 0 : keySlot(names[0]);
    for (const name of names) {
      if (keySlot(name) !== slot) {
        throw new ClusterError(
          'CROSSSLOT refused before sending: shard channels of one ssubscribe() must hash to one slot',
        );
      }
    }
    let subscriber = this.shared.shardSubscribers.get(slot);
    if (subscriber === undefined) {
      subscriber = new Subscriber(this.pool, { routeKey: names[0] });
      this.shared.shardSubscribers.set(slot, subscriber);
    }
    return subscriber;
  }

  /**
   * Every key (matching `match`, of `type`); on a cluster, every master is walked in turn.
   */
  override scanIterator(...args: [options?: ScanOptions]): AsyncGenerator<string, void, undefined> {
    // The base refuses extra arguments (JavaScript callers may pass them): hand them all on so it can.
    if (this.pool.masterPools === undefined || args.length > 1) return super.scanIterator(...args);
    return this.scanMasters(args[0]);
  }

  private async *scanMasters(options?: ScanOptions): AsyncGenerator<string, void, undefined> {
    const pools = (await this.pool.masterPools?.()) ?? [];
    for (const pool of pools) {
      yield* new RedisService(pool).withOptions(this.callOptions).scanIterator(options);
    }
  }

  /**
   * A Lua script as a function `(keys, args) => Promise<RedisReply>`: EVALSHA, falling back to EVAL on NOSCRIPT
   * (after SCRIPT FLUSH, a restart, a failover). Calls go through this service, with its options.
   *
   * ```ts
   * const incrTo = redis.defineScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", { numberOfKeys: 1 });
   * await incrTo(['counter'], [5]);
   * ```
   */
  defineScript(lua: string, options: ScriptOptions = {}): RedisScript {
    return createScript(lua, options, (command: string, args: RedisArgument[]) =>
      this.executeCommand(command, ...args),
    );
  }
}
