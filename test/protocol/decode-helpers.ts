import { ProtocolError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { RespDecoder } from '../../lib/protocol/resp-decoder';
import { RedisMapEntries } from '../../lib/protocol/resp-maps';
import type { DecoderLimits, RedisMap, RedisReply } from '../../lib/protocol/resp.types';

/** Everything a decoder produced from one stream. */
export interface Decoded {
  replies: RedisReply[];
  pushes: RedisReply[][];
  attributes: RedisMap[];
  errors: ProtocolError[];
}

/** A fresh decoder, and what it has produced so far. */
export function collectingDecoder(
  limits?: DecoderLimits,
  returnBuffers = false,
): { decoder: RespDecoder; out: Decoded } {
  const out: Decoded = { replies: [], pushes: [], attributes: [], errors: [] };
  const decoder = new RespDecoder(
    {
      onReply: (reply) => out.replies.push(reply),
      onPush: (push) => out.pushes.push(push),
      onAttribute: (attribute) => out.attributes.push(attribute),
      onError: (error) => out.errors.push(error),
    },
    limits,
  );
  decoder.returnBuffers = returnBuffers;
  return { decoder, out };
}

/** Feeds the chunks to a fresh decoder and collects what comes out. */
export function decodeChunks(
  chunks: Buffer[],
  limits?: DecoderLimits,
  returnBuffers = false,
): Decoded {
  const { decoder, out } = collectingDecoder(limits, returnBuffers);
  for (const chunk of chunks) decoder.write(chunk);
  return out;
}

/** The stream whole, byte by byte, and split in two at every boundary. */
export function* splitsOf(bytes: Buffer): Generator<{ how: string; chunks: Buffer[] }> {
  yield { how: 'whole', chunks: [bytes] };
  yield {
    how: 'byte by byte',
    chunks: Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)),
  };
  for (let i = 1; i < bytes.length; i++) {
    yield { how: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] };
  }
}

/** Splits the stream at the given offsets. */
export function splitAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(last, cut));
    last = cut;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
}

/**
 * A comparable picture of a reply: errors become `{ error }`, maps `{ map }` (and must have a null prototype),
 * buffer-mode maps `{ entries }`, Buffers `{ buffer }`. Iterative, so deep replies do not overflow the test's own stack either.
 */
export function describeReply(reply: RedisReply): unknown {
  if (reply instanceof ResponseError) return { error: reply.message, code: reply.code };
  if (Buffer.isBuffer(reply)) return { buffer: reply.toString('hex') };
  if (reply instanceof RedisMapEntries) {
    return { entries: reply.map(([k, v]) => [describeReply(k), describeReply(v)]) };
  }
  if (Array.isArray(reply)) return reply.map(describeReply);
  if (reply !== null && typeof reply === 'object') {
    if (Object.getPrototypeOf(reply) !== null) throw new Error('map without a null prototype');
    return { map: Object.entries(reply).map(([k, v]) => [k, describeReply(v)]) };
  }
  return reply;
}
