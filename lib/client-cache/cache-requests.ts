import { CommandRequest, unsettled, type RequestOwner } from '../connection/command-request';
import type { Connection } from '../connection/connection';
import type { EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { CacheEntry, ConnectionEntries, InFlightRead } from './connection-entries';

/** What the cache's requests report to it. */
export interface CacheRequestHost {
  /** A read was queued on `connection` (again, after a retry): its in-flight marker moves there. */
  queued(read: CachedRead, connection: Connection): void;
  /** A read settled: `value` is its reply, `undefined` when it failed. */
  settled(read: CachedRead, value: RedisReply | undefined): void;
  /** A write was acknowledged (or failed: it may have run): its keys are dropped again. */
  wrote(args: readonly RedisArgument[], flush: boolean): void;
}

/**
 * A cacheable read sent to Redis (a miss). From the moment it is queued on a connection until its reply, it
 * is that connection's in-flight read of its key: an invalidation of the key arriving on that socket in between
 * marks it stale, and only a reply that is not stale is stored. The reply is stored before the caller hears it,
 * in the order the socket delivered it.
 */
export class CachedRead extends CommandRequest implements InFlightRead {
  stale = false;
  entries: ConnectionEntries | null = null;

  constructor(
    name: string,
    encoded: EncodedCommand,
    buffers: boolean,
    deadline: number,
    idempotent: boolean,
    owner: RequestOwner,
    /** See `CacheEntry.table`. */
    readonly table: Map<string, CacheEntry>,
    /** See `CacheEntry.id`. */
    readonly id: string,
    readonly key: string,
    private readonly host: CacheRequestHost,
  ) {
    super(name, encoded, buffers, deadline, unsettled, unsettled, idempotent, owner);
  }

  /** Called by the dispatcher just before the request is queued on `connection`. */
  queuedOn(connection: Connection): void {
    this.host.queued(this, connection);
  }

  override resolve(value: RedisReply): void {
    if (this.done) return;
    this.host.settled(this, value);
    super.resolve(value);
  }

  override reject(error: Error): void {
    if (this.done) return;
    this.host.settled(this, undefined);
    super.reject(error);
  }
}

/**
 * A command that may change data, sent by this pool: its keys were dropped from the cache when it was sent, and
 * are dropped again when it settles, so a read issued after it was acknowledged never sees an entry stored by a
 * read that raced it on another connection (whose invalidation push may still be on its way).
 */
export class CacheInvalidatingWrite extends CommandRequest {
  constructor(
    name: string,
    encoded: EncodedCommand,
    buffers: boolean,
    deadline: number,
    idempotent: boolean,
    owner: RequestOwner,
    private readonly args: readonly RedisArgument[],
    private readonly flush: boolean,
    private readonly host: CacheRequestHost,
  ) {
    super(name, encoded, buffers, deadline, unsettled, unsettled, idempotent, owner);
  }

  override resolve(value: RedisReply): void {
    if (this.done) return;
    this.host.wrote(this.args, this.flush);
    super.resolve(value);
  }

  override reject(error: Error): void {
    if (this.done) return;
    this.host.wrote(this.args, this.flush);
    super.reject(error);
  }
}
