import { ProtocolError } from '../errors/redis-pool.errors';
import { RedisMapEntries, textKey } from '../protocol/resp-maps';
import type { RedisReply } from '../protocol/resp.types';
import type {
  InfoSections,
  KeyedElement,
  KeyedScoredMember,
  RedisTime,
  ScoredMember,
  StreamBatch,
  StreamEntry,
  StreamGroupEntry,
  StreamPendingSummary,
} from './redis-client.types';

/*
 * Replies mapped to the same JavaScript shapes under RESP2 and RESP3: RESP3 sends maps, doubles, and pairs where
 * RESP2 sends flat arrays and bulk strings, and each transform accepts either. A RESP3 map arrives as a
 * null-prototype object, or in buffer mode as `RedisMapEntries` (keys byte-exact); map transforms accept both.
 */

/** A reply transform. */
export type Transform<T> = (reply: RedisReply) => T;

function unexpected(what: string, reply: RedisReply): ProtocolError {
  const kind = reply === null ? 'nil' : Array.isArray(reply) ? 'array' : typeof reply;
  return new ProtocolError(`Unexpected reply: expected ${what}, got ${kind}`);
}

function nullProto<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** Text of a string-ish reply (Buffers as UTF-8, numbers as written). */
export function asString(reply: RedisReply): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'number' || typeof reply === 'bigint') return String(reply);
  throw unexpected('a string', reply);
}

/** A string, or `null` for nil. */
export function asNullableString(reply: RedisReply): string | null {
  return reply === null ? null : asString(reply);
}

/** A Buffer reply (from a command sent in buffer mode), or `null` for nil. */
export function asNullableBuffer(reply: RedisReply): Buffer | null {
  if (reply === null) return null;
  return asBuffer(reply);
}

/** A Buffer (from a command sent in buffer mode). */
export function asBuffer(reply: RedisReply): Buffer {
  if (Buffer.isBuffer(reply)) return reply;
  if (typeof reply === 'string') return Buffer.from(reply);
  throw unexpected('a bulk string', reply);
}

/**
 * A counter's value (INCR, HINCRBY...) as a `number`. Beyond `Number.MAX_SAFE_INTEGER` it is never rounded:
 * the helper rejects with `RangeError` instead (the increment did happen); `executeCommand` gives the exact
 * `bigint`.
 */
export function asSafeInteger(reply: RedisReply): number {
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') {
    throw new RangeError(
      `Integer reply ${reply} is beyond Number.MAX_SAFE_INTEGER; use executeCommand() for the exact bigint`,
    );
  }
  throw unexpected('an integer', reply);
}

/** A count or other integer known to be small (lengths, TTLs, ranks). */
export function asNumber(reply: RedisReply): number {
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  return asDouble(reply);
}

/** A double: RESP3 sends a number, RESP2 a bulk string that may read `inf`, `-inf` or `nan`. */
export function asDouble(reply: RedisReply): number {
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  if (typeof reply === 'string' || Buffer.isBuffer(reply)) {
    const text = reply.toString().toLowerCase();
    if (text === 'inf' || text === '+inf') return Infinity;
    if (text === '-inf') return -Infinity;
    if (text === 'nan' || text === '-nan') return NaN;
    const value = Number(text);
    if (text !== '' && !Number.isNaN(value)) return value;
  }
  throw unexpected('a number', reply);
}

/** A double, or `null` for nil. */
export function asNullableDouble(reply: RedisReply): number | null {
  return reply === null ? null : asDouble(reply);
}

/** An integer, or `null` for nil (ZRANK of a missing member). */
export function asNullableNumber(reply: RedisReply): number | null {
  return reply === null ? null : asNumber(reply);
}

/** A 1/0 integer (or RESP3 boolean) as a boolean. */
export function asBoolean(reply: RedisReply): boolean {
  if (typeof reply === 'boolean') return reply;
  if (typeof reply === 'number') return reply !== 0;
  if (typeof reply === 'bigint') return reply !== 0n;
  if (typeof reply === 'string' || Buffer.isBuffer(reply)) return reply.toString() === '1';
  throw unexpected('an integer', reply);
}

/** The status reply `OK`. */
export function asOk(reply: RedisReply): 'OK' {
  if (asString(reply) !== 'OK') throw unexpected('OK', reply);
  return 'OK';
}

/** `'OK'`, or `null` when a condition (NX, XX) kept the command from running. */
export function asOkOrNull(reply: RedisReply): 'OK' | null {
  return reply === null ? null : asOk(reply);
}

/** An array reply (RESP3 sets included); nil reads as empty. */
export function asArray(reply: RedisReply): RedisReply[] {
  if (reply === null) return [];
  if (Array.isArray(reply)) return reply;
  throw unexpected('an array', reply);
}

