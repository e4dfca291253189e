import { ResponseError } from '../errors/redis-pool.errors';
import { RedisMapEntries } from '../protocol/resp-maps';
import type { RedisMap, RedisReply } from '../protocol/resp.types';

/** Bytes counted for a number, boolean, null or an element of an aggregate. */
const SLOT_BYTES = 8;

/**
 * A deep copy of a reply, so the cached value and what each caller receives never share anything mutable:
 * strings and numbers are immutable and returned as they are (a cached GET costs no copy), Buffers, arrays and
 * maps are copied. `undefined` when the reply holds something that is not plain data (an error in place).
 */
export function copyReply(value: RedisReply): RedisReply | undefined {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof ResponseError) return undefined;
  if (Array.isArray(value)) {
    const copy: RedisReply[] = value instanceof RedisMapEntries ? new RedisMapEntries() : [];
    for (const item of value) {
      const element = copyReply(item);
      if (element === undefined) return undefined;
      copy.push(element);
    }
    return copy;
  }
  const copy = Object.create(null) as RedisMap;
  for (const field of Object.keys(value)) {
    const element = copyReply(value[field]);
    if (element === undefined) return undefined;
    copy[field] = element;
  }
  return copy;
}

/** The approximate memory of a reply, as `maxBytes` counts it. */
export function replyBytes(value: RedisReply): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object') return SLOT_BYTES;
  if (Buffer.isBuffer(value)) return value.length;
  let total = SLOT_BYTES;
  if (Array.isArray(value)) {
    for (const item of value) total += SLOT_BYTES + replyBytes(item);
    return total;
  }
  for (const field of Object.keys(value)) {
    total += SLOT_BYTES + field.length + replyBytes((value as RedisMap)[field]);
  }
  return total;
}
