import type { RedisArgument } from '../protocol/resp.types';
import { keysError } from './argument-checks';
import { keyList } from './command-args';
import type { Chained, ChainKind } from './command-runner';
import { HashCommands } from './hash-commands';
import type { KeyedElement, ListSide, RedisKey } from './redis-client.types';
import {
  asBufferArray,
  asKeyedElement,
  asNullableBuffer,
  asNullableBufferArray,
  asNullableString,
  asNullableStringArray,
  asNumber,
  asOk,
  asStringArray,
} from './reply-transforms';

/**
 * List commands: LPUSH, RPUSH, LPOP/RPOP (with a count), LRANGE, LLEN, LREM, LTRIM, LMOVE, LINDEX, and the
 * blocking BLPOP, BRPOP, BLMOVE, which run on a connection leased for them.
 */
export abstract class ListCommands<K extends ChainKind, R extends unknown[]> extends HashCommands<
  K,
  R
> {
  /** LPUSH: the list's length afterwards. */
  lpush(key: RedisKey, ...elements: RedisArgument[]): Chained<K, R, number> {
    return this.send('LPUSH', [key, ...elements], asNumber);
  }

  /** RPUSH: the list's length afterwards. */
  rpush(key: RedisKey, ...elements: RedisArgument[]): Chained<K, R, number> {
    return this.send('RPUSH', [key, ...elements], asNumber);
  }

  /** LPOP: the first element, or `null`; with a count, up to that many (`null` for a missing key). */
  lpop(key: RedisKey): Chained<K, R, string | null>;
  lpop(key: RedisKey, count: number): Chained<K, R, string[] | null>;
  lpop(
    key: RedisKey,
    count?: number,
  ): Chained<K, R, string | null> | Chained<K, R, string[] | null> {
    if (arguments.length > 2) return this.tooMany<string | null>('lpop', arguments.length, 2);
    if (count === undefined) return this.send('LPOP', [key], asNullableString);
    return this.send('LPOP', [key, count], asNullableStringArray);
  }

  /** LPOP with raw bytes. */
  lpopBuffer(key: RedisKey): Chained<K, R, Buffer | null>;
  lpopBuffer(key: RedisKey, count: number): Chained<K, R, Buffer[] | null>;
  lpopBuffer(
    key: RedisKey,
    count?: number,
  ): Chained<K, R, Buffer | null> | Chained<K, R, Buffer[] | null> {
    if (arguments.length > 2) return this.tooMany<Buffer | null>('lpopBuffer', arguments.length, 2);
    if (count === undefined) return this.send('LPOP', [key], asNullableBuffer, true);
    return this.send('LPOP', [key, count], asNullableBufferArray, true);
  }

  /** RPOP: the last element, or `null`; with a count, up to that many (`null` for a missing key). */
  rpop(key: RedisKey): Chained<K, R, string | null>;
  rpop(key: RedisKey, count: number): Chained<K, R, string[] | null>;
  rpop(
    key: RedisKey,
    count?: number,
  ): Chained<K, R, string | null> | Chained<K, R, string[] | null> {
    if (arguments.length > 2) return this.tooMany<string | null>('rpop', arguments.length, 2);
    if (count === undefined) return this.send('RPOP', [key], asNullableString);
    return this.send('RPOP', [key, count], asNullableStringArray);
  }

  /** RPOP with raw bytes. */
  rpopBuffer(key: RedisKey): Chained<K, R, Buffer | null>;
  rpopBuffer(key: RedisKey, count: number): Chained<K, R, Buffer[] | null>;
  rpopBuffer(
    key: RedisKey,
    count?: number,
  ): Chained<K, R, Buffer | null> | Chained<K, R, Buffer[] | null> {
    if (arguments.length > 2) return this.tooMany<Buffer | null>('rpopBuffer', arguments.length, 2);
    if (count === undefined) return this.send('RPOP', [key], asNullableBuffer, true);
    return this.send('RPOP', [key, count], asNullableBufferArray, true);
  }

  /** LRANGE: elements from `start` to `stop`, inclusive (negative indexes count from the end). */
  lrange(key: RedisKey, start: number, stop: number): Chained<K, R, string[]> {
    if (arguments.length > 3) return this.tooMany('lrange', arguments.length, 3);
    return this.send('LRANGE', [key, start, stop], asStringArray);
  }

  /** LRANGE with raw bytes. */
  lrangeBuffer(key: RedisKey, start: number, stop: number): Chained<K, R, Buffer[]> {
    if (arguments.length > 3) return this.tooMany('lrangeBuffer', arguments.length, 3);
    return this.send('LRANGE', [key, start, stop], asBufferArray, true);
  }

  /** LINDEX: the element at `index`, or `null`. */
  lindex(key: RedisKey, index: number): Chained<K, R, string | null> {
    if (arguments.length > 2) return this.tooMany('lindex', arguments.length, 2);
    return this.send('LINDEX', [key, index], asNullableString);
  }

  /** LLEN: the list's length (0 for a missing key). */
  llen(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('llen', arguments.length, 1);
    return this.send('LLEN', [key], asNumber);
  }

  /** LREM: removes `count` occurrences (0: all; negative: from the tail); how many were removed. */
  lrem(key: RedisKey, count: number, element: RedisArgument): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('lrem', arguments.length, 3);
    return this.send('LREM', [key, count, element], asNumber);
  }

  /** LTRIM: keeps `start`..`stop` only. */
  ltrim(key: RedisKey, start: number, stop: number): Chained<K, R, 'OK'> {
    if (arguments.length > 3) return this.tooMany('ltrim', arguments.length, 3);
    return this.send('LTRIM', [key, start, stop], asOk);
  }

  /** LMOVE: the element moved, or `null` when the source is empty. */
  lmove(
    source: RedisKey,
    destination: RedisKey,
    from: ListSide,
    to: ListSide,
  ): Chained<K, R, string | null> {
    if (arguments.length > 4) return this.tooMany('lmove', arguments.length, 4);
    return this.send('LMOVE', [source, destination, from, to], asNullableString);
  }

  /**
   * BLPOP: waits up to `timeoutSeconds` (0: forever) for an element on any of the keys; `null` on timeout. Runs on
   * a leased connection, so the shared path keeps serving everyone else.
   */
  blpop(
    keys: RedisKey | readonly RedisKey[],
    timeoutSeconds: number,
  ): Chained<K, R, KeyedElement | null> {
    if (arguments.length > 2) return this.tooMany('blpop', arguments.length, 2);
    const error = keysError('blpop', keys);
    if (error !== undefined) return this.refuse(error);
    return this.send('BLPOP', [...keyList(keys), timeoutSeconds], asKeyedElement, false, true);
  }

  /** BRPOP: like `blpop`, from the tail. */
  brpop(
    keys: RedisKey | readonly RedisKey[],
    timeoutSeconds: number,
  ): Chained<K, R, KeyedElement | null> {
    if (arguments.length > 2) return this.tooMany('brpop', arguments.length, 2);
    const error = keysError('brpop', keys);
    if (error !== undefined) return this.refuse(error);
    return this.send('BRPOP', [...keyList(keys), timeoutSeconds], asKeyedElement, false, true);
  }

  /** BLMOVE: like `lmove`, waiting up to `timeoutSeconds` (0: forever); `null` on timeout. */
  blmove(
    source: RedisKey,
    destination: RedisKey,
    from: ListSide,
    to: ListSide,
    timeoutSeconds: number,
  ): Chained<K, R, string | null> {
    if (arguments.length > 5) return this.tooMany('blmove', arguments.length, 5);
    return this.send(
      'BLMOVE',
      [source, destination, from, to, timeoutSeconds],
      asNullableString,
      false,
      true,
    );
  }
}
