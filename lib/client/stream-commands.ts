import type { RedisArgument } from '../protocol/resp.types';
import { argument, flag, optionsError, pairsError, shape, valueError } from './argument-checks';
import { flattenPairs, STREAM_TRIM, streamsArgs, trimArgs } from './command-args';
import type { Chained, ChainKind } from './command-runner';
import type {
  FieldValues,
  RedisKey,
  StreamBatch,
  StreamEntry,
  StreamGroupEntry,
  StreamOffsets,
  StreamPendingSummary,
  StreamTrim,
  XAddOptions,
  XGroupCreateOptions,
  XRangeOptions,
  XReadGroupOptions,
  XReadOptions,
} from './redis-client.types';
import {
  asBoolean,
  asNullableString,
  asNumber,
  asOk,
  asPendingSummary,
  asStreamBatches,
  asStreamEntries,
  asStreamReadBatches,
} from './reply-transforms';
import { SortedSetCommands } from './sorted-set-commands';

const XADD_OPTIONS = shape({ nomkstream: flag, trim: STREAM_TRIM });
const XRANGE_OPTIONS = shape({ count: argument });
const XREAD_OPTIONS = shape({ count: argument, block: argument });
const XREADGROUP_OPTIONS = shape({ count: argument, block: argument, noack: flag });
const XGROUP_CREATE_OPTIONS = shape({ mkstream: flag, entriesRead: argument });

function readArgs(options: XReadOptions | undefined): RedisArgument[] {
  const args: RedisArgument[] = [];
  if (options?.count !== undefined) args.push('COUNT', options.count);
  if (options?.block !== undefined) args.push('BLOCK', options.block);
  return args;
}

/**
 * Stream commands: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XGROUP CREATE/DESTROY, XACK, XPENDING (summary),
 * XREAD and XREADGROUP. Entries are `{ id, fields }` with null-prototype fields under both protocols; a read with
 * `block` runs on a connection leased for it.
 */
export abstract class StreamCommands<
  K extends ChainKind,
  R extends unknown[],
