import { keySlot } from '../cluster/hash-slot';
import type { Connection } from '../connection/connection';
import { PoolClosedError, ResponseError } from '../errors/redis-pool.errors';
import { ReconnectSchedule } from '../client/reconnect-schedule';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisReply } from '../protocol/resp.types';
import { bySlot, failureKey, isMoved, movedTarget } from './shard-names';
import { SocketIoClientClosedError } from './socket-io.errors';
import {
  PUBSUB_COMMANDS,
  PUBSUB_KINDS,
  SubscriptionRegistry,
  type BufferListener,
  type Listener,
  type Listeners,
  type PubSubKind,
  type TextListener,
} from './subscription-registry';

/** What a subscriber tells its owner. */
export interface SubscriberHooks {
  /** A listener threw or rejected, or an attempt to (re)subscribe failed. */
  error(error: unknown): void;
  /** Every wanted name is subscribed on a new connection (the first one, or one after a reconnect). */
  ready(): void;
  /**
   * Cluster only: shard channels this subscriber's node does not serve any more (MOVED on SSUBSCRIBE after a
   * reconnect, or the server dropped them because their slot migrated). They were taken out of this subscriber,
   * listeners and all; the hook subscribes them where their slot lives now, `movedTo` (`host:port`, from the
   * MOVED reply) when known.
   */
  moved?(entries: Map<string, Listeners>, movedTo: string | undefined): void;
}

/** How a subscriber reconnects, and whether it is on a cluster. */
export interface BufferSubscriberSettings {
  /** First reconnection delay; doubles per failure, with jitter. */
  reconnectBaseDelayMs: number;
  /** Longest reconnection delay. */
  reconnectMaxDelayMs: number;
  /** Shard channels go one slot per SSUBSCRIBE, and the lease is taken on the master of the channels held. */
  clustered: boolean;
}

function bytes(value: RedisReply | undefined): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
}

/**
 * Pub/sub on one dedicated connection leased from the pool, delivering payloads and channel names as the exact
 * bytes Redis sent (socket.io's adapters publish MessagePack). The same life as the package's `Subscriber`: every
 * change runs one at a time; when the connection closes, a new one is leased with exponential backoff and every
 * channel, pattern and shard channel is subscribed again, until the subscriber or the pool is closed. The pool's
 * `closing` event gives the lease back at once.
 *
 * A subscription that fails because the connection did (Redis down, a restart) rejects but stays wanted: the next
 * connection subscribes it. One the server refuses (an error reply) is dropped.
 */
export class BufferSubscriber {
  private connection: Connection | null = null;
  private readonly registry = new SubscriptionRegistry();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Left with nothing to listen to: its connection is being given back, so it is no place for new names. */
  private retiring = false;
  private readonly onPoolClosing = (): void => {
    this.registry.clear();
    void this.stop();
  };
  private readonly reconnects: ReconnectSchedule;

  constructor(
    private readonly pool: RedisPool,
    private readonly settings: BufferSubscriberSettings,
    private readonly hooks: SubscriberHooks,
  ) {
    this.reconnects = new ReconnectSchedule(
      pool,
      settings.reconnectBaseDelayMs,
      settings.reconnectMaxDelayMs,
      this.onPoolClosing,
    );
  }

  /** The address of the node the subscriber is connected to now. */
  get address(): string | undefined {
    return this.connection?.address;
  }

  /** Whether it holds a connection now (and keeps it: one being given back does not count). */
  get connected(): boolean {
    return this.connection !== null && !this.retiring;
  }

  /** Names of every kind still wanted. */
  get count(): number {
    return this.registry.count;
  }

  /** Subscribes `listener` to `names`; resolves once the server confirmed every new name. */
  async subscribe(kind: PubSubKind, names: readonly string[], listener: Listener): Promise<void> {
    await this.adopt(kind, new Map(names.map((name) => [name, new Set([listener])])));
  }

  /**
   * Subscribes names with their listeners (new ones, or moved here from another subscriber); resolves once the
   * server confirmed every new name. On a cluster a shard channel whose slot this node does not serve is not
   * kept: the promise resolves the `host:port` the MOVED reply named, for the caller to try there.
   */
  adopt(kind: PubSubKind, entries: ReadonlyMap<string, Listeners>): Promise<string | undefined> {
    return this.serial(async () => {
      this.checkOpen();
      this.retiring = false;
      const fresh = this.registry.put(kind, entries);
      return this.ensure(kind, fresh, entries);
    });
  }

  /**
   * Removes the listeners `drop` selects from `names` (every name when omitted). Names left without listeners
   * are unsubscribed, confirmed before this resolves; with none left at all, the connection is given back.
   */
  unsubscribe(
    kind: PubSubKind,
    names: readonly string[] | undefined,
    drop: (listener: Listener) => boolean,
  ): Promise<void> {
    return this.serial(async () => {
      const emptied = this.registry.remove(kind, names, drop);
      const connection = this.connection;
      // A connection that dies meanwhile is replaced by one subscribed to what is left: a failure is moot.
      if (emptied.length > 0 && connection !== null)
        await this.send(connection, kind, 'off', emptied).catch(() => undefined);
      if (this.registry.count === 0) await this.stop();
    });
  }

