import type { RedisArgument } from '../protocol/resp.types';
import { argument, flag, shape, type ValueCheck } from './argument-checks';
import type {
  FieldValues,
  GetExOptions,
  RedisKey,
  SetOptions,
  StreamOffsets,
  StreamTrim,
} from './redis-client.types';

/** One key or several, as a list (check it with `keysError` first). */
export function keyList(keys: RedisKey | readonly RedisKey[]): RedisKey[] {
  return Array.isArray(keys) ? [...(keys as readonly RedisKey[])] : [keys as RedisKey];
}

/** Field/value pairs flattened to `[f1, v1, f2, v2, ...]`. */
export function flattenPairs(values: FieldValues): RedisArgument[] {
  const flat: RedisArgument[] = [];
  if (Array.isArray(values)) {
    for (const [field, value] of values as ReadonlyArray<readonly [RedisKey, RedisArgument]>)
      flat.push(field, value);
  } else if (values instanceof Map) {
    for (const [field, value] of values) flat.push(field, value);
  } else {
    const record = values as Readonly<Record<string, RedisArgument>>;
    for (const field of Object.keys(record)) flat.push(field, record[field]);
  }
  return flat;
}

/** The shape of `SetOptions`. */
export const SET_OPTIONS = shape({
  ex: argument,
  px: argument,
  exat: argument,
  pxat: argument,
  keepTtl: flag,
  nx: flag,
  xx: flag,
  get: flag,
});

/** The shape of `GetExOptions`. */
export const GETEX_OPTIONS = shape({
  ex: argument,
  px: argument,
  exat: argument,
  pxat: argument,
  persist: flag,
});

/** The shape of `StreamTrim`: exactly one of `maxlen` and `minid`. */
export const STREAM_TRIM: ValueCheck = shape(
  { maxlen: argument, minid: argument, approximate: flag, limit: argument },
  (trim, path) =>
    (trim.maxlen === undefined) === (trim.minid === undefined)
      ? `${path} needs exactly one of maxlen and minid`
      : undefined,
);

/** SET's options, in the order Redis documents them. */
export function setArgs(options: SetOptions | undefined): RedisArgument[] {
  const args: RedisArgument[] = [];
  if (options === undefined) return args;
  if (options.nx === true) args.push('NX');
  if (options.xx === true) args.push('XX');
  if (options.get === true) args.push('GET');
  if (options.ex !== undefined) args.push('EX', options.ex);
  if (options.px !== undefined) args.push('PX', options.px);
  if (options.exat !== undefined) args.push('EXAT', options.exat);
  if (options.pxat !== undefined) args.push('PXAT', options.pxat);
  if (options.keepTtl === true) args.push('KEEPTTL');
  return args;
}

/** GETEX's options. */
export function getExArgs(options: GetExOptions | undefined): RedisArgument[] {
  const args: RedisArgument[] = [];
  if (options === undefined) return args;
  if (options.ex !== undefined) args.push('EX', options.ex);
  if (options.px !== undefined) args.push('PX', options.px);
  if (options.exat !== undefined) args.push('EXAT', options.exat);
  if (options.pxat !== undefined) args.push('PXAT', options.pxat);
  if (options.persist === true) args.push('PERSIST');
  return args;
}

/** `MAXLEN|MINID [=|~] threshold [LIMIT count]`. */
export function trimArgs(trim: StreamTrim): RedisArgument[] {
  const { maxlen, minid } = trim as { maxlen?: number; minid?: string };
  const exact = trim.approximate === true ? '~' : '=';
  const args: RedisArgument[] = maxlen !== undefined ? ['MAXLEN', exact, maxlen] : [];
  if (minid !== undefined) args.push('MINID', exact, minid);
  if (trim.limit !== undefined) args.push('LIMIT', trim.limit);
  return args;
}

/** `STREAMS k1 k2 ... id1 id2 ...`. */
export function streamsArgs(streams: StreamOffsets): RedisArgument[] {
  const keys: RedisArgument[] = [];
  const ids: RedisArgument[] = [];
  if (Array.isArray(streams)) {
    for (const [key, id] of streams as ReadonlyArray<readonly [RedisKey, string]>) {
      keys.push(key);
      ids.push(id);
    }
  } else {
    const record = streams as Readonly<Record<string, string>>;
    for (const key of Object.keys(record)) {
      keys.push(key);
      ids.push(record[key]);
    }
  }
  return ['STREAMS', ...keys, ...ids];
}

/** A score or score bound: infinities as Redis spells them (`+inf`, `-inf`), other values as they are. */
export function scoreArg(score: number | string): RedisArgument {
  if (score === Infinity) return '+inf';
  if (score === -Infinity) return '-inf';
  return score;
}
