import { keySlot } from '../cluster/hash-slot';
import { ClusterError } from '../errors/redis-pool.errors';
import type { RedisPool } from '../pool/redis-pool.interface';
import {
  BufferSubscriber,
  type BufferSubscriberSettings,
  type SubscriberHooks,
} from './buffer-subscriber';
import { bySlot } from './shard-names';
import type { Listener, Listeners } from './subscription-registry';

/** Tries to place one slot's channels before giving up: each MOVED names the next node to try. */
const MAX_PLACEMENT_TRIES = 5;

/**
 * Shard channels on a cluster: one subscriber connection per master that serves any of them (not one per slot,
 * so a sharded adapter with many rooms holds a handful of leases). A slot's channels live on the subscriber of
 * the node serving that slot. A new slot is tried on a subscriber already connected; a MOVED reply names the
 * right node, whose subscriber (or a new one, leased on that slot's master) takes it. When a slot moves (MOVED
 * after a reconnect, or the server dropping its channels after a migration) its channels move the same way.
 * No lease is taken just to find a node.
 */
export class ShardRouter {
  /** The subscriber each slot's channels are on. */
  private readonly homes = new Map<number, BufferSubscriber>();
  private readonly subscribers = new Set<BufferSubscriber>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Retries of channels that could not be moved yet (their new node was unreachable). */
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(
    private readonly pool: RedisPool,
    private readonly settings: BufferSubscriberSettings,
    private readonly hooks: SubscriberHooks,
  ) {}

  /** Subscribers holding a connection now. */
  get connections(): number {
    return [...this.subscribers].filter((s) => s.connected).length;
  }

  /** Subscribes `listener` to shard channels (of any slots); resolves once every slot's server confirmed. */
  subscribe(names: readonly string[], listener: Listener): Promise<void> {
    return this.serial(async () => {
      for (const group of bySlot(names).values()) {
        await this.place(new Map(group.map((name) => [name, new Set([listener])])), undefined);
      }
    });
  }

  /** Like `BufferSubscriber.unsubscribe` for shard channels, on whichever subscribers hold them. */
  unsubscribe(names: readonly string[] | undefined, drop: (l: Listener) => boolean): Promise<void> {
    return this.serial(async () => {
      const targets =
        names === undefined
          ? [...this.subscribers].map((s) => [s, undefined] as const)
          : [...bySlot(names)].flatMap(([slot, group]) => {
              const home = this.homes.get(slot);
              return home === undefined ? [] : [[home, group] as const];
            });
      await Promise.all(targets.map(([s, group]) => s.unsubscribe('shard', group, drop)));
      this.sweep();
    });
  }

  /** Closes every subscriber; resolves once their sockets closed. */
  close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    return this.serial(async () => {
      const all = [...this.subscribers];
      this.subscribers.clear();
      this.homes.clear();
      await Promise.all(all.map((s) => s.close()));
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Subscribes one slot's channels on the subscriber of the node serving that slot, following MOVED replies.
   * @throws ClusterError when the slot kept moving; a connection failure (the names stay wanted where tried).
   */
  private async place(entries: Map<string, Listeners>, hint: string | undefined): Promise<void> {
    const first = entries.keys().next().value as string;
    const slot = keySlot(first);
    let movedTo = hint;
    for (let attempt = 0; attempt < MAX_PLACEMENT_TRIES; attempt++) {
      this.sweep();
      const home = await this.pick(slot, first, movedTo);
      this.homes.set(slot, home);
      movedTo = await home.adopt('shard', entries);
      if (movedTo === undefined) return;
      if (this.homes.get(slot) === home) this.homes.delete(slot);
    }
    throw new ClusterError(
      `Shard channel ${first} (slot ${slot}) could not be subscribed: the slot kept moving`,
    );
  }

  /**
   * Where to try a slot: its current subscriber; with a node named by MOVED, that node's subscriber or a new
   * one; otherwise any connected subscriber (a wrong guess costs one MOVED round trip) or a new one.
   */
  private async pick(
    slot: number,
    channel: string,
    movedTo: string | undefined,
  ): Promise<BufferSubscriber> {
    const known = this.homes.get(slot);
    if (known !== undefined && movedTo === undefined) return known;
    const connected = [...this.subscribers].filter((s) => s.connected);
    const there =
      movedTo === undefined ? connected[0] : connected.find((s) => s.address === movedTo);
    if (there !== undefined) return there;
    // A new subscriber leases on the master the pool routes the channel to. After a MOVED the pool may not know
    // yet: a keyed read through its router lets it learn the slot's new owner first.
    if (movedTo !== undefined) await this.pool.execute('EXISTS', [channel]).catch(() => undefined);
    const created = new BufferSubscriber(this.pool, this.settings, {
      error: (error) => this.hooks.error(error),
      ready: () => this.hooks.ready(),
      moved: (moving, target) => this.rehome(moving, target),
    });
    this.subscribers.add(created);
    return created;
  }

  /**
   * Channels a subscriber gave up (their slot moved): subscribed again where their slot lives now. When that node
   * cannot be reached yet (a failover in progress), tried again with backoff until it can or the router closes.
   */
  private rehome(entries: Map<string, Listeners>, movedTo: string | undefined, attempt = 0): void {
    for (const slot of bySlot([...entries.keys()]).keys()) this.homes.delete(slot);
    if (this.closed) return;
    void this.serial(async () => {
      for (const group of bySlot([...entries.keys()]).values()) {
        const moving = new Map(group.map((name) => [name, entries.get(name) as Listeners]));
        try {
          await this.place(moving, movedTo);
        } catch (error) {
          this.hooks.error(error);
          // A connection failure leaves the channels wanted on the subscriber tried, which reconnects by
          // itself; those that found no home at all come back here.
          if (!this.homes.has(keySlot(group[0]))) this.retry(moving, attempt);
        }
      }
    });
  }

  private retry(entries: Map<string, Listeners>, attempt: number): void {
    if (this.closed || this.pool.closed) return;
    const { reconnectBaseDelayMs: base, reconnectMaxDelayMs: max } = this.settings;
    const delay = Math.min(max, base * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2);
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.rehome(entries, undefined, attempt + 1);
    }, delay);
    this.retries.add(timer);
  }

  /** Forgets subscribers left with nothing (they gave their connection back themselves). */
  private sweep(): void {
    for (const subscriber of this.subscribers) {
      if (subscriber.count > 0 || subscriber.connected) continue;
      this.subscribers.delete(subscriber);
      for (const [slot, home] of this.homes) if (home === subscriber) this.homes.delete(slot);
    }
  }
}
