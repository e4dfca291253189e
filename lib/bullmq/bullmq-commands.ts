import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import {
  flatArguments,
  hsetArguments,
  keyScanArguments,
  setArguments,
  xaddArguments,
  xreadArguments,
  xtrimArguments,
} from './command-arguments';
import {
  flatTexts,
  nullableText,
  nullableTexts,
  poppedMember,
  record,
  scanPage,
  streamEntries,
  streamRead,
  text,
  texts,
  type StreamEntryTuple,
  type StreamReadReply,
} from './reply-shapes';

function count(reply: RedisReply): number {
  return Number(reply);
}

function nullableCount(reply: RedisReply): number | null {
  return reply === null ? null : Number(reply);
}

/**
 * The command methods of BullMQ's `IRedisClient`, with the reply shapes of its ioredis reference adapter, plus
 * the few commands BullMQ's tests and tools call on a client beyond the interface (the same extras as BullMQ's
 * node-redis adapter, and `call()` for anything else). Subclasses decide where each kind of command runs.
 */
export abstract class BullMqCommands extends EventEmitter {
  /** A non-blocking command: on the pool's shared, multiplexed connections. */
  protected abstract send(command: string, args: RedisArgument[]): Promise<RedisReply>;

  /** A blocking command on `key`: on an exclusive lease, never on a shared connection. */
  protected abstract sendBlocking(
    command: string,
    args: RedisArgument[],
    key: string,
  ): Promise<RedisReply>;

  /** A command about the client's own connection (CLIENT SETNAME, CLIENT INFO). */
  protected abstract sendOwn(command: string, args: RedisArgument[]): Promise<RedisReply>;

  /** SCAN pages as a stream (see `BullMqClient.scanStream`). */
  abstract scanStream(options: { match: string; count?: number }): Readable;

  // --- hashes -----------------------------------------------------------------------------------------------

  /** HGETALL as a plain object of strings (`{}` for a missing key). */
  hgetall(key: string): Promise<Record<string, string>> {
    return this.send('HGETALL', [key]).then(record);
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.send('HGET', [key, field]).then(nullableText);
  }

  hmget(key: string, ...fields: Array<string | string[]>): Promise<Array<string | null>> {
    return this.send('HMGET', [key, ...flatArguments(fields)]).then(nullableTexts);
  }

  /** HSET from a field→value record (numbers are sent as their decimal text), or ioredis's `(key, f, v, ...)`. */
  hset(key: string, data: Record<string, string | number>): Promise<number>;
  hset(
    key: string,
    field: string,
    value: string | number,
    ...rest: Array<string | number>
  ): Promise<number>;
  hset(key: string, data: unknown, ...rest: unknown[]): Promise<number> {
    return this.send('HSET', hsetArguments(key, data, rest)).then(count);
  }

  hdel(key: string, ...fields: Array<string | string[]>): Promise<number> {
    return this.send('HDEL', [key, ...flatArguments(fields)]).then(count);
  }

  /** HEXISTS as `1` or `0`. */
  hexists(key: string, field: string): Promise<number> {
    return this.send('HEXISTS', [key, field]).then(count);
  }

  // --- strings and keys ---------------------------------------------------------------------------------------

  get(key: string): Promise<string | null> {
    return this.send('GET', [key]).then(nullableText);
  }

  /** SET with `{ PX }` or `{ EX }` (or ioredis's `'PX', ms` varargs): `'OK'`, or `null` when NX/XX refused. */
  set(
    key: string,
    value: string | number,
    options?: { PX?: number; EX?: number },
  ): Promise<string | null>;
  set(
    key: string,
    value: string | number,
    ...modifiers: Array<string | number>
  ): Promise<string | null>;
  set(key: string, value: unknown, options?: unknown, ...rest: unknown[]): Promise<string | null> {
    return this.send('SET', setArguments(key, value, options, rest)).then(nullableText);
  }

  /** DEL; resolves `0` without a round trip when given no keys. */
  del(...keys: Array<string | string[]>): Promise<number> {
    const args = flatArguments(keys);
    if (args.length === 0) return Promise.resolve(0);
    return this.send('DEL', args).then(count);
  }

