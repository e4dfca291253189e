import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { argument, optionsError, shape } from './argument-checks';
import type { Chained, ChainKind } from './command-runner';
import type {
  CollectionScanOptions,
  HashEntry,
  RedisKey,
  ScanOptions,
  ScoredMember,
} from './redis-client.types';
import {
  asScanPage,
  asScoredMembers,
  asString,
  asStringArray,
  type Transform,
} from './reply-transforms';
import { ServerCommands } from './server-commands';

/** One page of a SCAN-family walk: continue with `cursor` until it is `'0'`. */
export interface ScanPage<T> {
  cursor: string;
  items: T[];
}

/** The shape of `ScanOptions`. */
export const SCAN_OPTIONS = shape({ match: argument, count: argument, type: argument });

/** The shape of `CollectionScanOptions`. */
export const COLLECTION_SCAN_OPTIONS = shape({ match: argument, count: argument });

/** `MATCH`, `COUNT` and `TYPE` arguments. */
export function scanArgs(
  options: ScanOptions | CollectionScanOptions | undefined,
): RedisArgument[] {
  const args: RedisArgument[] = [];
  if (options?.match !== undefined) args.push('MATCH', options.match);
  if (options?.count !== undefined) args.push('COUNT', options.count);
  if (options !== undefined && 'type' in options && options.type !== undefined)
    args.push('TYPE', options.type);
  return args;
}

function page<T>(items: (raw: RedisReply[]) => T[]): Transform<ScanPage<T>> {
  return (reply) => {
    const raw = asScanPage(reply);
    return { cursor: raw.cursor, items: items(raw.items) };
  };
}

const asKeyPage = page(asStringArray);
const asHashPage = page<HashEntry>((items) => {
  const entries: HashEntry[] = [];
  for (let i = 0; i + 1 < items.length; i += 2)
    entries.push({ field: asString(items[i]), value: asString(items[i + 1]) });
  return entries;
});
const asZsetPage = page(asScoredMembers);

/**
 * One-page SCAN, HSCAN, SSCAN and ZSCAN (the cursor is yours to carry); `RedisService` adds async iterators that
 * walk every page for you.
 */
export abstract class ScanCommands<K extends ChainKind, R extends unknown[]> extends ServerCommands<
  K,
  R
> {
  /** SCAN: one page of keys. Start at cursor `'0'`; the walk is over when the returned cursor is `'0'`. */
  scan(cursor: string | number, options?: ScanOptions): Chained<K, R, ScanPage<string>> {
    if (arguments.length > 2) return this.tooMany('scan', arguments.length, 2);
    const error = optionsError('scan', options, SCAN_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('SCAN', [cursor, ...scanArgs(options)], asKeyPage);
  }

  /** HSCAN: one page of `{ field, value }`. */
  hscan(
    key: RedisKey,
    cursor: string | number,
    options?: CollectionScanOptions,
  ): Chained<K, R, ScanPage<HashEntry>> {
    if (arguments.length > 3) return this.tooMany('hscan', arguments.length, 3);
    const error = optionsError('hscan', options, COLLECTION_SCAN_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('HSCAN', [key, cursor, ...scanArgs(options)], asHashPage);
  }

  /** SSCAN: one page of members. */
  sscan(
    key: RedisKey,
    cursor: string | number,
    options?: CollectionScanOptions,
  ): Chained<K, R, ScanPage<string>> {
    if (arguments.length > 3) return this.tooMany('sscan', arguments.length, 3);
    const error = optionsError('sscan', options, COLLECTION_SCAN_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('SSCAN', [key, cursor, ...scanArgs(options)], asKeyPage);
  }

  /** ZSCAN: one page of `{ member, score }`. */
  zscan(
    key: RedisKey,
    cursor: string | number,
    options?: CollectionScanOptions,
  ): Chained<K, R, ScanPage<ScoredMember>> {
    if (arguments.length > 3) return this.tooMany('zscan', arguments.length, 3);
    const error = optionsError('zscan', options, COLLECTION_SCAN_OPTIONS);
    if (error !== undefined) return this.refuse(error);
    return this.send('ZSCAN', [key, cursor, ...scanArgs(options)], asZsetPage);
  }
}
