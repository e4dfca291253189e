import type { RedisReply } from '../protocol/resp.types';

/**
 * Replies reshaped to what BullMQ expects from its ioredis reference adapter: strings where ioredis gives strings
 * (scores included), flat `[member, score, ...]` arrays, `[cursor, items]` pages. Each works on RESP2 and RESP3
 * replies alike, so a pool with `protocol: 3` serves BullMQ the same shapes.
 */

/** A reply as text: strings stay, numbers (RESP3 doubles, integers) print as ioredis would read them. */
export function text(reply: RedisReply): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  return String(reply);
}

/** Text, or `null` for nil. */
export function nullableText(reply: RedisReply): string | null {
  return reply === null ? null : text(reply);
}

/** An array reply (nil as empty). */
export function list(reply: RedisReply): RedisReply[] {
  return Array.isArray(reply) ? reply : [];
}

/** An array of strings. */
export function texts(reply: RedisReply): string[] {
  return list(reply).map(text);
}

/** An array of strings and nulls (HMGET). */
export function nullableTexts(reply: RedisReply): Array<string | null> {
  return list(reply).map(nullableText);
}

/** Sets `field` on a plain object; `__proto__` as a field name stays data instead of replacing the prototype. */
function put(record: Record<string, string>, field: string, value: string): void {
  if (field === '__proto__') {
    Object.defineProperty(record, field, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    record[field] = value;
  }
}

/** A hash as a plain object of strings, from RESP2's flat field/value array or RESP3's map; nil as `{}`. */
export function record(reply: RedisReply): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) put(out, text(reply[i]), text(reply[i + 1]));
  } else if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    const map = reply as Record<string, RedisReply>;
    for (const field of Object.keys(map)) put(out, field, text(map[field]));
  }
  return out;
}

/**
 * A flat array of strings: RESP3 nests `[member, score]` pairs (ZRANGE WITHSCORES) and map entries, RESP2 is
 * already flat; scores become strings either way.
 */
export function flatTexts(reply: RedisReply): string[] {
  const out: string[] = [];
  for (const item of list(reply)) {
    if (Array.isArray(item)) for (const part of item) out.push(text(part));
    else out.push(text(item));
  }
  return out;
}

/** A SCAN-family page as `[cursor, items]`, items flattened to strings (HSCAN's field/value pairs included). */
export function scanPage(reply: RedisReply): [string, string[]] {
  const [cursor, items] = list(reply);
  return [text(cursor ?? '0'), flatTexts(items ?? null)];
}

/** BZPOPMIN's `[key, member, score]` with the score as a string, or `null` on timeout. */
export function poppedMember(
  reply: RedisReply,
): [key: string, member: string, score: string] | null {
  if (!Array.isArray(reply) || reply.length < 3) return null;
  return [text(reply[0]), text(reply[1]), text(reply[2])];
}

/** One stream entry as ioredis gives it: `[id, [field, value, ...]]`. */
export type StreamEntryTuple = [id: string, fields: string[]];

/** XREAD's reply as ioredis gives it: `[[stream, [[id, [field, value, ...]], ...]], ...]`, or `null`. */
export type StreamReadReply = Array<[stream: string, entries: StreamEntryTuple[]]> | null;

function entries(reply: RedisReply): StreamEntryTuple[] {
  return list(reply).map((entry) => {
    const [id, fields] = list(entry);
    return [text(id), flatTexts(fields ?? null)];
  });
}

/** XREAD/XREVRANGE replies reshaped (see `StreamReadReply`), from RESP2 arrays or RESP3's map of streams. */
export function streamRead(reply: RedisReply): StreamReadReply {
  if (reply === null) return null;
  if (Array.isArray(reply)) {
    return reply.map((stream) => {
      const [name, items] = list(stream);
      return [text(name), entries(items ?? null)];
    });
  }
  if (typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    const map = reply as Record<string, RedisReply>;
    return Object.keys(map).map((name) => [name, entries(map[name])]);
  }
  return null;
}

/** XRANGE/XREVRANGE entries, reshaped as in `StreamReadReply`. */
export function streamEntries(reply: RedisReply): StreamEntryTuple[] {
  return entries(reply);
}
