import type { RedisArgument } from '../protocol/resp.types';

/**
 * Argument vectors for the commands `IRedisClient` declares with structured options, built the way BullMQ's
 * ioredis reference adapter builds them. The ioredis varargs forms (`set(k, v, 'PX', 10)`, `hset(k, f, v)`) are
 * accepted too, as that adapter accepts them.
 */

/**
 * A value as ioredis would send it: strings, finite numbers, bigints and bytes as they are, `undefined` and `null`
 * as `''` (keeping every argument's position), anything else (booleans, `NaN`, objects) as `String(value)`.
 */
export function argument(value: unknown): RedisArgument {
  switch (typeof value) {
    case 'string':
    case 'bigint':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'undefined':
      return '';
    default:
      if (value === null) return '';
      if (value instanceof Uint8Array) return value;
      return String(value);
  }
}

/** Arguments flattened one level (ioredis accepts `del([a, b])` as `del(a, b)`), each made an `argument`. */
export function flatArguments(values: readonly unknown[]): RedisArgument[] {
  const out: RedisArgument[] = [];
  for (const value of values) {
    if (Array.isArray(value)) for (const item of value) out.push(argument(item));
    else out.push(argument(value));
  }
  return out;
}

/** `field value ...` of a field→value record, appended to `out`. */
export function hashFields(data: Record<string, unknown>, out: RedisArgument[]): RedisArgument[] {
  for (const field of Object.keys(data)) out.push(field, argument(data[field]));
  return out;
}

/** HSET's arguments from `hset(key, { field: value })` or ioredis's `hset(key, field, value, ...)`. */
export function hsetArguments(
  key: string,
  data: unknown,
  rest: readonly unknown[],
): RedisArgument[] {
  if (data !== null && typeof data === 'object' && !(data instanceof Uint8Array)) {
    return hashFields(data as Record<string, unknown>, [key]);
  }
  return [key, argument(data), ...flatArguments(rest)];
}

/** SET's arguments from `set(key, value, { PX } | { EX })` or ioredis's `set(key, value, 'PX', 100, ...)`. */
export function setArguments(
  key: string,
  value: unknown,
  options: unknown,
  rest: readonly unknown[],
): RedisArgument[] {
  const args: RedisArgument[] = [key, argument(value)];
  if (options === undefined || options === null) return args;
  if (typeof options !== 'object') return [...args, argument(options), ...flatArguments(rest)];
  const { PX, EX } = options as { PX?: number; EX?: number };
  if (PX !== undefined && PX !== null) args.push('PX', PX);
  else if (EX !== undefined && EX !== null) args.push('EX', EX);
  return args;
}

/** `key cursor [COUNT n]` for HSCAN/SSCAN. */
export function scanArguments(
  key: string,
  cursor: string | number,
  options?: { COUNT?: number },
): RedisArgument[] {
  const args: RedisArgument[] = [key, String(cursor)];
  if (options?.COUNT !== undefined && options.COUNT !== null) args.push('COUNT', options.COUNT);
  return args;
}

/** `cursor [MATCH pattern] [COUNT n]` for SCAN. */
export function keyScanArguments(
  cursor: string | number,
  options?: { MATCH?: string; COUNT?: number },
): RedisArgument[] {
  const args: RedisArgument[] = [String(cursor)];
  if (options?.MATCH !== undefined && options.MATCH !== null) args.push('MATCH', options.MATCH);
  if (options?.COUNT !== undefined && options.COUNT !== null) args.push('COUNT', options.COUNT);
  return args;
}

/** XADD's `key [MAXLEN [~] n] id field value ...`; trimming is approximate unless `approximate: false`. */
export function xaddArguments(
  key: string,
  id: string,
  fields: Record<string, unknown>,
  options?: { MAXLEN?: number; approximate?: boolean },
): RedisArgument[] {
  const args: RedisArgument[] = [key];
  if (options?.MAXLEN !== undefined && options.MAXLEN !== null) {
    args.push('MAXLEN');
    if (options.approximate !== false) args.push('~');
    args.push(options.MAXLEN);
  }
  args.push(id);
  return hashFields(fields, args);
}

/** XREAD's `[BLOCK ms] [COUNT n] STREAMS key... id...`. */
export function xreadArguments(
  streams: ReadonlyArray<{ key: string; id: string }>,
  options?: { BLOCK?: number; COUNT?: number },
): RedisArgument[] {
  const args: RedisArgument[] = [];
  if (options?.BLOCK !== undefined && options.BLOCK !== null) args.push('BLOCK', options.BLOCK);
  if (options?.COUNT !== undefined && options.COUNT !== null) args.push('COUNT', options.COUNT);
  args.push('STREAMS');
  for (const stream of streams) args.push(stream.key);
  for (const stream of streams) args.push(stream.id);
  return args;
}

/** XTRIM's `key strategy [~] threshold`; approximate when options are given without `approximate: false`. */
export function xtrimArguments(
  key: string,
  strategy: string,
  threshold: number,
  options?: { approximate?: boolean },
): RedisArgument[] {
  const args: RedisArgument[] = [key, strategy];
  if (options !== undefined && options !== null && options.approximate !== false) args.push('~');
  args.push(threshold);
  return args;
}
