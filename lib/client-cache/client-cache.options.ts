/**
 * Client-side caching (RESP3 `CLIENT TRACKING`): replies of read-only single-key commands are kept in the
 * process and served without a round trip until Redis says their key changed. Needs `protocol: 3`.
 */
export interface ClientSideCacheOptions {
  /**
   * Most entries kept; the least recently used one goes first when a new one needs room.
   * @default 10000
   */
  maxEntries?: number;
  /**
   * Most bytes kept, counted approximately (the command's own bytes plus the reply's strings and Buffers,
   * 8 bytes per number and per element); the least recently used entries go first.
   * @default 67108864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * An entry older than this many milliseconds is read from Redis again, invalidated or not; `0` keeps entries
   * until they are invalidated or evicted.
   * @default 0
   */
  ttlMs?: number;
}

/** Every key of `ClientSideCacheOptions`, for the run-time key check. */
export const CLIENT_SIDE_CACHE_OPTION_KEYS = ['maxEntries', 'maxBytes', 'ttlMs'] as const;

/** The cache's limits with every default applied. */
export type CacheLimits = Required<ClientSideCacheOptions>;

export const CACHE_DEFAULTS: CacheLimits = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  ttlMs: 0,
};

/** What `pool.cacheStats()` reports. */
export interface CacheStats {
  /** Cacheable reads answered from the cache. */
  hits: number;
  /** Cacheable reads sent to Redis because no entry was kept. */
  misses: number;
  /** Entries removed for room (`maxEntries`, `maxBytes`) or age (`ttlMs`). */
  evictions: number;
  /**
   * Entries removed because their value may have changed: an invalidation push, a FLUSHDB/FLUSHALL, a write by
   * this pool, or the connection that read them closing or losing its tracking.
   */
  invalidations: number;
  /** Entries kept now. */
  entries: number;
  /** Bytes kept now, as `maxBytes` counts them. */
  bytes: number;
}

/** The counters of a pool without a cache. */
export function emptyCacheStats(): CacheStats {
  return { hits: 0, misses: 0, evictions: 0, invalidations: 0, entries: 0, bytes: 0 };
}

/** The counters of several caches added up (a cluster's node pools each have their own). */
export function sumCacheStats(pools: Iterable<{ cacheStats(): CacheStats }>): CacheStats {
  const total = emptyCacheStats();
  for (const pool of pools) {
    const stats = pool.cacheStats();
    for (const key of Object.keys(total) as Array<keyof CacheStats>) total[key] += stats[key];
  }
  return total;
}

const _keysMatch: [keyof ClientSideCacheOptions] extends [
  (typeof CLIENT_SIDE_CACHE_OPTION_KEYS)[number],
]
  ? true
  : never = true;
void _keysMatch;
