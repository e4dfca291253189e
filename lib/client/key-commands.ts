import type { RedisArgument } from '../protocol/resp.types';
import { argument, flag, optionsError, shape } from './argument-checks';
import type { Chained, ChainKind } from './command-runner';
import type { CopyOptions, ExpireCondition, RedisKey } from './redis-client.types';
import { asBoolean, asNumber, asOk, asString } from './reply-transforms';
import { StringCommands } from './string-commands';

const COPY_OPTIONS = shape({ db: argument, replace: flag });

function expiryArgs(key: RedisKey, amount: number, condition?: ExpireCondition): RedisArgument[] {
  return condition === undefined ? [key, amount] : [key, amount, condition];
}

/** Key commands: DEL, UNLINK, EXISTS, TOUCH, EXPIRE and friends, TTL, PERSIST, TYPE, RENAME, COPY. */
export abstract class KeyCommands<K extends ChainKind, R extends unknown[]> extends StringCommands<
  K,
  R
> {
  /** DEL: how many of the keys existed and were removed. */
  del(...keys: RedisKey[]): Chained<K, R, number> {
    return this.send('DEL', keys, asNumber);
  }

  /** UNLINK: like DEL, reclaiming memory in the background. */
  unlink(...keys: RedisKey[]): Chained<K, R, number> {
    return this.send('UNLINK', keys, asNumber);
  }

  /** EXISTS: how many of the keys exist (a key named twice counts twice). */
  exists(...keys: RedisKey[]): Chained<K, R, number> {
    return this.send('EXISTS', keys, asNumber);
  }

  /** TOUCH: how many of the keys exist; their last access time is updated. */
  touch(...keys: RedisKey[]): Chained<K, R, number> {
    return this.send('TOUCH', keys, asNumber);
  }

  /** EXPIRE: whether the timeout was set (`false` for a missing key or an unmet condition). */
  expire(key: RedisKey, seconds: number, condition?: ExpireCondition): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('expire', arguments.length, 3);
    return this.send('EXPIRE', expiryArgs(key, seconds, condition), asBoolean);
  }

  /** PEXPIRE: like `expire`, in milliseconds. */
  pexpire(
    key: RedisKey,
    milliseconds: number,
    condition?: ExpireCondition,
  ): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('pexpire', arguments.length, 3);
    return this.send('PEXPIRE', expiryArgs(key, milliseconds, condition), asBoolean);
  }

  /** EXPIREAT: expire at a Unix time in seconds. */
  expireat(
    key: RedisKey,
    unixSeconds: number,
    condition?: ExpireCondition,
  ): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('expireat', arguments.length, 3);
    return this.send('EXPIREAT', expiryArgs(key, unixSeconds, condition), asBoolean);
  }

  /** PEXPIREAT: expire at a Unix time in milliseconds. */
  pexpireat(key: RedisKey, unixMs: number, condition?: ExpireCondition): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('pexpireat', arguments.length, 3);
    return this.send('PEXPIREAT', expiryArgs(key, unixMs, condition), asBoolean);
  }

  /** TTL in seconds: -1 when the key has no expiry, -2 when it does not exist. */
  ttl(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('ttl', arguments.length, 1);
    return this.send('TTL', [key], asNumber);
  }

  /** PTTL in milliseconds: -1 when the key has no expiry, -2 when it does not exist. */
  pttl(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('pttl', arguments.length, 1);
    return this.send('PTTL', [key], asNumber);
  }

  /** PERSIST: whether an expiry was removed. */
  persist(key: RedisKey): Chained<K, R, boolean> {
    if (arguments.length > 1) return this.tooMany('persist', arguments.length, 1);
    return this.send('PERSIST', [key], asBoolean);
  }

  /** TYPE: `'string'`, `'list'`, `'set'`, `'zset'`, `'hash'`, `'stream'`, or `'none'` for a missing key. */
  type(key: RedisKey): Chained<K, R, string> {
    if (arguments.length > 1) return this.tooMany('type', arguments.length, 1);
    return this.send('TYPE', [key], asString);
  }

  /** RENAME: rejects with `ResponseError` (`ERR no such key`) when the key is missing. */
  rename(key: RedisKey, newKey: RedisKey): Chained<K, R, 'OK'> {
    if (arguments.length > 2) return this.tooMany('rename', arguments.length, 2);
    return this.send('RENAME', [key, newKey], asOk);
  }

  /** RENAMENX: whether it was renamed (`false` when `newKey` exists). */
  renamenx(key: RedisKey, newKey: RedisKey): Chained<K, R, boolean> {
    if (arguments.length > 2) return this.tooMany('renamenx', arguments.length, 2);
    return this.send('RENAMENX', [key, newKey], asBoolean);
  }

  /** COPY: whether the value was copied (`false` when the destination exists and `replace` is not set). */
  copy(source: RedisKey, destination: RedisKey, options?: CopyOptions): Chained<K, R, boolean> {
    if (arguments.length > 3) return this.tooMany('copy', arguments.length, 3);
    const error = optionsError('copy', options, COPY_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [source, destination];
    if (options?.db !== undefined) args.push('DB', options.db);
    if (options?.replace === true) args.push('REPLACE');
    return this.send('COPY', args, asBoolean);
  }
}
