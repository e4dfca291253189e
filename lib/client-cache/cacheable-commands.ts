import { commandFlags, READ_ONLY_FLAG } from '../connection/command-policy';
import type { RedisArgument } from '../protocol/resp.types';

/**
 * Commands whose replies may be cached: read-only, non-blocking, deterministic, and reading exactly one key,
 * their first argument (so an invalidation of that key is all that can change the reply). Left out on purpose:
 * random or time-dependent replies (RANDOMKEY, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, TIME, TTL, PTTL,
 * EXPIRETIME), cursors (SCAN family), commands over several keys (MGET, SINTER, SUNION, LCS, EXISTS k1 k2...),
 * server state (INFO, DBSIZE), scripts and SORT_RO (which may read other keys).
 */
// prettier-ignore
const CACHEABLE = new Set([
  'GET', 'GETRANGE', 'SUBSTR', 'STRLEN', 'GETBIT', 'BITCOUNT', 'BITPOS', 'BITFIELD_RO',
  'HGET', 'HGETALL', 'HMGET', 'HKEYS', 'HVALS', 'HLEN', 'HEXISTS', 'HSTRLEN',
  'LRANGE', 'LLEN', 'LINDEX', 'LPOS',
  'SMEMBERS', 'SISMEMBER', 'SMISMEMBER', 'SCARD',
  'ZRANGE', 'ZRANGEBYSCORE', 'ZRANGEBYLEX', 'ZREVRANGE', 'ZREVRANGEBYSCORE', 'ZREVRANGEBYLEX', 'ZSCORE',
  'ZMSCORE', 'ZCARD', 'ZCOUNT', 'ZLEXCOUNT', 'ZRANK', 'ZREVRANK',
  'GEOPOS', 'GEODIST', 'GEOHASH', 'GEOSEARCH',
  'XRANGE', 'XREVRANGE', 'XLEN',
  'TYPE',
]);

/** Commands that empty whole databases: every entry goes. */
const FLUSHING = new Set(['FLUSHDB', 'FLUSHALL', 'SWAPDB']);

/** Whether the reply of this command (upper-case name) may be cached. */
export function isCacheable(name: string): boolean {
  return CACHEABLE.has(name);
}

/** Whether this command may change data (anything not known to be read-only), so its keys must be dropped. */
export function mayWrite(name: string): boolean {
  return (commandFlags(name) & READ_ONLY_FLAG) === 0;
}

/** Whether this command empties whole databases. */
export function flushesAll(name: string): boolean {
  return FLUSHING.has(name);
}

/**
 * A key as invalidation pushes name it: UTF-8 text. A push's keys arrive as text or Buffers depending on the
 * reply the decoder was reading, and text decoding of bytes that are not UTF-8 is lossy; decoding both sides the
 * same way makes two distinct binary keys at worst share a name, which only invalidates more than needed.
 * `undefined` for an argument that is not text or bytes (numbers are formatted by the encoder, not here).
 */
export function keyName(arg: RedisArgument | undefined): string | undefined {
  if (typeof arg === 'string')
    return isAscii(arg) ? arg : Buffer.from(arg, 'utf8').toString('utf8');
  if (Buffer.isBuffer(arg)) return arg.toString('utf8');
  if (arg instanceof Uint8Array) {
    return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength).toString('utf8');
  }
  return undefined;
}

/** The byte length of an argument as a key, for a cheap "could this be a cached key" test. */
export function argBytes(arg: RedisArgument): number {
  if (typeof arg === 'string') return arg.length;
  if (arg instanceof Uint8Array) return arg.byteLength;
  return 0;
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[^\x00-\x7f]/.test(text);
}

/** The names of the cacheable commands, for the cache's lookup tables. */
export function cacheableNames(): Iterable<string> {
  return CACHEABLE;
}

/**
 * The arguments of a cacheable command as one lookup string, or `undefined` when one cannot be sent as it is
 * (then the command is encoded, and refused, as usual). One text argument (GET k, HGETALL k) is its own id, with
 * no string built; several are joined with a type tag and a length each, so no two argument lists share an id.
 * Ids of one argument and of several live in different tables.
 */
export function argumentsId(args: readonly RedisArgument[]): string | undefined {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  let id = '';
  for (const arg of args) {
    if (typeof arg === 'string') id += `s${arg.length}:${arg}`;
    else if (typeof arg === 'number' || typeof arg === 'bigint') {
      const text = String(arg);
      id += `n${text.length}:${text}`;
    } else if (arg instanceof Uint8Array) {
      id += `b${arg.byteLength}:${Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength).toString('latin1')}`;
    } else return undefined;
  }
  return id;
}
