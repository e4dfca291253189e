import { keySlot } from '../cluster/hash-slot';
import type { RedisPool } from '../pool/redis-pool.interface';
import {
  BufferSubscriber,
  type BufferSubscriberSettings,
  type SubscriberHooks,
} from './buffer-subscriber';
import type { Listener, Listeners } from './subscription-registry';

/**
 * Shard channels on a cluster: one subscriber connection per master that serves any of them (not one per slot,
 * so a sharded adapter with many rooms holds a handful of leases). A slot's channels live on the subscriber of
 * the node serving that slot; when the slot moves (MOVED on SSUBSCRIBE, or the server dropping its channels after
 * a migration), they move to the subscriber of the new node, created when needed.
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
        const home = await this.home(group[0]);
        await home.subscribe('shard', group, listener);
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

  /** The subscriber for `channel`'s slot: the one already there, one on the same node, or a new one. */
  private async home(channel: string): Promise<BufferSubscriber> {
    const slot = keySlot(channel);
    this.sweep();
    const known = this.homes.get(slot);
    if (known !== undefined) return known;
    // Leasing by the channel lands on the master serving its slot: that tells the node. The lease goes back
    // untouched (clean, so the node's pool keeps it).
    const probe = await this.pool.getConnection(channel);
    const address = probe.address;
    this.pool.release(probe);
    let home = [...this.subscribers].find((s) => s.address === address);
    if (home === undefined) {
      home = new BufferSubscriber(this.pool, this.settings, {
        error: (error) => this.hooks.error(error),
        ready: () => this.hooks.ready(),
        moved: (entries) => this.rehome(entries),
      });
      this.subscribers.add(home);
    }
    this.homes.set(slot, home);
    return home;
  }

  /**
   * Channels a subscriber gave up (their slot moved): subscribed again where their slot lives now. When that node
   * cannot be reached yet (a failover in progress), tried again with backoff until it can or the router closes.
   */
  private rehome(entries: Map<string, Listeners>, attempt = 0): void {
    for (const slot of bySlot([...entries.keys()]).keys()) this.homes.delete(slot);
    if (this.closed) return;
    void this.serial(async () => {
      for (const group of bySlot([...entries.keys()]).values()) {
        const moving = new Map(group.map((name) => [name, entries.get(name) as Listeners]));
        try {
          const home = await this.home(group[0]);
          await home.adopt('shard', moving);
        } catch (error) {
          this.hooks.error(error);
          // Connection failures leave the channels wanted on `home`, which reconnects by itself; only those
          // that found no home at all come back here.
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
      this.rehome(entries, attempt + 1);
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

/** Names grouped by hash slot, in first-seen order. */
function bySlot(names: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const name of names) {
    const slot = keySlot(name);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [name]);
    else group.push(name);
  }
  return groups;
}
