import type { CacheLimits, CacheStats } from './client-cache.options';
import type { CacheEntry } from './connection-entries';

/** Why an entry left: `eviction` (room or age) or `invalidation` (its value may have changed). */
export type RemovalReason = 'eviction' | 'invalidation';

/**
 * The cached entries, bounded by count and bytes, with an optional age limit, and indexed by key for
 * invalidations. Eviction approximates least-recently-used with CLOCK (second chance): a hit only sets a flag,
 * so it writes nothing but that; eviction walks from the oldest entry, moving a flagged one to the young end
 * (clearing its flag) and evicting the first that was not read since. The entry just added is never the one
 * evicted to make room for itself.
 */
export class CacheStore {
  /** Every entry, oldest first. */
  private readonly order = new Set<CacheEntry>();
  private readonly byKey = new Map<string, Set<CacheEntry>>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  private evictions = 0;
  private invalidations = 0;

  constructor(private readonly limits: CacheLimits) {}

  /** The live entry for `id` in `table`, flagged as used; an expired one is removed. */
  get(table: Map<string, CacheEntry>, id: string): CacheEntry | undefined {
    const entry = table.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Infinity && entry.expiresAt <= Date.now()) {
      this.remove(entry, 'eviction');
      return undefined;
    }
    entry.referenced = true;
    return entry;
  }

  /** Keeps an entry (replacing one with the same id), then evicts beyond the limits. */
  add(entry: CacheEntry): void {
    const { maxEntries, maxBytes } = this.limits;
    if (entry.bytes > maxBytes) return;
    const previous = entry.table.get(entry.id);
    if (previous !== undefined) this.remove(previous, 'invalidation', false);
    entry.table.set(entry.id, entry);
    this.order.add(entry);
    let sameKey = this.byKey.get(entry.key);
    if (sameKey === undefined) this.byKey.set(entry.key, (sameKey = new Set()));
    sameKey.add(entry);
    entry.owner.entries.add(entry);
    this.bytes += entry.bytes;
    while (this.order.size > maxEntries || this.bytes > maxBytes) {
      const oldest = this.order.values().next().value as CacheEntry;
      if (oldest.referenced || oldest === entry) {
        oldest.referenced = false;
        this.order.delete(oldest);
        this.order.add(oldest);
        continue;
      }
      this.remove(oldest, 'eviction');
    }
  }

  /** Entries that read `key`, on any connection. */
  entriesOf(key: string): ReadonlySet<CacheEntry> | undefined {
    return this.byKey.get(key);
  }

  /** Removes one entry; `counted: false` for a replacement, which is neither an eviction nor an invalidation. */
  remove(entry: CacheEntry, reason: RemovalReason, counted = true): void {
    if (entry.table.get(entry.id) !== entry) return;
    entry.table.delete(entry.id);
    this.order.delete(entry);
    const sameKey = this.byKey.get(entry.key) as Set<CacheEntry>;
    sameKey.delete(entry);
    if (sameKey.size === 0) this.byKey.delete(entry.key);
    entry.owner.entries.delete(entry);
    this.bytes -= entry.bytes;
    if (!counted) return;
    if (reason === 'eviction') this.evictions++;
    else this.invalidations++;
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      invalidations: this.invalidations,
      entries: this.order.size,
      bytes: this.bytes,
    };
  }
}
