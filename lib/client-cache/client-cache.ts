import { CommandRequest, unsettled, type RequestOwner } from '../connection/command-request';
import type { Connection } from '../connection/connection';
import { AbortError } from '../errors/redis-pool.errors';
import type { CommandWords } from '../protocol/command-name';
import type { EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import {
  argBytes,
  argumentsId,
  cacheableNames,
  flushesAll,
  isCacheable,
  keyName,
  mayWrite,
} from './cacheable-commands';
import { CachedRead, CacheInvalidatingWrite, type CacheRequestHost } from './cache-requests';
import { CacheStore } from './cache-store';
import type { CacheLimits, CacheStats } from './client-cache.options';
import { ConnectionEntries, type CacheEntry } from './connection-entries';
import { leaseTap } from './lease-writes';
import { copyReply as copyOf, replyBytes } from './reply-copies';
import { listenForInvalidations } from './tracking';

/**
 * One cacheable command's lookup tables: by reply mode (text, Buffers) and argument count (one text argument, any
 * other list), so a single-key lookup is one `Map.get` on the caller's own key string.
 */
type CommandTables = [
  Map<string, CacheEntry>,
  Map<string, CacheEntry>,
  Map<string, CacheEntry>,
  Map<string, CacheEntry>,
];

function tableIndex(args: readonly RedisArgument[], buffers: boolean): number {
  return (buffers ? 2 : 0) + (args.length === 1 && typeof args[0] === 'string' ? 0 : 1);
}

/**
 * A pool's client-side cache (RESP3 `CLIENT TRACKING`, default mode: the server remembers the keys each
 * connection read and pushes an invalidation on that same connection when one changes). Every entry belongs to
 * the connection that read it, so correctness rests on the order of that one socket: a reply is stored only if
 * no invalidation of its key arrived on its socket between the moment it was queued and its reply, and a push is
 * applied before any reply decoded after it. Writes by this pool drop their keys at once (when sent and when
 * acknowledged); a connection that closes or loses tracking drops exactly its own entries.
 */
export class ClientCache implements CacheRequestHost {
  private readonly store: CacheStore;
  private readonly tables = new Map<string, CommandTables>();
  private readonly connections = new Map<Connection, ConnectionEntries>();
  /** Reads in flight, by key, on every connection. */
  private readonly inFlight = new Map<string, Set<CachedRead>>();
  /** The longest key read so far in bytes: a longer argument of a write names no cached key. */
  private longestKey = 0;
  /** The lookup `hit()` just made, for the `request()` that follows it synchronously on a miss. */
  private lastArgs: readonly RedisArgument[] | null = null;
  private lastTable: Map<string, CacheEntry> | null = null;
  private lastId = '';

  constructor(private readonly limits: CacheLimits) {
    this.store = new CacheStore(limits);
    for (const name of cacheableNames()) {
      this.tables.set(name, [new Map(), new Map(), new Map(), new Map()]);
    }
  }

  /**
   * The cached reply of a cacheable command, as a copy, without encoding it or touching any socket; `undefined`
   * on a miss or for a command that is not cacheable. Arguments that could not be sent never match an entry (every
   * entry was read with arguments that were), so a bad one is still refused by the encoder. An aborted `signal`
   * still rejects (`AbortError`, `commandMayHaveRun: false`), as the same call would have before it was written.
   */
  hit<T>(
    words: CommandWords,
    args: readonly RedisArgument[],
    buffers: boolean,
    signal: AbortSignal | undefined,
  ): Promise<T> | undefined {
    const tables = this.tables.get(words.name);
    if (tables === undefined || words.rest.length !== 0 || args.length === 0) return undefined;
    const id = argumentsId(args);
    if (id === undefined) return undefined;
    const table = tables[tableIndex(args, buffers)];
    this.lastArgs = args;
    this.lastTable = table;
    this.lastId = id;
    const entry = this.store.get(table, id);
    if (entry === undefined) return undefined;
    if (signal?.aborted === true) {
      return Promise.reject(
        new AbortError('The operation was aborted', {
          cause: signal.reason,
          commandMayHaveRun: false,
        }),
      );
    }
    this.store.hits++;
    return (entry.settled ?? Promise.resolve(copyOf(entry.value))) as Promise<T>;
  }

  /**
   * The request for a command that missed (or is not cacheable): a `CachedRead` for a cacheable read, a
   * `CacheInvalidatingWrite` (its keys dropped now) for anything that may write, else a plain request.
   */
  request(
    name: string,
    sent: readonly RedisArgument[],
    encoded: EncodedCommand,
    buffers: boolean,
    deadline: number,
    idempotent: boolean,
    owner: RequestOwner,
  ): CommandRequest {
    const table = this.lastArgs === sent ? this.lastTable : null;
    this.lastArgs = null;
    if (table !== null && table === this.tables.get(name)?.[tableIndex(sent, buffers)]) {
      const key = keyName(sent[0]);
      if (key !== undefined) {
        const id = this.lastId;
        this.store.misses++;
        const keyBytes = Math.max(argBytes(sent[0]), Buffer.byteLength(key));
        if (keyBytes > this.longestKey) this.longestKey = keyBytes;
        return new CachedRead(
          name,
          encoded,
          buffers,
          deadline,
          idempotent,
          owner,
          table,
          id,
          key,
          this,
        );
      }
    } else if (!isCacheable(name) && mayWrite(name)) {
      const flush = flushesAll(name);
      this.wrote(sent, flush);
      return new CacheInvalidatingWrite(
        name,
        encoded,
        buffers,
        deadline,
        idempotent,
        owner,
        sent,
        flush,
        this,
      );
    }
    return new CommandRequest(
      name,
      encoded,
      buffers,
      deadline,
      unsettled,
      unsettled,
      idempotent,
      owner,
    );
  }

  /**
   * Starts caching for a connection that just opened: RESP3 with tracking on (its handshake sent `CLIENT
   * TRACKING ON`). A connection that fell back to RESP2 gets no pushes, so nothing read on it is stored.
   */
  attach(connection: Connection): void {
    if (connection.protocol !== 3) return;
    const entries = new ConnectionEntries(connection.id);
    this.connections.set(connection, entries);
    listenForInvalidations(connection, {
      invalidate: (keys) => this.invalidateOn(entries, keys),
      flushed: () => this.dropAll(entries, false),
      lost: () => {
        this.connections.delete(connection);
        this.dropAll(entries, true);
      },
    });
    connection.tap = leaseTap(this, () => this.dropAll(entries, true));
  }

  /** @internal */
  queued(read: CachedRead, connection: Connection): void {
    const entries = this.connections.get(connection) ?? null;
    if (read.entries === entries) return;
    read.entries?.inFlight.delete(read);
    read.entries = entries;
    if (entries === null || !entries.tracking) {
      read.stale = true;
      return;
    }
    entries.inFlight.add(read);
    let reads = this.inFlight.get(read.key);
    if (reads === undefined) this.inFlight.set(read.key, (reads = new Set()));
    reads.add(read);
  }

  /** @internal */
  settled(read: CachedRead, value: RedisReply | undefined): void {
    const entries = read.entries;
    if (entries === null) return;
    entries.inFlight.delete(read);
    const reads = this.inFlight.get(read.key);
    if (reads !== undefined && reads.delete(read) && reads.size === 0)
      this.inFlight.delete(read.key);
    if (value === undefined || read.stale || !entries.tracking) return;
    const copy = copyOf(value);
    if (copy === undefined) return;
    const { ttlMs } = this.limits;
    this.store.add({
      table: read.table,
      id: read.id,
      key: read.key,
      owner: entries,
      value: copy,
      bytes: read.name.length + read.id.length + replyBytes(copy),
      expiresAt: ttlMs > 0 ? Date.now() + ttlMs : Infinity,
      referenced: false,
      settled: copy === null || typeof copy !== 'object' ? Promise.resolve(copy) : null,
    });
  }

  /** @internal A write by this pool (sent or settled): every entry and read in flight of its keys goes. */
  wrote(args: readonly RedisArgument[], flush: boolean): void {
    if (flush) {
      for (const entries of this.connections.values()) this.dropAll(entries, false);
      return;
    }
    for (const arg of args) {
      // A string's length never exceeds its bytes, so this skips only arguments longer than any key read.
      if (argBytes(arg) > this.longestKey) continue;
      const key = keyName(typeof arg === 'number' || typeof arg === 'bigint' ? String(arg) : arg);
      if (key === undefined) continue;
      const kept = this.store.entriesOf(key);
      if (kept !== undefined)
        for (const entry of [...kept]) this.store.remove(entry, 'invalidation');
      const reads = this.inFlight.get(key);
      if (reads !== undefined) for (const read of reads) read.stale = true;
    }
  }

  /** What `pool.cacheStats()` reports. */
  stats(): CacheStats {
    return this.store.stats();
  }

  /** An invalidation push on the connection of `entries`: its entries and reads in flight of these keys go. */
  private invalidateOn(entries: ConnectionEntries, keys: readonly string[]): void {
    for (const key of keys) {
      const kept = this.store.entriesOf(key);
      if (kept !== undefined) {
        for (const entry of [...kept]) {
          if (entry.owner === entries) this.store.remove(entry, 'invalidation');
        }
      }
      const reads = this.inFlight.get(key);
      if (reads !== undefined)
        for (const read of reads) if (read.entries === entries) read.stale = true;
    }
  }

  /** Drops every entry of one connection and spoils its reads in flight; `lost`: nothing more is stored. */
  private dropAll(entries: ConnectionEntries, lost: boolean): void {
    if (lost) entries.tracking = false;
    for (const entry of [...entries.entries]) this.store.remove(entry, 'invalidation');
    for (const read of entries.inFlight) read.stale = true;
  }
}
