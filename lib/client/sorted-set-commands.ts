import type { RedisArgument } from '../protocol/resp.types';
import {
  argument,
  flag,
  keysError,
  oneOf,
  optionsError,
  requires,
  shape,
  valueError,
  type ValueCheck,
} from './argument-checks';
import { keyList, scoreArg } from './command-args';
import type { Chained, ChainKind } from './command-runner';
import type {
  KeyedScoredMember,
  RedisKey,
  ScoredMember,
  ZAddMember,
  ZAddOptions,
  ZBound,
  ZRangeOptions,
} from './redis-client.types';
import {
  asDouble,
  asKeyedScoredMember,
  asNullableDouble,
  asNullableNumber,
  asNumber,
  asScoredMembers,
  asStringArray,
} from './reply-transforms';
import { SetCommands } from './set-commands';

const ZADD_OPTIONS = shape({ nx: flag, xx: flag, gt: flag, lt: flag, ch: flag });

/** A score: a number (infinities included) or Redis's own spelling (`'+inf'`, `'1.5'`). */
const score: ValueCheck = (value, path) =>
  (typeof value === 'number' && !Number.isNaN(value)) ||
  typeof value === 'string' ||
  typeof value === 'bigint'
    ? undefined
    : `${path} must be a number or a string, got ${typeof value}`;

const ZADD_MEMBER = shape({ score, member: argument }, requires('score', 'member'));

const ZRANGE_OPTIONS = shape({
  by: oneOf('RANK', 'SCORE', 'LEX'),
  rev: flag,
  limit: shape({ offset: argument, count: argument }, requires('offset', 'count')),
});

/** `{ score, member }` or an array of them (ioredis's `zadd(key, score, member, ...)` is refused, not misread). */
function membersError(members: unknown): TypeError | undefined {
  if (!Array.isArray(members)) return valueError('zadd', members, ZADD_MEMBER, 'members');
  for (let i = 0; i < members.length; i++) {
    const error = valueError('zadd', members[i], ZADD_MEMBER, `members[${i}]`);
    if (error !== undefined) return error;
  }
  return undefined;
}

function zrangeArgs(
  key: RedisKey,
  start: ZBound,
  stop: ZBound,
  options: ZRangeOptions | undefined,
): RedisArgument[] {
  const args: RedisArgument[] = [key, scoreArg(start), scoreArg(stop)];
  if (options?.by === 'SCORE') args.push('BYSCORE');
  if (options?.by === 'LEX') args.push('BYLEX');
  if (options?.rev === true) args.push('REV');
  if (options?.limit !== undefined) args.push('LIMIT', options.limit.offset, options.limit.count);
  return args;
}

/**
 * Sorted-set commands: ZADD, ZINCRBY, ZRANGE (ranks, scores, lex; WITHSCORES as `{ member, score }`), ZRANK,
 * ZSCORE, ZREM, ZCARD, ZCOUNT, ZPOPMIN/ZPOPMAX, and the blocking BZPOPMIN/BZPOPMAX. Scores are numbers under both
 * protocols (RESP2 sends them as strings, `inf` included).
 */
export abstract class SortedSetCommands<
  K extends ChainKind,
  R extends unknown[],
