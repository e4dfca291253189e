import type { RedisReply } from '../protocol/resp.types';

/** One cached reply. It belongs to the connection that read it: only that socket's pushes can invalidate it. */
export interface CacheEntry {
  /** The lookup table of its command and reply mode, by argument count (see `CommandTables`). */
  readonly table: Map<string, CacheEntry>;
  /** The arguments, as one string: what a lookup in `table` matches. */
  readonly id: string;
  /** The key it read, as invalidation pushes name it. */
  readonly key: string;
  readonly owner: ConnectionEntries;
  /** A private copy: callers get copies of it, so nothing they do can change it. */
  readonly value: RedisReply;
  readonly bytes: number;
  /** Epoch milliseconds after which it is read again; `Infinity` without `ttlMs`. */
  readonly expiresAt: number;
  /** Read since eviction last passed it (the CLOCK approximation of least recently used). */
  referenced: boolean;
  /**
   * For an immutable value (text, a number, nil), the one settled promise every hit returns: nothing to copy, so
   * nothing to allocate per hit. `null` for values that are copied per hit.
   */
  settled: Promise<RedisReply> | null;
}

/** A cacheable read on its way: queued on a connection and awaiting its reply. */
export interface InFlightRead {
  readonly key: string;
  /** An invalidation for its key (or a flush) arrived since it was queued: its reply must not be stored. */
  stale: boolean;
  /** The connection it was last queued on; `null` before that. */
  entries: ConnectionEntries | null;
}

/**
 * What the cache holds for one connection: its entries and its reads in flight. When the connection closes or
 * loses its tracking, exactly these go, and nothing more is stored for it.
 */
export class ConnectionEntries {
  /** Tracking is on and the connection open: replies read on it may be stored. */
  tracking = true;
  readonly entries = new Set<CacheEntry>();
  readonly inFlight = new Set<InFlightRead>();

  constructor(
    /** The connection's id, for tests and messages. */
    readonly connectionId: number,
  ) {}
}
