import type { RedisArgument } from '../protocol/resp.types';
import { isArgument, pairsError, unpairedArguments } from './argument-checks';
import { flattenPairs } from './command-args';
import type { Chained, ChainKind } from './command-runner';
import { KeyCommands } from './key-commands';
import type { FieldValues, RedisKey } from './redis-client.types';
import {
  asBoolean,
  asBufferArray,
  asBufferPairs,
  asDouble,
  asSafeInteger,
  asNullableBuffer,
  asNullableBuffers,
  asNullableString,
  asNullableStrings,
  asNumber,
  asStringArray,
  asStringRecord,
} from './reply-transforms';

/** Hash commands: HGET, HSET, HMGET, HGETALL, HDEL, HINCRBY, HEXISTS, HLEN, HKEYS, HVALS. */
export abstract class HashCommands<K extends ChainKind, R extends unknown[]> extends KeyCommands<
  K,
  R
> {
  /** HGET: the field's value, or `null`. */
  hget(key: RedisKey, field: RedisKey): Chained<K, R, string | null> {
    if (arguments.length > 2) return this.tooMany('hget', arguments.length, 2);
    return this.send('HGET', [key, field], asNullableString);
  }

  /** HGET with the value as raw bytes. */
  hgetBuffer(key: RedisKey, field: RedisKey): Chained<K, R, Buffer | null> {
    if (arguments.length > 2) return this.tooMany('hgetBuffer', arguments.length, 2);
    return this.send('HGET', [key, field], asNullableBuffer, true);
  }

  /**
   * HSET: how many fields were added (updated ones do not count). Takes one field and its value, or (as in
   * ioredis) several in turn: `hset(key, f1, v1, f2, v2)`; or an object, a Map or `[field, value]` pairs.
   */
  hset(
    key: RedisKey,
    field: RedisKey,
    value: RedisArgument,
    ...fieldValues: RedisArgument[]
  ): Chained<K, R, number>;
  hset(key: RedisKey, values: FieldValues): Chained<K, R, number>;
  hset(
    key: RedisKey,
    fieldOrValues: RedisKey | FieldValues,
    ...rest: RedisArgument[]
  ): Chained<K, R, number> {
    if (isArgument(fieldOrValues)) {
      if (rest.length % 2 === 0) {
        return this.refuse(unpairedArguments('hset', 'fields and values', rest.length + 1));
      }
      return this.send('HSET', [key, fieldOrValues, ...rest], asNumber);
    }
    if (rest.length > 0) return this.tooMany('hset', rest.length + 2, 2);
    const error = pairsError('hset', fieldOrValues, 'values', '[field, value]');
    if (error !== undefined) return this.refuse(error);
    return this.send('HSET', [key, ...flattenPairs(fieldOrValues)], asNumber);
  }

  /** HSETNX: whether the field was set (it did not exist). */
  hsetnx(key: RedisKey, field: RedisKey, value: RedisArgument): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('hsetnx', arguments.length, 3);
    return this.send('HSETNX', [key, field, value], asBoolean);
  }

  /** HMGET: one value (or `null`) per field, in order. */
  hmget(key: RedisKey, ...fields: RedisKey[]): Chained<K, R, Array<string | null>> {
    return this.send('HMGET', [key, ...fields], asNullableStrings);
  }

  /** HMGET with the values as raw bytes. */
  hmgetBuffer(key: RedisKey, ...fields: RedisKey[]): Chained<K, R, Array<Buffer | null>> {
    return this.send('HMGET', [key, ...fields], asNullableBuffers, true);
  }

  /**
   * HGETALL as a null-prototype object (`{}` for a missing key) under both protocols. Fields named `__proto__` or
   * `constructor` are ordinary data.
   */
  hgetall(key: RedisKey): Chained<K, R, Record<string, string>> {
    if (arguments.length > 1) return this.tooMany('hgetall', arguments.length, 1);
    return this.send('HGETALL', [key], asStringRecord);
  }

  /**
   * HGETALL with fields and values as raw bytes: `[field, value]` pairs in the server's order (`[]` for a missing
   * key), the same under both protocols. Pairs rather than an object keyed by text, so fields that are not valid
   * UTF-8 (`0xff` and `0xfe`, say) stay distinct and byte-exact, and `__proto__` is plain data. For text fields
   * with binary values, `Object.fromEntries(pairs.map(([f, v]) => [f.toString(), v]))`.
   */
  hgetallBuffer(key: RedisKey): Chained<K, R, Array<[Buffer, Buffer]>> {
    if (arguments.length > 1) return this.tooMany('hgetallBuffer', arguments.length, 1);
    return this.send('HGETALL', [key], asBufferPairs, true);
  }

  /** HDEL: how many fields were removed. */
  hdel(key: RedisKey, ...fields: RedisKey[]): Chained<K, R, number> {
    return this.send('HDEL', [key, ...fields], asNumber);
  }

  /** HINCRBY: the field's new value. */
  hincrby(key: RedisKey, field: RedisKey, increment: number | bigint): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('hincrby', arguments.length, 3);
    return this.send('HINCRBY', [key, field, increment], asSafeInteger);
  }

  /** HINCRBYFLOAT: the field's new value. */
  hincrbyfloat(key: RedisKey, field: RedisKey, increment: number): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('hincrbyfloat', arguments.length, 3);
    return this.send('HINCRBYFLOAT', [key, field, increment], asDouble);
  }

  /** HEXISTS: whether the field exists. */
  hexists(key: RedisKey, field: RedisKey): Chained<K, R, boolean> {
    if (arguments.length > 2) return this.tooMany('hexists', arguments.length, 2);
    return this.send('HEXISTS', [key, field], asBoolean);
  }

  /** HLEN: the number of fields. */
  hlen(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('hlen', arguments.length, 1);
    return this.send('HLEN', [key], asNumber);
  }

  /** HKEYS: every field name. */
  hkeys(key: RedisKey): Chained<K, R, string[]> {
    if (arguments.length > 1) return this.tooMany('hkeys', arguments.length, 1);
    return this.send('HKEYS', [key], asStringArray);
  }

  /** HVALS: every value. */
  hvals(key: RedisKey): Chained<K, R, string[]> {
    if (arguments.length > 1) return this.tooMany('hvals', arguments.length, 1);
    return this.send('HVALS', [key], asStringArray);
  }

  /** HVALS with the values as raw bytes. */
  hvalsBuffer(key: RedisKey): Chained<K, R, Buffer[]> {
    if (arguments.length > 1) return this.tooMany('hvalsBuffer', arguments.length, 1);
    return this.send('HVALS', [key], asBufferArray, true);
  }
}