> extends SetCommands<K, R> {
  /** ZADD: how many members were added (with `ch`, added or changed). */
  zadd(
    key: RedisKey,
    members: ZAddMember | readonly ZAddMember[],
    options?: ZAddOptions,
  ): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('zadd', arguments.length, 3);
    const error = membersError(members) ?? optionsError('zadd', options, ZADD_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [key];
    if (options?.nx === true) args.push('NX');
    if (options?.xx === true) args.push('XX');
    if (options?.gt === true) args.push('GT');
    if (options?.lt === true) args.push('LT');
    if (options?.ch === true) args.push('CH');
    const list: readonly ZAddMember[] = Array.isArray(members) ? members : [members as ZAddMember];
    for (const { score, member } of list) args.push(scoreArg(score), member);
    return this.send('ZADD', args, asNumber);
  }

  /** ZINCRBY: the member's new score. */
  zincrby(key: RedisKey, increment: number, member: RedisArgument): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('zincrby', arguments.length, 3);
    return this.send('ZINCRBY', [key, scoreArg(increment), member], asDouble);
  }

  /** ZRANGE: members between `start` and `stop` (ranks by default; see `options.by`). */
  zrange(
    key: RedisKey,
    start: ZBound,
    stop: ZBound,
    options?: ZRangeOptions,
  ): Chained<K, R, string[]> {
    if (arguments.length > 4) return this.tooMany('zrange', arguments.length, 4);
    const error = optionsError('zrange', options, ZRANGE_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('ZRANGE', zrangeArgs(key, start, stop, options), asStringArray);
  }

  /** ZRANGE ... WITHSCORES: `{ member, score }` in order, identical under RESP2 and RESP3. */
  zrangeWithScores(
    key: RedisKey,
    start: ZBound,
    stop: ZBound,
    options?: ZRangeOptions,
  ): Chained<K, R, ScoredMember[]> {
    if (arguments.length > 4) return this.tooMany('zrangeWithScores', arguments.length, 4);
    const error = optionsError('zrangeWithScores', options, ZRANGE_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args = zrangeArgs(key, start, stop, options);
    args.push('WITHSCORES');
    return this.send('ZRANGE', args, asScoredMembers);
  }

  /** ZRANK: the member's rank from the lowest score, or `null`. */
  zrank(key: RedisKey, member: RedisArgument): Chained<K, R, number | null> {
    if (arguments.length > 2) return this.tooMany('zrank', arguments.length, 2);
    return this.send('ZRANK', [key, member], asNullableNumber);
  }

  /** ZREVRANK: the member's rank from the highest score, or `null`. */
  zrevrank(key: RedisKey, member: RedisArgument): Chained<K, R, number | null> {
    if (arguments.length > 2) return this.tooMany('zrevrank', arguments.length, 2);
    return this.send('ZREVRANK', [key, member], asNullableNumber);
  }

  /** ZSCORE: the member's score, or `null`. */
  zscore(key: RedisKey, member: RedisArgument): Chained<K, R, number | null> {
    if (arguments.length > 2) return this.tooMany('zscore', arguments.length, 2);
    return this.send('ZSCORE', [key, member], asNullableDouble);
  }

  /** ZREM: how many members were removed. */
  zrem(key: RedisKey, ...members: RedisArgument[]): Chained<K, R, number> {
    return this.send('ZREM', [key, ...members], asNumber);
  }

  /** ZCARD: the number of members. */
  zcard(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('zcard', arguments.length, 1);
    return this.send('ZCARD', [key], asNumber);
  }

  /** ZCOUNT: members with a score between `min` and `max` (`'(1'`, `'-inf'`... allowed). */
  zcount(key: RedisKey, min: ZBound, max: ZBound): Chained<K, R, number> {
    if (arguments.length > 3) return this.tooMany('zcount', arguments.length, 3);
    return this.send('ZCOUNT', [key, scoreArg(min), scoreArg(max)], asNumber);
  }

  /** ZPOPMIN: removes and returns up to `count` lowest members (`[]` when empty). */
  zpopmin(key: RedisKey, count?: number): Chained<K, R, ScoredMember[]> {
    if (arguments.length > 2) return this.tooMany('zpopmin', arguments.length, 2);
    return this.send('ZPOPMIN', count === undefined ? [key] : [key, count], asScoredMembers);
  }

  /** ZPOPMAX: removes and returns up to `count` highest members (`[]` when empty). */
  zpopmax(key: RedisKey, count?: number): Chained<K, R, ScoredMember[]> {
    if (arguments.length > 2) return this.tooMany('zpopmax', arguments.length, 2);
    return this.send('ZPOPMAX', count === undefined ? [key] : [key, count], asScoredMembers);
  }

  /** BZPOPMIN: waits up to `timeoutSeconds` (0: forever) for a member; `null` on timeout. Runs on a lease. */
  bzpopmin(
    keys: RedisKey | readonly RedisKey[],
    timeoutSeconds: number,
  ): Chained<K, R, KeyedScoredMember | null> {
    if (arguments.length > 2) return this.tooMany('bzpopmin', arguments.length, 2);
    const error = keysError('bzpopmin', keys);
    if (error !== undefined) return this.refuse(error);
    return this.send(
      'BZPOPMIN',
      [...keyList(keys), timeoutSeconds],
      asKeyedScoredMember,
      false,
      true,
    );
  }

  /** BZPOPMAX: like `bzpopmin`, highest score first. */
  bzpopmax(
    keys: RedisKey | readonly RedisKey[],
    timeoutSeconds: number,
  ): Chained<K, R, KeyedScoredMember | null> {
    if (arguments.length > 2) return this.tooMany('bzpopmax', arguments.length, 2);
    const error = keysError('bzpopmax', keys);
    if (error !== undefined) return this.refuse(error);
    return this.send(
      'BZPOPMAX',
      [...keyList(keys), timeoutSeconds],
      asKeyedScoredMember,
      false,
      true,
    );
  }
}
