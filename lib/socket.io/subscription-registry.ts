/** Channels (SUBSCRIBE), patterns (PSUBSCRIBE) or shard channels (SSUBSCRIBE, Redis 7+). */
export type PubSubKind = 'channel' | 'pattern' | 'shard';

/**
 * A node-redis style pub/sub listener in buffer mode (`subscribe(channels, listener, true)`, as socket.io's
 * adapters subscribe): the message and the channel as the exact bytes Redis sent. A listener that throws or
 * rejects does not disturb delivery; the error goes to the client's `error` event when anyone listens.
 */
export type BufferListener = (message: Buffer, channel: Buffer) => unknown;

/** A node-redis style pub/sub listener in text mode: the message and the channel decoded as UTF-8. */
export type TextListener = (message: string, channel: string) => unknown;

/** One subscribed listener. */
export interface Listener {
  readonly fn: BufferListener | TextListener;
  /** Receives Buffers (node-redis `bufferMode`), not strings. */
  readonly buffers: boolean;
}

/** The listeners of one name. */
export type Listeners = Set<Listener>;

export const PUBSUB_KINDS: readonly PubSubKind[] = ['channel', 'pattern', 'shard'];

/** What each kind sends to subscribe and to unsubscribe. */
export const PUBSUB_COMMANDS: Record<PubSubKind, { on: string; off: string }> = {
  channel: { on: 'SUBSCRIBE', off: 'UNSUBSCRIBE' },
  pattern: { on: 'PSUBSCRIBE', off: 'PUNSUBSCRIBE' },
  shard: { on: 'SSUBSCRIBE', off: 'SUNSUBSCRIBE' },
};

/** Which listeners want which names, per kind: what a subscriber subscribes again after a reconnect. */
export class SubscriptionRegistry {
  private readonly maps: Record<PubSubKind, Map<string, Listeners>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };

  /** Names of every kind. */
  get count(): number {
    return this.maps.channel.size + this.maps.pattern.size + this.maps.shard.size;
  }

  names(kind: PubSubKind): string[] {
    return [...this.maps[kind].keys()];
  }

  has(kind: PubSubKind, name: string): boolean {
    return this.maps[kind].has(name);
  }

  listeners(kind: PubSubKind, name: string): Listeners | undefined {
    return this.maps[kind].get(name);
  }

  /** Adds `listener` to each name (once: the same function in the same mode is kept once); returns new names. */
  add(kind: PubSubKind, names: readonly string[], listener: Listener): string[] {
    const fresh: string[] = [];
    for (const name of names) {
      let set = this.maps[kind].get(name);
      if (set === undefined) {
        this.maps[kind].set(name, (set = new Set()));
        fresh.push(name);
      }
      if (![...set].some((l) => l.fn === listener.fn && l.buffers === listener.buffers))
        set.add(listener);
    }
    return fresh;
  }

  /**
   * Removes the listeners `drop` selects from `names` (every name when `undefined`); returns the names left
   * without listeners, which are no longer wanted.
   */
  remove(
    kind: PubSubKind,
    names: readonly string[] | undefined,
    drop: (listener: Listener) => boolean,
  ): string[] {
    const map = this.maps[kind];
    const emptied: string[] = [];
    for (const name of names ?? [...map.keys()]) {
      const set = map.get(name);
      if (set === undefined) continue;
      for (const listener of [...set]) if (drop(listener)) set.delete(listener);
      if (set.size === 0) {
        map.delete(name);
        emptied.push(name);
      }
    }
    return emptied;
  }

  /** Takes names out with their listeners (to move them to another subscriber). */
  take(kind: PubSubKind, names: readonly string[]): Map<string, Listeners> {
    const taken = new Map<string, Listeners>();
    for (const name of names) {
      const set = this.maps[kind].get(name);
      if (set === undefined) continue;
      this.maps[kind].delete(name);
      taken.set(name, set);
    }
    return taken;
  }

  /** Puts names back with their listeners (merged with any already there); returns the new names. */
  put(kind: PubSubKind, entries: ReadonlyMap<string, Listeners>): string[] {
    const fresh: string[] = [];
    for (const [name, listeners] of entries) {
      for (const listener of listeners) fresh.push(...this.add(kind, [name], listener));
    }
    return fresh;
  }

  clear(): void {
    for (const kind of PUBSUB_KINDS) this.maps[kind].clear();
  }
}