  /** Unsubscribes everything and gives the connection back; resolves once its socket closed. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    return this.serial(() => {
      this.registry.clear();
      return this.stop();
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new SocketIoClientClosedError('The socket.io Redis client is closed');
    if (this.pool.closed) throw new PoolClosedError('The pool is closed');
  }

  /**
   * Gets `fresh` names subscribed (connecting first when needed) and settles as the caller's `entries` went: a
   * MOVED reply resolves its target; another error reply drops the names it refused and rejects; a connection
   * failure rejects, the names stay wanted, and a reconnection is scheduled.
   */
  private async ensure(
    kind: PubSubKind,
    fresh: readonly string[],
    entries: ReadonlyMap<string, Listeners>,
  ): Promise<string | undefined> {
    const refused = new Map<string, ResponseError>();
    try {
      if (this.connection === null) await this.connect(refused);
      else if (fresh.length > 0) await this.send(this.connection, kind, 'on', fresh, refused);
    } catch (error) {
      if (this.pool.closed) {
        this.forget(kind, entries);
        if (this.registry.count === 0) await this.stop();
      } else if (this.connection === null) {
        this.scheduleReconnect();
      }
      throw error;
    }
    let movedTo: string | undefined;
    let failure: ResponseError | undefined;
    for (const name of entries.keys()) {
      const error = refused.get(failureKey(kind, name));
      if (error === undefined) continue;
      refused.delete(failureKey(kind, name));
      this.forget(kind, new Map([[name, entries.get(name) as Listeners]]));
      if (isMoved(error, kind)) movedTo ??= movedTarget(error);
      else failure ??= error;
      // Listeners of other subscriptions to the same name are settled with the rest below.
      if (this.registry.has(kind, name)) refused.set(failureKey(kind, name), error);
    }
    await this.settle(refused);
    if (failure !== undefined) throw failure;
    return movedTo;
  }

  /** Takes the caller's listeners out again (only those: others may listen to the same names). */
  private forget(kind: PubSubKind, entries: ReadonlyMap<string, Listeners>): void {
    for (const [name, listeners] of entries) {
      this.registry.remove(kind, [name], (listener) => listeners.has(listener));
    }
  }

  /**
   * Names the server refused that nobody is waiting on: shard channels that moved go to the `moved` hook, the
   * rest are dropped and reported. With nothing left wanted, the connection is given back.
   */
  private async settle(refused: ReadonlyMap<string, ResponseError>): Promise<void> {
    const moved = new Map<string, string[]>();
    for (const [key, error] of refused) {
      const [kind, name] = key.split('\u0000') as [PubSubKind, string];
      if (isMoved(error, kind) && this.hooks.moved !== undefined) {
        const target = movedTarget(error) ?? '';
        moved.set(target, [...(moved.get(target) ?? []), name]);
      } else {
        this.registry.remove(kind, [name], () => true);
        this.hooks.error(error);
      }
    }
    for (const [target, names] of moved) this.evict(names, target === '' ? undefined : target);
    if (this.registry.count === 0) await this.stop();
  }

  /** Runs changes one at a time, in call order, whatever each one's outcome. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** On a cluster, the lease goes to the master serving the shard channels held (any master without). */
  private routeKey(): string | undefined {
    return this.settings.clustered ? this.registry.names('shard')[0] : undefined;
  }

  /** Leases a connection and subscribes it to everything wanted; names the server refuses go to `refused`. */
  private async connect(refused: Map<string, ResponseError>): Promise<void> {
    const connection = await this.pool.getConnection(this.routeKey());
    if (this.closed || this.pool.closed || this.registry.count === 0) {
      this.pool.release(connection);
      return;
    }
    // MessagePack is not UTF-8: decoded as text it would be mangled beyond repair.
    connection.decodeMessagesAsBuffers();
    this.attach(connection);
    try {
      await Promise.all(
        PUBSUB_KINDS.map((kind) => {
          const names = this.registry.names(kind);
          return names.length === 0 ? undefined : this.send(connection, kind, 'on', names, refused);
        }),
      );
    } catch (error) {
      if (this.connection === connection) this.dropConnection();
      throw error;
    }
    if (this.connection === connection) this.hooks.ready();
  }