/** An array of strings. */
export function asStringArray(reply: RedisReply): string[] {
  return asArray(reply).map(asString);
}

/** An array of strings, or `null` for nil (LPOP with a count on a missing key). */
export function asNullableStringArray(reply: RedisReply): string[] | null {
  return reply === null ? null : asStringArray(reply);
}

/** An array of strings and nils (MGET, HMGET). */
export function asNullableStrings(reply: RedisReply): Array<string | null> {
  return asArray(reply).map(asNullableString);
}

/** An array of Buffers and nils. */
export function asNullableBuffers(reply: RedisReply): Array<Buffer | null> {
  return asArray(reply).map(asNullableBuffer);
}

/** An array of Buffers. */
export function asBufferArray(reply: RedisReply): Buffer[] {
  return asArray(reply).map(asBuffer);
}

/** An array of Buffers, or `null` for nil. */
export function asNullableBufferArray(reply: RedisReply): Buffer[] | null {
  return reply === null ? null : asBufferArray(reply);
}

/** An array of 1/0 integers as booleans (SMISMEMBER). */
export function asBooleans(reply: RedisReply): boolean[] {
  return asArray(reply).map(asBoolean);
}

/**
 * Field/value pairs (RESP2 flat array, RESP3 map) as a null-prototype object: fields such as `__proto__` and
 * `constructor` are plain data and cannot reach any prototype. Field names are text (Buffers as UTF-8), so two
 * fields that differ only in bytes that are not valid UTF-8 become one: use `asPairsOf` where fields are binary.
 */
export function asRecordOf<V>(convert: Transform<V>): Transform<Record<string, V>> {
  return (reply) => {
    const record = nullProto<V>();
    if (reply === null) return record;
    if (reply instanceof RedisMapEntries) {
      for (const [field, value] of reply) record[asString(field)] = convert(value);
      return record;
    }
    if (Array.isArray(reply)) {
      if (reply.length % 2 !== 0) throw unexpected('field/value pairs', reply);
      for (let i = 0; i < reply.length; i += 2) record[asString(reply[i])] = convert(reply[i + 1]);
      return record;
    }
    if (typeof reply === 'object' && !Buffer.isBuffer(reply) && !(reply instanceof Error)) {
      for (const field of Object.keys(reply)) record[field] = convert(reply[field]);
      return record;
    }
    throw unexpected('a map', reply);
  };
}

/** Field/value pairs as a null-prototype `Record<string, string>`. */
export const asStringRecord: Transform<Record<string, string>> = asRecordOf(asString);

/**
 * Field/value pairs (RESP2 flat array, RESP3 map in either form) as `[field, value]` pairs in the server's order:
 * nothing is keyed by text, so binary fields stay distinct and byte-exact, and `__proto__` is plain data.
 */
export function asPairsOf<F, V>(
  field: Transform<F>,
  convert: Transform<V>,
): Transform<Array<[F, V]>> {
  return (reply) => {
    const pairs: Array<[F, V]> = [];
    if (reply === null) return pairs;
    if (reply instanceof RedisMapEntries) {
      for (const [key, value] of reply) pairs.push([field(key), convert(value)]);
      return pairs;
    }
    if (Array.isArray(reply)) {
      if (reply.length % 2 !== 0) throw unexpected('field/value pairs', reply);
      for (let i = 0; i < reply.length; i += 2)
        pairs.push([field(reply[i]), convert(reply[i + 1])]);
      return pairs;
    }
    if (typeof reply === 'object' && !Buffer.isBuffer(reply) && !(reply instanceof Error)) {
      for (const key of Object.keys(reply)) pairs.push([field(key), convert(reply[key])]);
      return pairs;
    }
    throw unexpected('a map', reply);
  };
}

/** Field/value pairs as `[Buffer, Buffer]` pairs (HGETALL in buffer mode): every field byte-exact. */
export const asBufferPairs: Transform<Array<[Buffer, Buffer]>> = asPairsOf(asBuffer, asBuffer);

/**
 * Members with scores: RESP2 sends `[m1, s1, m2, s2]`, RESP3 `[[m1, s1], [m2, s2]]` (and a lone flat pair for
 * ZPOPMIN without a count).
 */
export function asScoredMembers(reply: RedisReply): ScoredMember[] {
  const items = asArray(reply);
  const members: ScoredMember[] = [];
  if (items.length > 0 && Array.isArray(items[0])) {
    for (const pair of items) {
      const [member, score] = asArray(pair);
      members.push({ member: asString(member), score: asDouble(score) });
    }
    return members;
  }
  if (items.length % 2 !== 0) throw unexpected('member/score pairs', reply);
  for (let i = 0; i < items.length; i += 2) {
    members.push({ member: asString(items[i]), score: asDouble(items[i + 1]) });
  }
  return members;
}

