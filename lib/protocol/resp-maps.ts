import { ProtocolError } from '../errors/redis-pool.errors';
import type { RedisMap, RedisReply } from './resp.types';

/**
 * A RESP3 map (`%`) decoded in buffer mode: its `[key, value]` pairs in the order the server sent them, each key
 * exactly as decoded (a `Buffer` for a string key), so keys that differ only in bytes that are not valid UTF-8
 * (`0xff` and `0xfe`, say) stay distinct and byte-exact. An object keyed by text could not keep them apart.
 *
 * It is an `Array` (so `for (const [key, value] of entries)` and `new Map(entries)` work); test for it with
 * `instanceof RedisMapEntries` to tell a map from an array of pairs. Arrays derived from it (`map`, `filter`,
 * `slice`) are plain arrays. Outside buffer mode, maps are null-prototype objects (`RedisMap`).
 */
export class RedisMapEntries extends Array<[RedisReply, RedisReply]> {}

// Derived arrays are ordinary arrays: what `map()` returns is no longer a map's entries.
Object.defineProperty(RedisMapEntries, Symbol.species, { value: Array });

/**
 * A map key as text: strings as they are, Buffers as UTF-8, other scalars (and errors) as `String()` writes
 * them. An aggregate key (RESP3 allows one; Redis never sends one) has no faithful text, and a map as a key cannot
 * even be converted: it is a `ProtocolError` here, and arrives intact in buffer mode's `RedisMapEntries`.
 */
export function textKey(key: RedisReply): string {
  if (typeof key === 'string') return key;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  if (typeof key === 'object' && key !== null && !(key instanceof Error)) {
    throw new ProtocolError(
      'Malformed reply: an aggregate as a map key; read such maps in buffer mode',
    );
  }
  return String(key);
}

/**
 * A map from its keys and values in wire order (`[k1, v1, k2, v2...]`): a null-prototype object keyed by text
 * (so `__proto__` is plain data; a later duplicate key wins), or with `keepKeys` the `RedisMapEntries` that keeps
 * every key as it was decoded.
 */
export function mapOf(items: RedisReply[], keepKeys: boolean): RedisMap | RedisMapEntries {
  if (items.length % 2 !== 0)
    throw new ProtocolError('Malformed reply: map with a key but no value');
  if (keepKeys) {
    const entries = new RedisMapEntries();
    for (let i = 0; i < items.length; i += 2) entries.push([items[i], items[i + 1]]);
    return entries;
  }
  const map = Object.create(null) as RedisMap;
  for (let i = 0; i < items.length; i += 2) map[textKey(items[i])] = items[i + 1];
  return map;
}
