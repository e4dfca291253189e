import type { RedisArgument } from '../protocol/resp.types';
import type { Chained, ChainKind } from './command-runner';
import { ListCommands } from './list-commands';
import type { RedisKey } from './redis-client.types';
import { asBoolean, asBooleans, asBufferArray, asNumber, asStringArray } from './reply-transforms';

/** Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SINTER, SUNION, SDIFF. */
export abstract class SetCommands<K extends ChainKind, R extends unknown[]> extends ListCommands<
  K,
  R
> {
  /** SADD: how many members were new. */
  sadd(key: RedisKey, ...members: RedisArgument[]): Chained<K, R, number> {
    return this.send('SADD', [key, ...members], asNumber);
  }

  /** SREM: how many members were removed. */
  srem(key: RedisKey, ...members: RedisArgument[]): Chained<K, R, number> {
    return this.send('SREM', [key, ...members], asNumber);
  }

  /** SMEMBERS: every member (a RESP3 set arrives as an array too), in no particular order. */
  smembers(key: RedisKey): Chained<K, R, string[]> {
    if (arguments.length > 1) return this.tooMany('smembers', arguments.length, 1);
    return this.send('SMEMBERS', [key], asStringArray);
  }

  /** SMEMBERS with raw bytes. */
  smembersBuffer(key: RedisKey): Chained<K, R, Buffer[]> {
    if (arguments.length > 1) return this.tooMany('smembersBuffer', arguments.length, 1);
    return this.send('SMEMBERS', [key], asBufferArray, true);
  }

  /** SISMEMBER: whether it is a member. */
  sismember(key: RedisKey, member: RedisArgument): Chained<K, R, boolean> {
    if (arguments.length > 2) return this.tooMany('sismember', arguments.length, 2);
    return this.send('SISMEMBER', [key, member], asBoolean);
  }

  /** SMISMEMBER: membership of each, in order. */
  smismember(key: RedisKey, ...members: RedisArgument[]): Chained<K, R, boolean[]> {
    return this.send('SMISMEMBER', [key, ...members], asBooleans);
  }

  /** SCARD: the number of members. */
  scard(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('scard', arguments.length, 1);
    return this.send('SCARD', [key], asNumber);
  }

  /** SINTER: members in every set. */
  sinter(...keys: RedisKey[]): Chained<K, R, string[]> {
    return this.send('SINTER', keys, asStringArray);
  }

  /** SUNION: members in any set. */
  sunion(...keys: RedisKey[]): Chained<K, R, string[]> {
    return this.send('SUNION', keys, asStringArray);
  }

  /** SDIFF: members of the first set in none of the others. */
  sdiff(...keys: RedisKey[]): Chained<K, R, string[]> {
    return this.send('SDIFF', keys, asStringArray);
  }
}
