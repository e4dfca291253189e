import { EventEmitter } from 'node:events';
import type { Connection } from '../connection/connection';
import { PoolClosedError } from '../errors/redis-pool.errors';
import { emitSafely } from '../utils/safe-emit';
import { ReconnectSchedule } from './reconnect-schedule';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisReply } from '../protocol/resp.types';

/**
 * Receives a message: its payload, the channel it was published to, and for pattern subscriptions the pattern
 * that matched. A handler that throws (or rejects) does not disturb delivery; the error goes to the
 * subscriber's `error` event when anyone listens.
 */
export type MessageHandler = (message: string, channel: string, pattern?: string) => unknown;

/**
 * Like `MessageHandler`, in buffer mode (`{ buffers: true }`): the payload, channel and pattern as the exact bytes
 * Redis sent, so binary payloads (MessagePack, protobuf, compressed data) arrive intact.
 */
export type BufferMessageHandler = (message: Buffer, channel: Buffer, pattern?: Buffer) => unknown;

/** How a subscription's handler receives its messages. */
export interface SubscribeOptions {
  /**
   * Deliver payloads, channels and patterns as Buffers (a `BufferMessageHandler`) rather than UTF-8 strings.
   * @default false
   */
  buffers?: boolean;
}

/** Channels (SUBSCRIBE), patterns (PSUBSCRIBE) or shard channels (SSUBSCRIBE, Redis 7+). */
export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

/** What `subscribe()`, `psubscribe()` and `ssubscribe()` resolve once the server confirmed. */
export interface Subscription {
  readonly kind: SubscriptionKind;
  /** The channels or patterns this subscription listens to. */
  readonly names: readonly string[];
  /**
   * Stops this handler. Channels no other subscription listens to are unsubscribed; when none is left, the
   * subscriber's connection is given back. Idempotent.
   */
  unsubscribe(): Promise<void>;
}

/** Reconnection of the subscriber's connection. */
export interface SubscriberOptions {
  /**
   * First delay before re-leasing a connection after the subscriber's connection closed; doubles per failure.
   * @default 50
   */
  reconnectBaseDelayMs?: number;
  /**
   * Longest delay between reconnection attempts.
   * @default 2000
   */
  reconnectMaxDelayMs?: number;
  /**
   * The key the connection is leased by: on a cluster, a shard channel, so the lease lands on the master serving
   * that channel's slot (and lands there again after a reconnect, wherever the slot went).
   * @default undefined (any connection)
   */
  routeKey?: string;
}

const COMMANDS: Record<SubscriptionKind, { on: string; off: string }> = {
  channel: { on: 'SUBSCRIBE', off: 'UNSUBSCRIBE' },
  pattern: { on: 'PSUBSCRIBE', off: 'PUNSUBSCRIBE' },
  shard: { on: 'SSUBSCRIBE', off: 'SUNSUBSCRIBE' },
};
const KINDS: readonly SubscriptionKind[] = ['channel', 'pattern', 'shard'];

interface Listener {
  handler: MessageHandler | BufferMessageHandler;
  buffers: boolean;
}

function text(value: RedisReply | undefined): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function bytes(value: RedisReply | undefined): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
}

/**
 * Pub/sub on a dedicated connection leased from the pool and kept. Every change (subscribe, unsubscribe,
 * reconnect) runs one at a time. When the connection closes, a new one is leased with exponential backoff and
 * every channel, pattern and shard channel is subscribed again, until the pool is closed. RESP2 message arrays
 * and RESP3 push frames are both understood (the connection passes either as a `push` event). Messages are
 * decoded as bytes and handed to each handler as UTF-8 strings, or as Buffers to handlers subscribed with
 * `{ buffers: true }`.
 *
 * Events: `error` (a handler threw, or a reconnection attempt failed; only emitted when listened to),
 * `reconnect` (subscriptions restored on a new connection).
 */
export class Subscriber extends EventEmitter {
  private connection: Connection | null = null;
  private readonly registry: Record<SubscriptionKind, Map<string, Set<Listener>>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  private tail: Promise<unknown> = Promise.resolve();
  /** The pool's `closing` event: give the lease back at once, so `pool.disconnect()` need not wait for it. */
  private readonly onPoolClosing = () => {
    for (const kind of KINDS) this.registry[kind].clear();
    this.stop();
  };
  private readonly reconnects: ReconnectSchedule;
  private readonly routeKey: string | undefined;