  exists(...keys: Array<string | string[]>): Promise<number> {
    const args = flatArguments(keys);
    if (args.length === 0) return Promise.resolve(0);
    return this.send('EXISTS', args).then(count);
  }

  /** KEYS (every key matching `pattern` on the node it runs on; tests and tools only). */
  keys(pattern: string): Promise<string[]> {
    return this.send('KEYS', [pattern]).then(texts);
  }

  incr(key: string): Promise<number> {
    return this.send('INCR', [key]).then(count);
  }

  incrby(key: string, increment: number): Promise<number> {
    return this.send('INCRBY', [key, increment]).then(count);
  }

  // --- sorted sets --------------------------------------------------------------------------------------------

  /** ZRANGE by index; with `{ WITHSCORES: true }` a flat `[member, score, ...]` of strings. */
  zrange(
    key: string,
    start: number,
    end: number,
    options?: { WITHSCORES?: boolean },
  ): Promise<string[]> {
    return this.range('ZRANGE', key, start, end, options);
  }

  /** ZREVRANGE, shaped as `zrange`. */
  zrevrange(
    key: string,
    start: number,
    end: number,
    options?: { WITHSCORES?: boolean },
  ): Promise<string[]> {
    return this.range('ZREVRANGE', key, start, end, options);
  }

  zcard(key: string): Promise<number> {
    return this.send('ZCARD', [key]).then(count);
  }

  /** ZSCORE as a string (as ioredis gives it), `null` for a missing member. */
  zscore(key: string, member: string): Promise<string | null> {
    return this.send('ZSCORE', [key, member]).then(nullableText);
  }

  /** ZADD with ioredis's `(key, score, member, score, member, ...)`. */
  zadd(key: string, ...scoresAndMembers: Array<string | number>): Promise<number> {
    return this.send('ZADD', [key, ...flatArguments(scoresAndMembers)]).then(count);
  }

  zrem(key: string, ...members: Array<string | string[]>): Promise<number> {
    return this.send('ZREM', [key, ...flatArguments(members)]).then(count);
  }

  /**
   * BZPOPMIN as `[key, member, score]` (score a string), or `null` when `timeout` seconds passed. Runs on an
   * exclusive lease: this client's own after `duplicate()`, a lease for the call on the base client.
   */
  bzpopmin(
    key: string,
    timeout: number,
  ): Promise<[key: string, member: string, score: string] | null> {
    return this.sendBlocking('BZPOPMIN', [key, timeout], key).then(poppedMember);
  }

  // --- lists and sets -----------------------------------------------------------------------------------------

  lrange(key: string, start: number, end: number): Promise<string[]> {
    return this.send('LRANGE', [key, start, end]).then(texts);
  }

  llen(key: string): Promise<number> {
    return this.send('LLEN', [key]).then(count);
  }

  ltrim(key: string, start: number, end: number): Promise<string> {
    return this.send('LTRIM', [key, start, end]).then(text);
  }

  /** LPOS: the index of `value`, or `null`. */
  lpos(key: string, value: string): Promise<number | null> {
    return this.send('LPOS', [key, value]).then(nullableCount);
  }

  lpush(key: string, ...values: Array<string | number | Array<string | number>>): Promise<number> {
    return this.send('LPUSH', [key, ...flatArguments(values)]).then(count);
  }

  rpop(key: string): Promise<string | null> {
    return this.send('RPOP', [key]).then(nullableText);
  }

  smembers(key: string): Promise<string[]> {
    return this.send('SMEMBERS', [key]).then(texts);
  }

  sadd(key: string, ...members: Array<string | number | Array<string | number>>): Promise<number> {
    return this.send('SADD', [key, ...flatArguments(members)]).then(count);
  }

  scard(key: string): Promise<number> {
    return this.send('SCARD', [key]).then(count);
  }

  // --- streams ------------------------------------------------------------------------------------------------

  /** XADD `fields` (numbers sent as text), trimming to `MAXLEN` (approximately unless `approximate: false`). */
  xadd(
    key: string,
    id: string,
    fields: Record<string, string | number>,
    options?: { MAXLEN?: number; approximate?: boolean },
  ): Promise<string> {
    return this.send('XADD', xaddArguments(key, id, fields, options)).then(text);
  }

