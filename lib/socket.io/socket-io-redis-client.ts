import { EventEmitter } from 'node:events';
import type { RedisService } from '../client/redis.service';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { emitSafely } from '../utils/safe-emit';
import { BufferSubscriber, type SubscriberHooks } from './buffer-subscriber';
import { isPerNodePubSubQuery, perNodePubSub } from './pubsub-counts';
import { ShardRouter } from './shard-router';
import { SocketIoClientClosedError } from './socket-io.errors';
import {
  resolveSocketIoClientsOptions,
  type ResolvedSocketIoClientsOptions,
  type SocketIoClientsOptions,
} from './socket-io.options';
import type { BufferListener, Listener, PubSubKind, TextListener } from './subscription-registry';

type AnyListener = BufferListener | TextListener;

function nameList(names: string | readonly string[] | undefined): string[] | undefined {
  if (names === undefined) return undefined;
  return typeof names === 'string' ? [names] : names.map(String);
}

/**
 * A Redis client in the shape `@socket.io/redis-adapter` 8 expects from node-redis (`createAdapter` and
 * `createShardedAdapter`), over the app's `RedisService`. `createSocketIoClients()` makes the pair.
 *
 * - `publish`, `sPublish` and `sendCommand` run on the pool's shared, multiplexed connections.
 * - `subscribe`, `pSubscribe`, `sSubscribe` (and their `un...` twins) take node-redis listeners, in buffer mode
 *   when the third argument is `true` (as the adapters ask). They run on one dedicated connection leased from
 *   the pool, subscribed again after any connection loss; on a cluster, shard channels are on one connection per
 *   master serving them and follow their slots when they move.
 * - `sendCommand(['PUBSUB', 'NUMSUB' | 'SHARDNUMSUB' | 'NUMPAT', ...])` sums over every master of a cluster, so
 *   the adapters' `serverCount()` is right there too.
 * - `quit()` / `disconnect()` give back this client's own subscriber connections. The shared pool is never
 *   closed: the app's pool module does that.
 *
 * Events: `error` (a publish or subscription failed, a listener threw, a reconnection attempt failed; only
 * emitted when listened to), `ready` (subscriptions in place on a new connection), `end` (after `quit()`).
 */
export class SocketIoRedisClient extends EventEmitter {
  private readonly options: ResolvedSocketIoClientsOptions;
  private readonly clustered: boolean;
  private subscriber: BufferSubscriber | null = null;
  private shards: ShardRouter | null = null;
  private quitting: Promise<void> | null = null;
  private readonly hooks: SubscriberHooks = {
    error: (error) => this.report(error),
    ready: () => emitSafely(this, 'ready'),
  };

  constructor(
    /** The service whose pool every command runs on. */
    readonly redis: RedisService,
    options: SocketIoClientsOptions = {},
  ) {
    super();
    this.options = resolveSocketIoClientsOptions(options);
    this.clustered = redis.pool.masterPools !== undefined;
  }

  /** `true` until `quit()` (node-redis's `isOpen`). */
  get isOpen(): boolean {
    return this.quitting === null;
  }

  /** Open, and its pool too (node-redis's `isReady`). */
  get isReady(): boolean {
    return this.isOpen && !this.redis.pool.closed;
  }

  /** Subscriber connections this client holds now (0 until it subscribes to something). */
  get subscriberConnections(): number {
    return (this.subscriber?.connected ? 1 : 0) + (this.shards?.connections ?? 0);
  }

  /**
   * Nothing to open (the pool connects on demand); resolves this client, so code written for node-redis's
   * `await Promise.all([pub.connect(), sub.connect()])` runs unchanged.
   */
  connect(): Promise<this> {
    return this.quitting === null ? Promise.resolve(this) : Promise.reject(this.closedError());
  }

  /** A new client on the same `RedisService` (and so the same pool), with the same options. */
  duplicate(): SocketIoRedisClient {
    return new SocketIoRedisClient(this.redis, this.options);
  }

  /** PUBLISH on the shared path; resolves how many subscribers (of the node it ran on) received it. */
  publish(channel: RedisArgument, message: RedisArgument): Promise<number> {
    return this.command<number>('PUBLISH', [channel, message]);
  }

  /** SPUBLISH (Redis 7+) on the shared path: on a cluster, straight to the master serving the channel's slot. */
  sPublish(channel: RedisArgument, message: RedisArgument): Promise<number> {
    return this.command<number>('SPUBLISH', [channel, message]);
  }

  /**
   * Any command on the shared path, as node-redis's `sendCommand([name, ...args])`. PUBSUB NUMSUB, SHARDNUMSUB,
   * NUMPAT, CHANNELS and SHARDCHANNELS are combined over every master of a cluster.
   */
  sendCommand<T = RedisReply>(args: readonly RedisArgument[]): Promise<T> {
    if (!Array.isArray(args) || args.length === 0) {
      return this.handled(Promise.reject(new TypeError('sendCommand needs [command, ...args]')));
    }
    const pool = this.redis.pool;
    if (this.quitting === null && pool.masterPools !== undefined && isPerNodePubSubQuery(args)) {
      const masters = pool.masterPools.bind(pool);
      return this.handled(masters().then((pools) => perNodePubSub(pools, args) as Promise<T>));
    }
    const name = args[0];
    return this.command<T>(typeof name === 'object' ? Buffer.from(name).toString() : String(name), [
      ...args.slice(1),
    ]);
  }

