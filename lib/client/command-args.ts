import type { RedisArgument } from '../protocol/resp.types';
import type {
  FieldValues,
  GetExOptions,
  RedisKey,
  SetOptions,
  StreamOffsets,
  StreamTrim,
} from './redis-client.types';

/** One key or several, as a list. */
export function keyList(keys: RedisKey | readonly RedisKey[]): RedisKey[] {
  return typeof keys === 'string' || Buffer.isBuffer(keys) ? [keys] : [...keys];
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
  const args: RedisArgument[] =
    'maxlen' in trim ? ['MAXLEN', trim.approximate === true ? '~' : '=', trim.maxlen] : [];
  if ('minid' in trim) args.push('MINID', trim.approximate === true ? '~' : '=', trim.minid);
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
