import type { RedisArgument } from '../protocol/resp.types';

/** A key, member or field name: text (sent as UTF-8) or raw bytes. */
export type RedisKey = string | Buffer;

/**
 * Options that apply to every command sent through a view made by `RedisService.withOptions()` (and to the
 * pipelines, transactions and scripts made from it).
 */
export interface CallOptions {
  /**
   * Deadline of each command in milliseconds, instead of the pool's `commandTimeoutMs`. Blocking commands get
   * their own block time on top of it.
   * @default the pool's `commandTimeoutMs`
   */
  timeoutMs?: number;
  /**
   * Abandons the call when aborted: the promise rejects with `AbortError`. A command already sent still has its
   * reply read and dropped, so the connection stays in step; a blocking command's lease is discarded.
   * @default undefined (not abortable)
   */
  signal?: AbortSignal;
  /**
   * The command may be sent again after its connection failed even though it was written (you know it is
   * idempotent). Read-only commands always may.
   * @default false
   */
  retryable?: boolean;
  /**
   * On a cluster: MSET whose keys hash to different slots is split into one MSET per slot (atomic only per slot)
   * instead of being refused with `ClusterError`; when a slot fails, a `ClusterSplitError` lists the keys written
   * and not. MGET, DEL, UNLINK, EXISTS and TOUCH are split without asking.
   * @default the cluster pool's `splitAcrossSlots` (false)
   */
  splitAcrossSlots?: boolean;
}

/** Options of `set()`. At most one expiry option may be given; Redis rejects combinations. */
export interface SetOptions {
  /** Expire after this many seconds (`EX`). @default undefined (no expiry) */
  ex?: number;
  /** Expire after this many milliseconds (`PX`). @default undefined */
  px?: number;
  /** Expire at this Unix time in seconds (`EXAT`). @default undefined */
  exat?: number;
  /** Expire at this Unix time in milliseconds (`PXAT`). @default undefined */
  pxat?: number;
  /** Keep the key's current time to live (`KEEPTTL`). @default false */
  keepTtl?: boolean;
  /** Only set a key that does not exist (`NX`); the reply is `null` when it did. @default false */
  nx?: boolean;
  /** Only set a key that exists (`XX`); the reply is `null` when it did not. @default false */
  xx?: boolean;
  /** Reply with the previous value instead of `'OK'` (`GET`). @default false */
  get?: boolean;
}

/** Options of `getex()`. */
export interface GetExOptions {
  /** Expire after this many seconds. @default undefined (expiry unchanged) */
  ex?: number;
  /** Expire after this many milliseconds. @default undefined */
  px?: number;
  /** Expire at this Unix time in seconds. @default undefined */
  exat?: number;
  /** Expire at this Unix time in milliseconds. @default undefined */
  pxat?: number;
  /** Remove the time to live. @default false */
  persist?: boolean;
}

/** When `EXPIRE` and its siblings apply (Redis 7+). */
export type ExpireCondition = 'NX' | 'XX' | 'GT' | 'LT';

/** Options of `copy()`. */
export interface CopyOptions {
  /** Destination database. @default undefined (the same database) */
  db?: number;
  /** Overwrite an existing destination. @default false */
  replace?: boolean;
}

/** A list end, for LMOVE and BLMOVE. */
export type ListSide = 'LEFT' | 'RIGHT';

/** Field/value pairs, as an object or as pairs (pairs keep binary field names and order). */
export type FieldValues =
  | Readonly<Record<string, RedisArgument>>
  | ReadonlyMap<RedisKey, RedisArgument>
  | ReadonlyArray<readonly [RedisKey, RedisArgument]>;

/** A sorted-set member with its score; ZRANGE WITHSCORES, ZPOPMIN and ZSCAN give these under both protocols. */
export interface ScoredMember {
  member: string;
  score: number;
}

/** A member to add with `zadd()`. */
export interface ZAddMember {
  score: number;
  member: RedisArgument;
}

/** Options of `zadd()`. */
export interface ZAddOptions {
  /** Only add new members. @default false */
  nx?: boolean;
  /** Only update existing members. @default false */
  xx?: boolean;
  /** Only update when the new score is greater. @default false */
  gt?: boolean;
  /** Only update when the new score is less. @default false */
  lt?: boolean;
  /** Count changed members as well as added ones. @default false */
  ch?: boolean;
}