> extends SortedSetCommands<K, R> {
  /** XADD: the new entry's id (`id` is usually `'*'`), or `null` with `nomkstream` on a missing stream. */
  xadd(
    key: RedisKey,
    id: string,
    fields: FieldValues,
    options?: XAddOptions,
  ): Chained<K, R, string | null> {
    if (arguments.length > 4) return this.tooMany('xadd', arguments.length, 4);
    const error =
      pairsError('xadd', fields, 'fields', '[field, value]') ??
      optionsError('xadd', options, XADD_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [key];
    if (options?.nomkstream === true) args.push('NOMKSTREAM');
    if (options?.trim !== undefined) args.push(...trimArgs(options.trim));
    args.push(id, ...flattenPairs(fields));
    return this.send('XADD', args, asNullableString);
  }

  /** XRANGE: entries from `start` to `end` (`'-'` and `'+'` for the ends), oldest first. */
  xrange(
    key: RedisKey,
    start = '-',
    end = '+',
    options?: XRangeOptions,
  ): Chained<K, R, StreamEntry[]> {
    if (arguments.length > 4) return this.tooMany('xrange', arguments.length, 4);
    const error = optionsError('xrange', options, XRANGE_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [key, start, end];
    if (options?.count !== undefined) args.push('COUNT', options.count);
    return this.send('XRANGE', args, asStreamEntries);
  }

  /** XREVRANGE: entries from `end` down to `start`, newest first. */
  xrevrange(
    key: RedisKey,
    end = '+',
    start = '-',
    options?: XRangeOptions,
  ): Chained<K, R, StreamEntry[]> {
    if (arguments.length > 4) return this.tooMany('xrevrange', arguments.length, 4);
    const error = optionsError('xrevrange', options, XRANGE_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [key, end, start];
    if (options?.count !== undefined) args.push('COUNT', options.count);
    return this.send('XREVRANGE', args, asStreamEntries);
  }

  /** XLEN: the number of entries. */
  xlen(key: RedisKey): Chained<K, R, number> {
    if (arguments.length > 1) return this.tooMany('xlen', arguments.length, 1);
    return this.send('XLEN', [key], asNumber);
  }

  /** XDEL: how many entries were deleted. */
  xdel(key: RedisKey, ...ids: string[]): Chained<K, R, number> {
    return this.send('XDEL', [key, ...ids], asNumber);
  }

  /** XTRIM: how many entries were evicted. */
  xtrim(key: RedisKey, trim: StreamTrim): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('xtrim', arguments.length, 2);
    const error = valueError('xtrim', trim, STREAM_TRIM, 'trim');
    if (error !== undefined) return this.refuse(error);
    return this.send('XTRIM', [key, ...trimArgs(trim)], asNumber);
  }

  /** XGROUP CREATE: creates a consumer group reading after `id` (`'$'`: only new entries, `'0'`: all). */
  xgroupCreate(
    key: RedisKey,
    group: string,
    id = '$',
    options?: XGroupCreateOptions,
  ): Chained<K, R, 'OK'> {
    if (arguments.length > 4) return this.tooMany('xgroupCreate', arguments.length, 4);
    const error = optionsError('xgroupCreate', options, XGROUP_CREATE_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = [key, group, id];
    if (options?.mkstream === true) args.push('MKSTREAM');
    if (options?.entriesRead !== undefined) args.push('ENTRIESREAD', options.entriesRead);
    return this.send('XGROUP CREATE', args, asOk);
  }

  /** XGROUP DESTROY: whether the group existed. */
  xgroupDestroy(key: RedisKey, group: string): Chained<K, R, boolean> {
    if (arguments.length > 2) return this.tooMany('xgroupDestroy', arguments.length, 2);
    return this.send('XGROUP DESTROY', [key, group], asBoolean);
  }

  /** XACK: how many entries were acknowledged. */
  xack(key: RedisKey, group: string, ...ids: string[]): Chained<K, R, number> {
    return this.send('XACK', [key, group, ...ids], asNumber);
  }

  /** XPENDING summary: count, id range, and pending count per consumer. */
  xpending(key: RedisKey, group: string): Chained<K, R, StreamPendingSummary> {
    if (arguments.length > 2) return this.tooMany('xpending', arguments.length, 2);
    return this.send('XPENDING', [key, group], asPendingSummary);
  }

  /**
   * XREAD: new entries after each stream's id (`'$'`: only entries added from now, with `block`), one batch per
   * stream that has any; `[]` when none has (or the block timed out).
   */
  xread(streams: StreamOffsets, options?: XReadOptions): Chained<K, R, StreamBatch[]> {
    if (arguments.length > 2) return this.tooMany('xread', arguments.length, 2);
    const error =
      pairsError('xread', streams, 'streams', '[key, id]') ??
      optionsError('xread', options, XREAD_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send(
      'XREAD',
      [...readArgs(options), ...streamsArgs(streams)],
      asStreamReadBatches,
      false,
      options?.block !== undefined,
    );
  }

  /**
   * XREADGROUP: entries for `consumer` of `group` (`'>'`: never delivered; an id: this consumer's pending
   * history, where deleted entries have `fields: null`); `[]` when there are none.
   */
  xreadgroup(
    group: string,
    consumer: string,
    streams: StreamOffsets,
    options?: XReadGroupOptions,
  ): Chained<K, R, Array<StreamBatch<StreamGroupEntry>>> {
    if (arguments.length > 4) return this.tooMany('xreadgroup', arguments.length, 4);
    const error =
      pairsError('xreadgroup', streams, 'streams', '[key, id]') ??
      optionsError('xreadgroup', options, XREADGROUP_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    const args: RedisArgument[] = ['GROUP', group, consumer, ...readArgs(options)];
    if (options?.noack === true) args.push('NOACK');
    args.push(...streamsArgs(streams));
    return this.send('XREADGROUP', args, asStreamBatches, false, options?.block !== undefined);
  }
}