  /** SUBSCRIBE: `listener(message, channel)` per message, Buffers in buffer mode. Resolves once confirmed. */
  subscribe(
    channels: string | readonly string[],
    listener: BufferListener,
    bufferMode: true,
  ): Promise<void>;
  subscribe(
    channels: string | readonly string[],
    listener: TextListener,
    bufferMode?: false,
  ): Promise<void>;
  subscribe(channels: string | readonly string[], listener: AnyListener, bufferMode = false) {
    return this.listen('channel', channels, listener, bufferMode);
  }

  /** UNSUBSCRIBE `listener` (every listener when omitted) from `channels` (every channel when omitted). */
  unsubscribe(
    channels?: string | readonly string[],
    listener?: AnyListener,
    bufferMode = false,
  ): Promise<void> {
    return this.unlisten('channel', channels, listener, bufferMode);
  }

  /** PSUBSCRIBE: like `subscribe` for glob patterns; `listener(message, channel)`. */
  pSubscribe(
    patterns: string | readonly string[],
    listener: BufferListener,
    bufferMode: true,
  ): Promise<void>;
  pSubscribe(
    patterns: string | readonly string[],
    listener: TextListener,
    bufferMode?: false,
  ): Promise<void>;
  pSubscribe(patterns: string | readonly string[], listener: AnyListener, bufferMode = false) {
    return this.listen('pattern', patterns, listener, bufferMode);
  }

  /** PUNSUBSCRIBE, like `unsubscribe`. */
  pUnsubscribe(
    patterns?: string | readonly string[],
    listener?: AnyListener,
    bufferMode = false,
  ): Promise<void> {
    return this.unlisten('pattern', patterns, listener, bufferMode);
  }

  /** SSUBSCRIBE (Redis 7+): like `subscribe` for shard channels (`sPublish`). */
  sSubscribe(
    channels: string | readonly string[],
    listener: BufferListener,
    bufferMode: true,
  ): Promise<void>;
  sSubscribe(
    channels: string | readonly string[],
    listener: TextListener,
    bufferMode?: false,
  ): Promise<void>;
  sSubscribe(channels: string | readonly string[], listener: AnyListener, bufferMode = false) {
    return this.listen('shard', channels, listener, bufferMode);
  }

  /** SUNSUBSCRIBE, like `unsubscribe`. */
  sUnsubscribe(
    channels?: string | readonly string[],
    listener?: AnyListener,
    bufferMode = false,
  ): Promise<void> {
    return this.unlisten('shard', channels, listener, bufferMode);
  }

  /**
   * Unsubscribes everything and gives this client's subscriber connections back; resolves once their sockets
   * closed. The shared pool stays open. Later calls reject with `SocketIoClientClosedError`. Idempotent.
   */
  quit(): Promise<void> {
    this.quitting ??= Promise.all([this.subscriber?.close(), this.shards?.close()]).then(() => {
      emitSafely(this, 'end');
    });
    return this.quitting;
  }

  /** Same as `quit()` (node-redis 4 and 5 both spell it). */
  disconnect(): Promise<void> {
    return this.quit();
  }

  /** Same as `quit()`. */
  close(): Promise<void> {
    return this.quit();
  }

  /** `quit()` without waiting for it. */
  destroy(): void {
    void this.quit();
  }

  private command<T>(name: string, args: RedisArgument[]): Promise<T> {
    if (this.quitting !== null) return this.handled(Promise.reject(this.closedError()));
    return this.handled(this.redis.executeCommand<T>(name, ...args) as Promise<T>);
  }

  private listen(
    kind: PubSubKind,
    names: string | readonly string[],
    fn: AnyListener,
    buffers: boolean,
  ): Promise<void> {
    const list = nameList(names) ?? [];
    if (list.length === 0)
      return this.handled(Promise.reject(new TypeError('Nothing to subscribe to')));
    if (typeof fn !== 'function')
      return this.handled(Promise.reject(new TypeError('A listener function is required')));
    if (this.quitting !== null) return this.handled(Promise.reject(this.closedError()));
    const listener: Listener = { fn, buffers: buffers === true };
    if (kind === 'shard' && this.clustered)
      return this.handled(this.shardRouter().subscribe(list, listener));
    return this.handled(this.channelSubscriber().subscribe(kind, list, listener));
  }

  private unlisten(
    kind: PubSubKind,
    names: string | readonly string[] | undefined,
    fn: AnyListener | undefined,
    buffers: boolean,
  ): Promise<void> {
    const list = nameList(names);
    const drop =
      fn === undefined
        ? () => true
        : (l: Listener) => l.fn === fn && l.buffers === (buffers === true);
    const done =
      kind === 'shard' && this.clustered
        ? this.shards?.unsubscribe(list, drop)
        : this.subscriber?.unsubscribe(kind, list, drop);
    return this.handled(done ?? Promise.resolve());
  }

  private channelSubscriber(): BufferSubscriber {
    return (this.subscriber ??= new BufferSubscriber(
      this.redis.pool,
      { ...this.options, clustered: false },
      this.hooks,
    ));
  }

  private shardRouter(): ShardRouter {
    return (this.shards ??= new ShardRouter(
      this.redis.pool,
      { ...this.options, clustered: true },
      this.hooks,
    ));
  }

  private closedError(): SocketIoClientClosedError {
    return new SocketIoClientClosedError(
      'The socket.io Redis client is closed (quit() was called)',
    );
  }

  /**
   * The adapters fire their publishes and subscriptions without awaiting them: a rejection must not surface as
   * an unhandled one. It still rejects for callers who await, and is emitted as `error` for those who listen.
   */
  private handled<T>(promise: Promise<T>): Promise<T> {
    promise.catch((error: unknown) => this.report(error));
    return promise;
  }

  private report(error: unknown): void {
    if (this.listenerCount('error') > 0) emitSafely(this, 'error', error);
  }
}