/** `[key, element]` from BLPOP/BRPOP, or `null` when the block timed out. */
export function asKeyedElement(reply: RedisReply): KeyedElement | null {
  if (reply === null) return null;
  const [key, element] = asArray(reply);
  return { key: asString(key), element: asString(element) };
}

/** `[key, member, score]` from BZPOPMIN/BZPOPMAX, or `null` when the block timed out. */
export function asKeyedScoredMember(reply: RedisReply): KeyedScoredMember | null {
  if (reply === null) return null;
  const [key, member, score] = asArray(reply);
  return { key: asString(key), member: asString(member), score: asDouble(score) };
}

function asStreamEntry(reply: RedisReply): StreamGroupEntry {
  const [id, fields] = asArray(reply);
  return { id: asString(id), fields: fields === null ? null : asStringRecord(fields) };
}

/** XRANGE/XREVRANGE entries: `{ id, fields }`. */
export function asStreamEntries(reply: RedisReply): StreamEntry[] {
  return asArray(reply).map((item) => {
    const entry = asStreamEntry(item);
    return { id: entry.id, fields: entry.fields ?? nullProto<string>() };
  });
}

function asGroupEntries(reply: RedisReply): StreamGroupEntry[] {
  return asArray(reply).map(asStreamEntry);
}

/**
 * XREAD/XREADGROUP: RESP2 sends `[[key, entries], ...]`, RESP3 a map `{ key: entries }`; nil (nothing new, or the
 * block timed out) reads as an empty array.
 */
export function asStreamBatches(reply: RedisReply): Array<StreamBatch<StreamGroupEntry>> {
  if (reply === null) return [];
  if (Array.isArray(reply)) {
    return reply.map((item) => {
      const [key, entries] = asArray(item);
      return { key: asString(key), entries: asGroupEntries(entries) };
    });
  }
  if (typeof reply === 'object' && !Buffer.isBuffer(reply) && !(reply instanceof Error)) {
    return Object.keys(reply).map((key) => ({ key, entries: asGroupEntries(reply[key]) }));
  }
  throw unexpected('streams', reply);
}

/** XREAD batches: entries always have their fields. */
export function asStreamReadBatches(reply: RedisReply): Array<StreamBatch<StreamEntry>> {
  return asStreamBatches(reply).map((batch) => ({
    key: batch.key,
    entries: batch.entries.map((e) => ({ id: e.id, fields: e.fields ?? nullProto<string>() })),
  }));
}

/** XPENDING summary: `[count, minId, maxId, [[consumer, count], ...]]`. */
export function asPendingSummary(reply: RedisReply): StreamPendingSummary {
  const [count, minId, maxId, consumers] = asArray(reply);
  return {
    count: asNumber(count),
    minId: asNullableString(minId),
    maxId: asNullableString(maxId),
    consumers: asArray(consumers).map((item) => {
      const [name, pending] = asArray(item);
      return { name: asString(name), count: asNumber(pending) };
    }),
  };
}

/** TIME: `[seconds, microseconds]` as numbers. */
export function asTime(reply: RedisReply): RedisTime {
  const [seconds, microseconds] = asArray(reply);
  return { seconds: asNumber(seconds), microseconds: asNumber(microseconds) };
}

/**
 * INFO text (a RESP3 verbatim string or a RESP2 bulk string) parsed into sections: `# Server` becomes `server`,
 * each `key:value` line a field. Everything is null-prototype.
 */
export function asInfo(reply: RedisReply): InfoSections {
  const sections = nullProto<Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const raw of asString(reply).split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      current = nullProto<string>();
      sections[line.slice(1).trim().toLowerCase()] = current;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current ??= sections['default'] ??= nullProto<string>();
    current[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return sections;
}

/** A SCAN-family page: `[cursor, items]`. */
export function asScanPage(reply: RedisReply): { cursor: string; items: RedisReply[] } {
  const [cursor, items] = asArray(reply);
  return { cursor: asString(cursor), items: asArray(items) };
}

/**
 * A reply decoded in buffer mode as it would have been decoded without: every Buffer a UTF-8 string, and every
 * RESP3 map's `RedisMapEntries` a null-prototype object keyed by text (as the decoder builds it).
 */
export function buffersToStrings(reply: RedisReply): RedisReply {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (reply instanceof RedisMapEntries) {
    const map = nullProto<RedisReply>();
    for (const [key, value] of reply) map[textKey(key)] = buffersToStrings(value);
    return map;
  }
  if (Array.isArray(reply)) return reply.map(buffersToStrings);
  if (reply !== null && typeof reply === 'object' && !(reply instanceof Error)) {
    const map = nullProto<RedisReply>();
    for (const key of Object.keys(reply)) map[key] = buffersToStrings(reply[key]);
    return map;
  }
  return reply;
}
