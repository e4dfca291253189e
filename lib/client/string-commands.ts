import type { RedisArgument } from '../protocol/resp.types';
import { isArgument, optionsError, pairsError, unpairedArguments } from './argument-checks';
import { flattenPairs, GETEX_OPTIONS, getExArgs, SET_OPTIONS, setArgs } from './command-args';
import { CommandRunner, type Chained, type ChainKind } from './command-runner';
import type { FieldValues, GetExOptions, RedisKey, SetOptions } from './redis-client.types';
import {
  asBoolean,
  asDouble,
  asSafeInteger,
  asNullableBuffer,
  asNullableBuffers,
  asNullableString,
  asNullableStrings,
  asNumber,
  asOk,
  asOkOrNull,
} from './reply-transforms';

/** String commands: GET, SET, MGET, MSET, INCR..., APPEND, GETDEL, GETEX, STRLEN. */
export abstract class StringCommands<
  K extends ChainKind,
  R extends unknown[],
> extends CommandRunner<K, R> {
  /** GET: the value, or `null` when the key is missing. */
  get(key: RedisKey): Chained<K, R, string | null> {
    if (arguments.length > 1) return this.tooMany('get', arguments.length, 1);
    return this.send('GET', [key], asNullableString);
  }

  /** GET with the value as raw bytes. */
  getBuffer(key: RedisKey): Chained<K, R, Buffer | null> {
    if (arguments.length > 1) return this.tooMany('getBuffer', arguments.length, 1);
    return this.send('GET', [key], asNullableBuffer, true);
  }

  /**
   * SET: `'OK'`, or `null` when `nx`/`xx` kept it from running. With `get: true` it resolves the previous value
   * instead (`null` when there was none).
   */
  set(
    key: RedisKey,
    value: RedisArgument,
    options: SetOptions & { get: true },
  ): Chained<K, R, string | null>;
  set(key: RedisKey, value: RedisArgument, options?: SetOptions): Chained<K, R, 'OK' | null>;
  set(
    key: RedisKey,
    value: RedisArgument,
    options?: SetOptions,
  ): Chained<K, R, string | null> | Chained<K, R, 'OK' | null> {
    if (arguments.length > 3) return this.tooMany('set', arguments.length, 3);
    const error = optionsError('set', options, SET_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    if (options?.get === true) {
      return this.send('SET', [key, value, ...setArgs(options)], asNullableString);
    }
    return this.send('SET', [key, value, ...setArgs(options)], asOkOrNull);
  }

  /** MGET: one value (or `null`) per key, in order. */
  mget(...keys: RedisKey[]): Chained<K, R, Array<string | null>> {
    return this.send('MGET', keys, asNullableStrings);
  }

  /** MGET with the values as raw bytes. */
  mgetBuffer(...keys: RedisKey[]): Chained<K, R, Array<Buffer | null>> {
    return this.send('MGET', keys, asNullableBuffers, true);
  }

  /**
   * MSET: sets every key to its value, atomically. Takes an object, a Map or `[key, value]` pairs, or (as in
   * ioredis) the keys and values in turn: `mset(k1, v1, k2, v2)`.
   */
  mset(values: FieldValues): Chained<K, R, 'OK'>;
  mset(key: RedisKey, value: RedisArgument, ...keyValues: RedisArgument[]): Chained<K, R, 'OK'>;
  mset(keyOrValues: RedisKey | FieldValues, ...rest: RedisArgument[]): Chained<K, R, 'OK'> {
    if (isArgument(keyOrValues)) {
      if (rest.length % 2 === 0) {
        return this.refuse(unpairedArguments('mset', 'keys and values', rest.length + 1));
      }
      return this.send('MSET', [keyOrValues, ...rest], asOk);
    }
    if (rest.length > 0) return this.tooMany('mset', rest.length + 1, 1);
    const error = pairsError('mset', keyOrValues, 'values', '[key, value]');
    if (error !== undefined) return this.refuse(error);
    return this.send('MSET', flattenPairs(keyOrValues), asOk);
  }

  /**
   * INCR: the new value. A value beyond `Number.MAX_SAFE_INTEGER` is never rounded: the call rejects with
   * `RangeError` (the increment happened; `executeCommand('GET', key)` reads it exactly). Same for the other
   * counter helpers.
   */
  incr(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('incr', arguments.length, 1);
    return this.send('INCR', [key], asSafeInteger);
  }

  /** INCRBY: the new value. */
  incrby(key: RedisKey, increment: number | bigint): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('incrby', arguments.length, 2);
    return this.send('INCRBY', [key, increment], asSafeInteger);
  }

  /** INCRBYFLOAT: the new value (a bulk string under both protocols, parsed). */
  incrbyfloat(key: RedisKey, increment: number): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('incrbyfloat', arguments.length, 2);
    return this.send('INCRBYFLOAT', [key, increment], asDouble);
  }

  /** DECR: the new value. */
  decr(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('decr', arguments.length, 1);
    return this.send('DECR', [key], asSafeInteger);
  }

  /** DECRBY: the new value. */
  decrby(key: RedisKey, decrement: number | bigint): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('decrby', arguments.length, 2);
    return this.send('DECRBY', [key, decrement], asSafeInteger);
  }

  /** APPEND: the length of the value after the append. */
  append(key: RedisKey, value: RedisArgument): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('append', arguments.length, 2);
    return this.send('APPEND', [key, value], asNumber);
  }

  /** GETDEL: the value before deletion, or `null`. */
  getdel(key: RedisKey): Chained<K, R, string | null> {
    if (arguments.length > 1) return this.tooMany('getdel', arguments.length, 1);
    return this.send('GETDEL', [key], asNullableString);
  }

  /** GETDEL with the value as raw bytes. */
  getdelBuffer(key: RedisKey): Chained<K, R, Buffer | null> {
    if (arguments.length > 1) return this.tooMany('getdelBuffer', arguments.length, 1);
    return this.send('GETDEL', [key], asNullableBuffer, true);
  }

  /** GETEX: the value, setting or removing its expiry. */
  getex(key: RedisKey, options?: GetExOptions): Chained<K, R, string | null> {
    if (arguments.length > 2) return this.tooMany('getex', arguments.length, 2);
    const error = optionsError('getex', options, GETEX_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('GETEX', [key, ...getExArgs(options)], asNullableString);
  }

  /** GETEX with the value as raw bytes. */
  getexBuffer(key: RedisKey, options?: GetExOptions): Chained<K, R, Buffer | null> {
    if (arguments.length > 2) return this.tooMany('getexBuffer', arguments.length, 2);
    const error = optionsError('getexBuffer', options, GETEX_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('GETEX', [key, ...getExArgs(options)], asNullableBuffer, true);
  }

  /** STRLEN: the length in bytes (0 for a missing key). */
  strlen(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('strlen', arguments.length, 1);
    return this.send('STRLEN', [key], asNumber);
  }

  /** SETNX: whether the key was set (it did not exist). */
  setnx(key: RedisKey, value: RedisArgument): Chained<K, R, boolean> {
    if (arguments.length > 2) return this.tooMany('setnx', arguments.length, 2);
    return this.send('SETNX', [key, value], asBoolean);
  }
}
