import { tooManyArguments } from './argument-checks';
import type {
  CollectionScanOptions,
  HashEntry,
  RedisKey,
  ScanOptions,
  ScoredMember,
} from './redis-client.types';
import { ScanCommands, type ScanPage } from './scan-commands';
// Completes `Chained` for pipelines and transactions wherever the service or a leased client is used.
import './chain-targets';

/**
 * Walks every page, yielding item by item. Nothing is fetched ahead: `break` (or `return()`) stops the walk with
 * no command in flight.
 */
async function* walk<T>(
  fetch: (cursor: string) => Promise<ScanPage<T>>,
): AsyncGenerator<T, void, undefined> {
  let cursor = '0';
  do {
    const next = await fetch(cursor);
    cursor = next.cursor;
    for (const item of next.items) yield item;
  } while (cursor !== '0');
}

/** An iterator whose first step rejects with `error`: nothing is sent. */
function refused(error: Error): AsyncGenerator<never, void, undefined> {
  return walk<never>(() => Promise.reject(error));
}

/**
 * Async iterators over SCAN, HSCAN, SSCAN and ZSCAN, for `for await` loops. As with SCAN itself, an element
 * present for the whole walk is seen at least once, and may be seen more than once. The base of `RedisService`
 * and `LeasedClient`, which send each command at once: a refused call is a rejected promise.
 */
export abstract class IteratorCommands extends ScanCommands<'service', []> {
  protected override get queues(): boolean {
    return false;
  }

  protected override refuse<T>(error: Error): Promise<T> {
    return Promise.reject(error);
  }

  /** Every key (matching `match`, of `type`). */
  scanIterator(options?: ScanOptions): AsyncGenerator<string, void, undefined> {
    if (arguments.length > 1) return refused(tooManyArguments('scanIterator', arguments.length, 1));
    return walk((cursor) => this.scan(cursor, options));
  }

  /** Every `{ field, value }` of a hash. */
  hscanIterator(
    key: RedisKey,
    options?: CollectionScanOptions,
  ): AsyncGenerator<HashEntry, void, undefined> {
    if (arguments.length > 2)
      return refused(tooManyArguments('hscanIterator', arguments.length, 2));
    return walk((cursor) => this.hscan(key, cursor, options));
  }

  /** Every member of a set. */
  sscanIterator(
    key: RedisKey,
    options?: CollectionScanOptions,
  ): AsyncGenerator<string, void, undefined> {
    if (arguments.length > 2)
      return refused(tooManyArguments('sscanIterator', arguments.length, 2));
    return walk((cursor) => this.sscan(key, cursor, options));
  }

  /** Every `{ member, score }` of a sorted set. */
  zscanIterator(
    key: RedisKey,
    options?: CollectionScanOptions,
  ): AsyncGenerator<ScoredMember, void, undefined> {
    if (arguments.length > 2)
      return refused(tooManyArguments('zscanIterator', arguments.length, 2));
    return walk((cursor) => this.zscan(key, cursor, options));
  }
}