  /**
   * (UN)SUBSCRIBE `names` on `connection`; on a cluster shard channels go one slot per command (SSUBSCRIBE may
   * not span slots). Error replies to a subscription are put in `refused` by name; a connection failure rejects.
   */
  private async send(
    connection: Connection,
    kind: PubSubKind,
    direction: 'on' | 'off',
    names: readonly string[],
    refused?: Map<string, ResponseError>,
  ): Promise<void> {
    const command = PUBSUB_COMMANDS[kind][direction];
    await Promise.all(
      this.groups(kind, names).map(async (group) => {
        try {
          await connection.executeCommandBuffer(command, ...group);
        } catch (error) {
          if (!(error instanceof ResponseError) || refused === undefined) throw error;
          for (const name of group) refused.set(failureKey(kind, name), error);
        }
      }),
    );
  }

  /** Names split so that each command is valid: shard channels by slot on a cluster, otherwise one group. */
  private groups(kind: PubSubKind, names: readonly string[]): string[][] {
    if (kind !== 'shard' || !this.settings.clustered) return [[...names]];
    return [...bySlot(names).values()];
  }

  /** Moves the shard channels of the slots of `names` to the `moved` hook. */
  private evict(names: readonly string[], movedTo: string | undefined): void {
    const slots = new Set(names.map((name) => keySlot(name)));
    const leaving = this.registry.names('shard').filter((name) => slots.has(keySlot(name)));
    const entries = this.registry.take('shard', leaving);
    // Retiring before the hook runs: the router must not place the moved names right back here, on a connection
    // about to be given back (a new lease would then be taken for them, wherever their slot lives now, next to
    // the router's subscriber already there).
    if (this.registry.count === 0) this.retiring = true;
    if (entries.size > 0) this.hooks.moved?.(entries, movedTo);
    if (this.registry.count === 0) void this.serial(() => this.stop());
  }

  private attach(connection: Connection): void {
    this.reconnects.connected();
    this.connection = connection;
    connection.on('push', this.onPush);
    connection.once('close', this.onClose);
  }

  /** Gives the connection back and stops reconnecting; resolves once its socket closed. */
  private stop(): Promise<void> {
    this.reconnects.stop();
    return this.dropConnection();
  }

  private dropConnection(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection === null) return Promise.resolve();
    connection.off('push', this.onPush);
    connection.off('close', this.onClose);
    // Marked to be discarded (decodeMessagesAsBuffers): the pool closes it rather than hand it to anyone else.
    this.pool.release(connection);
    return connection.whenClosed();
  }

  private readonly onPush = (frame: RedisReply[]): void => {
    const type = bytes(frame[0]).toString();
    if (type === 'message') this.deliver('channel', frame[1], frame[1], frame[2]);
    else if (type === 'pmessage') this.deliver('pattern', frame[1], frame[2], frame[3]);
    else if (type === 'smessage') this.deliver('shard', frame[1], frame[1], frame[2]);
    else if (type === 'sunsubscribe') this.onShardDropped(bytes(frame[1]).toString());
  };

  /**
   * The server dropped a shard channel: its slot moved to another node. On a cluster the slot's channels move to
   * the subscriber of its new node; otherwise a new connection subscribes them again.
   */
  private onShardDropped(name: string): void {
    if (!this.registry.has('shard', name)) return;
    if (this.settings.clustered && this.hooks.moved !== undefined) this.evict([name], undefined);
    else this.connection?.destroy();
  }

  private deliver(
    kind: PubSubKind,
    name: RedisReply | undefined,
    channel: RedisReply | undefined,
    payload: RedisReply | undefined,
  ): void {
    const listeners = this.registry.listeners(kind, bytes(name).toString());
    if (listeners === undefined) return;
    const message = bytes(payload);
    const channelBytes = bytes(channel);
    let text: string | undefined;
    let channelText: string | undefined;
    for (const listener of [...listeners]) {
      try {
        const outcome = listener.buffers
          ? (listener.fn as BufferListener)(message, channelBytes)
          : (listener.fn as TextListener)(
              (text ??= message.toString()),
              (channelText ??= channelBytes.toString()),
            );
        if (outcome instanceof Promise) outcome.catch((error: unknown) => this.hooks.error(error));
      } catch (error) {
        this.hooks.error(error);
      }
    }
  }

  private readonly onClose = (): void => {
    const connection = this.connection;
    if (connection === null) return;
    connection.off('push', this.onPush);
    this.connection = null;
    if (this.closed || this.pool.closed || this.registry.count === 0) {
      this.reconnects.stop();
      return;
    }
    this.scheduleReconnect();
  };

  private scheduleReconnect(): void {
    if (this.pool.closed || this.closed) return;
    this.reconnects.schedule(() => void this.serial(() => this.reconnect()));
  }

  private async reconnect(): Promise<void> {
    if (this.connection !== null || this.registry.count === 0 || this.pool.closed || this.closed) {
      if (this.connection === null) this.reconnects.stop();
      return;
    }
    const refused = new Map<string, ResponseError>();
    try {
      await this.connect(refused);
    } catch (error) {
      if (this.pool.closed) return;
      this.hooks.error(error);
      this.scheduleReconnect();
      return;
    }
    await this.settle(refused);
  }
}
