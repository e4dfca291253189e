import type { CacheLimits, CacheStats } from './client-cache.options';
import type { CacheEntry } from './connection-entries';

/** Why an entry left: `eviction` (room or age) or `invalidation` (its value may have changed). */
export type RemovalReason = 'eviction' | 'invalidation';

/**
 * The cached entries: least recently used first (a `Map` keeps insertion order, and a hit moves its entry to the
 * end), bounded by count and bytes, with an optional age limit, and indexed by key for invalidations.
 */
export class CacheStore {
  private readonly lru = new Map<string, CacheEntry>();
  private readonly byKey = new Map<string, Set<CacheEntry>>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  private evictions = 0;
  private invalidations = 0;

  constructor(private readonly limits: CacheLimits) {}

  /** The live entry for `id`, marked as most recently used; an expired one is removed. */
  get(id: string): CacheEntry | undefined {
    const entry = this.lru.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Infinity && entry.expiresAt <= Date.now()) {
      this.remove(entry, 'eviction');
      return undefined;
    }
    // Move to the most recently used end.
    this.lru.delete(id);
    this.lru.set(id, entry);
    return entry;
  }

  /** Keeps an entry (replacing one with the same id), then evicts the least recently used beyond the limits. */
  add(entry: CacheEntry): void {
    const { maxEntries, maxBytes } = this.limits;
    if (entry.bytes > maxBytes || maxEntries === 0) return;
    const previous = this.lru.get(entry.id);
    if (previous !== undefined) this.remove(previous, 'invalidation', false);
    this.lru.set(entry.id, entry);
    let sameKey = this.byKey.get(entry.key);
    if (sameKey === undefined) this.byKey.set(entry.key, (sameKey = new Set()));
    sameKey.add(entry);
    entry.owner.entries.add(entry);
    this.bytes += entry.bytes;
    while (this.lru.size > maxEntries || this.bytes > maxBytes) {
      const oldest = this.lru.values().next().value as CacheEntry;
      this.remove(oldest, 'eviction');
    }
  }

  /** Entries that read `key`, on any connection. */
  entriesOf(key: string): ReadonlySet<CacheEntry> | undefined {
    return this.byKey.get(key);
  }

  /** Removes one entry; `counted: false` for a replacement, which is neither an eviction nor an invalidation. */
  remove(entry: CacheEntry, reason: RemovalReason, counted = true): void {
    if (this.lru.get(entry.id) !== entry) return;
    this.lru.delete(entry.id);
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
      entries: this.lru.size,
      bytes: this.bytes,
    };
  }
}