/** Options of `zrange()` and `zrangeWithScores()`. */
export interface ZRangeOptions {
  /**
   * What `start` and `stop` are: ranks, scores (`'(1'`, `'-inf'` allowed) or lexicographic bounds (`'[a'`, `'-'`).
   * @default 'RANK'
   */
  by?: 'RANK' | 'SCORE' | 'LEX';
  /** Highest first. With `SCORE`/`LEX`, `start` is then the upper bound. @default false */
  rev?: boolean;
  /** Skip and take (needs `by: 'SCORE'` or `'LEX'`). @default undefined (everything) */
  limit?: { offset: number; count: number };
}

/** A sorted-set bound: a number, or Redis syntax such as `'(1.5'`, `'-inf'`, `'+inf'`, `'[a'`. */
export type ZBound = number | string;

/** A popped sorted-set member and the key it came from (BZPOPMIN, BZPOPMAX). */
export interface KeyedScoredMember extends ScoredMember {
  key: string;
}

/** A popped list element and the key it came from (BLPOP, BRPOP). */
export interface KeyedElement {
  key: string;
  element: string;
}

/** A stream entry's fields: a null-prototype object, so a field named `__proto__` is plain data. */
export type StreamFields = Record<string, string>;

/** One stream entry. */
export interface StreamEntry {
  id: string;
  fields: StreamFields;
}

/**
 * An entry read by XREADGROUP; `fields` is `null` for an entry of the pending history that was deleted
 * meanwhile.
 */
export interface StreamGroupEntry {
  id: string;
  fields: StreamFields | null;
}

/** The entries read from one stream by XREAD/XREADGROUP, in the order of the request. */
export interface StreamBatch<E = StreamEntry> {
  key: string;
  entries: E[];
}

/** Streams to read and the id to read after, as `{ key: id }` or as pairs. */
export type StreamOffsets =
  Readonly<Record<string, string>> | ReadonlyArray<readonly [RedisKey, string]>;

/** Trimming for `xadd()` and `xtrim()`: by length or by smallest id. */
export type StreamTrim = ({ maxlen: number } | { minid: string }) & {
  /** `~`: let Redis trim lazily, in whole macro nodes. @default false (exact) */
  approximate?: boolean;
  /** Most entries evicted per call (with `approximate`). @default undefined (the server's default) */
  limit?: number;
};

/** Options of `xadd()`. */
export interface XAddOptions {
  /** Do not create the stream when it is missing; the reply is then `null`. @default false */
  nomkstream?: boolean;
  /** Trim the stream in the same call. @default undefined (no trimming) */
  trim?: StreamTrim;
}

/** Options of `xrange()` and `xrevrange()`. */
export interface XRangeOptions {
  /** Most entries returned. @default undefined (all in range) */
  count?: number;
}

/** Options of `xread()`. */
export interface XReadOptions {
  /** Most entries per stream. @default undefined (all available) */
  count?: number;
  /**
   * Block up to this many milliseconds for new entries (0: forever). A blocking read runs on a connection leased
   * for it, never on the shared multiplexed path.
   * @default undefined (no blocking)
   */
  block?: number;
}

/** Options of `xreadgroup()`. */
export interface XReadGroupOptions extends XReadOptions {
  /** Do not add the entries to the pending list. @default false */
  noack?: boolean;
}

/** Options of `xgroupCreate()`. */
export interface XGroupCreateOptions {
  /** Create the stream when it is missing. @default false */
  mkstream?: boolean;
  /** The group's `entries-read` counter (Redis 7+). @default undefined */
  entriesRead?: number;
}

/** XPENDING in its summary form. */
export interface StreamPendingSummary {
  count: number;
  /** Smallest pending id; `null` when nothing is pending. */
  minId: string | null;
  /** Largest pending id; `null` when nothing is pending. */
  maxId: string | null;
  consumers: Array<{ name: string; count: number }>;
}

/** INFO parsed: section name in lower case (`server`, `keyspace`...) → field → value, all null-prototype. */
export type InfoSections = Record<string, Record<string, string>>;

/** The server clock (TIME). */
export interface RedisTime {
  seconds: number;
  microseconds: number;
}

/** Options of `scanIterator()`. */
export interface ScanOptions {
  /** Glob-style pattern keys must match. @default undefined (all keys) */
  match?: string;
  /** Work hint per SCAN call. @default undefined (the server's default, 10) */
  count?: number;
  /** Only keys of this type (`string`, `hash`, `zset`...). @default undefined (any type) */
  type?: string;
}

/** Options of `hscanIterator()`, `sscanIterator()` and `zscanIterator()`. */
export interface CollectionScanOptions {
  /** Glob-style pattern fields or members must match. @default undefined (all) */
  match?: string;
  /** Work hint per call. @default undefined (the server's default, 10) */
  count?: number;
}

/** A field and its value, as `hscanIterator()` yields them. */
export interface HashEntry {
  field: string;
  value: string;
}