  constructor(
    private readonly pool: RedisPool,
    options: SubscriberOptions = {},
  ) {
    super();
    this.reconnects = new ReconnectSchedule(
      pool,
      options.reconnectBaseDelayMs ?? 50,
      options.reconnectMaxDelayMs ?? 2000,
      this.onPoolClosing,
    );
    this.routeKey = options.routeKey;
  }

  /** Whether the subscriber holds a connection now. */
  get connected(): boolean {
    return this.connection !== null;
  }

  /** Channels, patterns and shard channels currently wanted. */
  get count(): number {
    return this.registry.channel.size + this.registry.pattern.size + this.registry.shard.size;
  }

  /**
   * Subscribes `handler` to `names`; resolves once the server confirmed every new name. With `{ buffers: true }`
   * the handler receives Buffers.
   */
  subscribe(
    kind: SubscriptionKind,
    names: readonly string[],
    handler: MessageHandler,
  ): Promise<Subscription>;
  subscribe(
    kind: SubscriptionKind,
    names: readonly string[],
    handler: BufferMessageHandler,
    options: SubscribeOptions & { buffers: true },
  ): Promise<Subscription>;
  subscribe(
    kind: SubscriptionKind,
    names: readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  subscribe(
    kind: SubscriptionKind,
    names: readonly string[],
    handler: MessageHandler | BufferMessageHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const unique = [...new Set(names.map(String))];
    if (unique.length === 0) return Promise.reject(new TypeError('Nothing to subscribe to'));
    if (typeof handler !== 'function')
      return Promise.reject(new TypeError('A message handler is required'));
    return this.serial(async () => {
      if (this.pool.closed) throw new PoolClosedError('The pool is closed');
      const listener: Listener = { handler, buffers: options.buffers === true };
      const map = this.registry[kind];
      const fresh = unique.filter((name) => !map.has(name));
      for (const name of unique) {
        let set = map.get(name);
        if (set === undefined) map.set(name, (set = new Set()));
        set.add(listener);
      }
      try {
        if (this.connection === null) await this.connect();
        else if (fresh.length > 0)
          await this.connection.executeCommandBuffer(COMMANDS[kind].on, ...fresh);
      } catch (error) {
        this.forget(kind, unique, listener);
        if (this.count === 0) this.stop();
        else if (this.connection === null) this.scheduleReconnect();
        throw error;
      }
      return this.subscription(kind, unique, listener);
    });
  }

  /** Unsubscribes everything and gives the connection back. */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const kind of KINDS) this.registry[kind].clear();
      this.stop();
    });
  }

  private subscription(kind: SubscriptionKind, names: string[], listener: Listener): Subscription {
    let done = false;
    return {
      kind,
      names,
      unsubscribe: () => {
        if (done) return Promise.resolve();
        done = true;
        return this.serial(() => this.remove(kind, names, listener));
      },
    };
  }

  private async remove(kind: SubscriptionKind, names: string[], listener: Listener): Promise<void> {
    const emptied = this.forget(kind, names, listener);
    if (emptied.length > 0 && this.connection !== null) {
      // Confirmed before resolving, so no message for these names arrives after `unsubscribe()` settled. A
      // connection that dies meanwhile is replaced by one subscribed to what is left, so a failure is moot.
      await this.connection
        .executeCommandBuffer(COMMANDS[kind].off, ...emptied)
        .catch(() => undefined);
    }
    if (this.count === 0) this.stop();
  }

  /** Drops a listener from names; returns the names nobody listens to any more. */
  private forget(kind: SubscriptionKind, names: string[], listener: Listener): string[] {
    const map = this.registry[kind];
    const emptied: string[] = [];
    for (const name of names) {
      const set = map.get(name);
      if (set === undefined) continue;
      set.delete(listener);
      if (set.size === 0) {
        map.delete(name);
        emptied.push(name);
      }
    }
    return emptied;
  }

  /** Runs changes one at a time, in call order, whatever each one's outcome. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Leases a connection and subscribes it to everything wanted. */
  private async connect(): Promise<void> {
    const connection = await this.pool.getConnection(this.routeKey);
    if (this.pool.closed || this.count === 0) {
      this.pool.release(connection);
      return;
    }
    // Bytes, not text: a binary payload decoded as UTF-8 would be mangled beyond repair. Each handler gets the
    // form it asked for in deliver().
    connection.decodeMessagesAsBuffers();
    this.attach(connection);
    try {
      const confirmations: Array<Promise<unknown>> = [];
      for (const kind of KINDS) {
        const names = [...this.registry[kind].keys()];
        if (names.length > 0)
          confirmations.push(connection.executeCommandBuffer(COMMANDS[kind].on, ...names));
      }
      await Promise.all(confirmations);
    } catch (error) {
      if (this.connection === connection) this.dropConnection();
      throw error;
    }
  }

  private attach(connection: Connection): void {
    this.reconnects.connected();
    this.connection = connection;
    connection.on('push', this.onPush);
    connection.once('close', this.onClose);
  }

  /** Gives the connection back and stops reconnecting: nothing is wanted any more. */
  private stop(): void {
    this.reconnects.stop();
    this.dropConnection();
  }

  private dropConnection(): void {
    const connection = this.connection;
    this.connection = null;
    if (connection === null) return;
    connection.off('push', this.onPush);
    connection.off('close', this.onClose);
    // The pool discards a connection that was subscribed rather than hand it to anyone else.
    this.pool.release(connection);
  }

  private readonly onPush = (frame: RedisReply[]): void => {
    const kind = text(frame[0]);
    if (kind === 'message') this.deliver('channel', frame[1], frame[2], frame[1]);
    else if (kind === 'pmessage') this.deliver('pattern', frame[1], frame[3], frame[2], frame[1]);
    else if (kind === 'smessage') this.deliver('shard', frame[1], frame[2], frame[1]);
    else if (kind === 'sunsubscribe' && this.registry.shard.has(text(frame[1])))
      // The server dropped a shard channel we still want: its slot moved to another node. Reconnecting
      // leases on the slot's new master and subscribes there again.
      this.connection?.destroy();
  };

  /** Hands a message to the handlers of `name`: `pattern` is the matching pattern of a pmessage. */
  private deliver(
    kind: SubscriptionKind,
    name: RedisReply | undefined,
    message: RedisReply | undefined,
    channel: RedisReply | undefined,
    pattern?: RedisReply,
  ): void {
    const listeners = this.registry[kind].get(text(name));
    if (listeners === undefined) return;
    let strings: [string, string, string?] | undefined;
    let buffers: [Buffer, Buffer, Buffer?] | undefined;
    for (const { handler, buffers: wantsBytes } of [...listeners]) {
      try {
        const args = wantsBytes
          ? (buffers ??= [
              bytes(message),
              bytes(channel),
              pattern === undefined ? undefined : bytes(pattern),
            ])
          : (strings ??= [
              text(message),
              text(channel),
              pattern === undefined ? undefined : text(pattern),
            ]);
        const outcome =
          pattern === undefined
            ? (handler as (...values: unknown[]) => unknown)(args[0], args[1])
            : (handler as (...values: unknown[]) => unknown)(args[0], args[1], args[2]);
        if (outcome instanceof Promise) outcome.catch((error: unknown) => this.report(error));
      } catch (error) {
        this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    if (this.listenerCount('error') > 0) emitSafely(this, 'error', error);
  }

  private readonly onClose = (): void => {
    const connection = this.connection;
    if (connection === null) return;
    connection.off('push', this.onPush);
    this.connection = null;
    if (this.pool.closed || this.count === 0) {
      this.reconnects.stop();
      return;
    }
    this.scheduleReconnect();
  };

  private scheduleReconnect(): void {
    if (this.pool.closed) return;
    this.reconnects.schedule(() => void this.serial(() => this.reconnect()));
  }

  private async reconnect(): Promise<void> {
    if (this.connection !== null || this.count === 0 || this.pool.closed) {
      if (this.connection === null) this.reconnects.stop();
      return;
    }
    try {
      await this.connect();
      if (this.connection !== null) emitSafely(this, 'reconnect');
    } catch (error) {
      this.report(error);
      this.scheduleReconnect();
    }
  }
}