  /**
   * XREAD in ioredis's shape (`[[stream, [[id, [field, value, ...]], ...]], ...]`), `null` when nothing came.
   * With `BLOCK` it runs on an exclusive lease, like `bzpopmin`.
   */
  xread(
    streams: Array<{ key: string; id: string }>,
    options?: { BLOCK?: number; COUNT?: number },
  ): Promise<StreamReadReply> {
    const args = xreadArguments(streams, options);
    const reply =
      options?.BLOCK !== undefined && options.BLOCK !== null
        ? this.sendBlocking('XREAD', args, streams[0]?.key ?? '')
        : this.send('XREAD', args);
    return reply.then(streamRead);
  }

  /** XTRIM by `MAXLEN`, approximate when options are given without `approximate: false`. */
  xtrim(
    key: string,
    strategy: 'MAXLEN',
    threshold: number,
    options?: { approximate?: boolean },
  ): Promise<number> {
    return this.send('XTRIM', xtrimArguments(key, strategy, threshold, options)).then(count);
  }

  xlen(key: string): Promise<number> {
    return this.send('XLEN', [key]).then(count);
  }

  /** XREVRANGE with ioredis's `(key, end, start, 'COUNT', n)`, entries as `[id, [field, value, ...]]`. */
  xrevrange(
    key: string,
    end: string,
    start: string,
    ...rest: Array<string | number>
  ): Promise<StreamEntryTuple[]> {
    return this.send('XREVRANGE', [key, end, start, ...flatArguments(rest)]).then(streamEntries);
  }

  // --- server -------------------------------------------------------------------------------------------------

  /** INFO (all default sections, or `section`) as text. */
  info(section?: string): Promise<string> {
    return this.send('INFO', section === undefined ? [] : [section]).then(text);
  }

  /** CLIENT SETNAME on this client's own connection (a `duplicate()`'s lease; see `BullMqClient`). */
  clientSetName(name: string): Promise<string> {
    return this.sendOwn('CLIENT', ['SETNAME', name]).then(text);
  }

  clientList(): Promise<string> {
    return this.send('CLIENT', ['LIST']).then(text);
  }

  /** CLIENT INFO of this client's own connection (any shared connection on the base client). */
  clientInfo(): Promise<string> {
    return this.sendOwn('CLIENT', ['INFO']).then(text);
  }

  /** CONFIG with ioredis's varargs (`config('SET', 'maxmemory-policy', 'noeviction')`). */
  config(...args: Array<string | number>): Promise<unknown> {
    return this.send('CONFIG', flatArguments(args)).then(flatOrText);
  }

  /** FLUSHALL (tests only: it empties every db of the server). */
  flushall(): Promise<string> {
    return this.send('FLUSHALL', []).then(text);
  }

  /** One SCAN step: `[nextCursor, keys]`, the cursor a string. */
  scan(
    cursor: string | number,
    options?: { MATCH?: string; COUNT?: number },
  ): Promise<[string, string[]]> {
    return this.send('SCAN', keyScanArguments(cursor, options)).then(scanPage);
  }

  /**
   * Any other command, on the shared path, with the reply as decoded (`RedisReply`); the escape hatch ioredis
   * calls `call()`. Blocking and connection-state commands are refused there (`CommandNotAllowedError`).
   */
  call(command: string, ...args: unknown[]): Promise<RedisReply> {
    return this.send(command, flatArguments(args));
  }

  private range(
    command: string,
    key: string,
    start: number,
    end: number,
    options?: { WITHSCORES?: boolean },
  ): Promise<string[]> {
    if (options?.WITHSCORES === true) {
      return this.send(command, [key, start, end, 'WITHSCORES']).then(flatTexts);
    }
    return this.send(command, [key, start, end]).then(texts);
  }
}

/** CONFIG GET's pairs flattened to strings (RESP3 gives a map), other replies as text. */
function flatOrText(reply: RedisReply): unknown {
  if (Array.isArray(reply)) return flatTexts(reply);
  if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    return Object.entries(record(reply)).flat();
  }
  return reply === null ? null : text(reply);
}
