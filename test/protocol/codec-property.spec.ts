import fc from 'fast-check';
import { buffersToStrings } from '../../lib/client/reply-transforms';
import { ProtocolError } from '../../lib/errors/redis-pool.errors';
import { EAGER_BULK_BYTES, GROWING_BULK_START_BYTES } from '../../lib/protocol/bulk-buffer';
import type { RespDecoder } from '../../lib/protocol/resp-decoder';
import type { DecoderLimits, RedisReply } from '../../lib/protocol/resp.types';
import { collectingDecoder, describeReply, splitAt, type Decoded } from './decode-helpers';
import { frames, serialize } from './frame-arbitrary';
import { mutatedStream, mutation } from './frame-mutations';
import { feedThroughReader } from './reader-feed';

/*
 * Grammar-aware properties of the decoder. Valid RESP2/RESP3 streams decode to what was encoded under every way
 * of cutting them; streams broken by targeted mutations at any depth (type bytes, lengths, CRLFs, bodies,
 * truncation, huge lengths, deep nesting) decode the same under every way of cutting them too, up to at most
 * one ProtocolError, and never throw anything else, hang, or set aside memory the bytes did not pay for.
 */

/** What a decoder made of a stream, comparable across ways of feeding it. */
interface Outcome {
  replies: unknown[];
  pushes: unknown[];
  attributes: unknown[];
  errors: string[];
  busy: boolean;
  /** Whether the memory set aside for a bulk ever exceeded what the bytes received allow. */
  overspent: boolean;
}

/** Limits small enough for mutated streams to run into each of them. */
const SMALL_LIMITS: DecoderLimits = {
  maxDepth: 6,
  maxAggregateLength: 5,
  maxBulkLength: 100,
  maxLineLength: 60,
};

/** The most a decoder may have set aside for a bulk once `received` bytes of the stream arrived. */
const allowed = (received: number) =>
  Math.max(EAGER_BULK_BYTES, GROWING_BULK_START_BYTES, 2 * (received + 64 * 1024));

/** How a stream is decoded: limits, buffer mode, and whether buffer mode is pictured as text mode would be. */
interface Mode {
  limits?: DecoderLimits;
  buffers: boolean;
  /** Picture Buffer-mode replies through `buffersToStrings`, so both modes share one expectation. */
  asText?: boolean;
}

function outcomeOf(out: Decoded, decoder: RespDecoder, mode: Mode, overspent: boolean): Outcome {
  for (const error of out.errors) expect(error).toBeInstanceOf(ProtocolError);
  const picture = (reply: RedisReply) =>
    describeReply(mode.buffers && mode.asText ? buffersToStrings(reply) : reply);
  return {
    replies: out.replies.map(picture),
    pushes: out.pushes.map(picture),
    attributes: out.attributes.map(picture),
    errors: out.errors.map((e) => e.message),
    busy: decoder.busy,
    overspent,
  };
}

/** Feeds chunks with `write()`, checking the memory bound after each. */
function writeChunks(chunks: Buffer[], mode: Mode): Outcome {
  const { decoder, out } = collectingDecoder(mode.limits, mode.buffers);
  let received = 0;
  let overspent = false;
  for (const chunk of chunks) {
    decoder.write(chunk);
    received += chunk.length;
    overspent ||= decoder.bulkCapacity > allowed(received);
  }
  return outcomeOf(out, decoder, mode, overspent);
}

/** Every way of feeding the stream: whole, byte by byte (when short), split at random, and by socket reads. */
function everyWay(
  bytes: Buffer,
  cuts: number[],
  readSizes: number[],
  mode: Mode,
): Array<[string, Outcome]> {
  const ways: Array<[string, Outcome]> = [['whole', writeChunks([bytes], mode)]];
  if (bytes.length <= 4096) {
    const single = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    ways.push(['byte by byte', writeChunks(single, mode)]);
  }
  const offsets = cuts.map((c) => c % Math.max(1, bytes.length));
  ways.push([`split at ${offsets.join(',')}`, writeChunks(splitAt(bytes, offsets), mode)]);
  let overspent = false;
  const checkMemory = (decoder: RespDecoder, received: number) => {
    overspent ||= decoder.bulkCapacity > allowed(received);
  };
  const fed = feedThroughReader(bytes, readSizes, mode.buffers, checkMemory, mode.limits, 4096);
  ways.push([`reads of ${readSizes.join(',')}`, outcomeOf(fed, fed.decoder, mode, overspent)]);
  return ways;
}

/**
 * Where a stream fed byte by byte fails: the index of the byte that raised the error (-1 when none did), whether
 * a reply was partly decoded when it came, and how many replies and pushes were delivered before it.
 */
function firstError(
  bytes: Buffer,
  mode: Mode,
): { at: number; insideReply: boolean; before: number } {
  const { decoder, out } = collectingDecoder(mode.limits, mode.buffers);
  for (let i = 0; i < bytes.length; i++) {
    const busy = decoder.busy;
    decoder.write(bytes.subarray(i, i + 1));
    if (out.errors.length > 0) {
      return { at: i, insideReply: busy, before: out.replies.length + out.pushes.length };
    }
  }
  return { at: -1, insideReply: false, before: 0 };
}

const cuts = fc.array(fc.nat(), { maxLength: 8 });
const readSizes = fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 });

describe('RespDecoder properties', () => {
  it('decodes valid streams to what was encoded, in both modes, however they are cut', () => {
    fc.assert(
      fc.property(frames, cuts, readSizes, fc.boolean(), (stream, c, r, buffers) => {
        const expected: Outcome = {
          replies: stream.replies,
          pushes: stream.pushes,
          attributes: stream.attributes,
          errors: [],
          busy: false,
          overspent: false,
        };
        for (const [how, outcome] of everyWay(serialize(stream.tokens), c, r, {
          buffers,
          asText: true,
        })) {
          expect({ how, ...outcome }).toEqual({ how, ...expected });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decodes mutated streams the same however they are cut, up to one ProtocolError', () => {
    const stats = {
      cases: 0,
      pastFirstLine: 0,
      clean: 0,
      insideReply: 0,
      afterAReply: 0,
      messages: new Set<string>(),
    };
    fc.assert(
      fc.property(
        frames,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        cuts,
        readSizes,
        fc.boolean(),
        fc.boolean(),
        (stream, mutations, c, r, buffers, small) => {
          const bytes = mutatedStream(stream.tokens, mutations);
          const started = Date.now();
          const mode = { limits: small ? SMALL_LIMITS : undefined, buffers };
          const ways = everyWay(bytes, c, r, mode);
          expect(Date.now() - started).toBeLessThan(5000);
          const [, whole] = ways[0];
          expect(whole.errors.length).toBeLessThanOrEqual(1);
          expect(whole.overspent).toBe(false);
          for (const [how, outcome] of ways) expect({ how, ...outcome }).toEqual({ how, ...whole });
          // Where did it fail? Fed byte by byte, the error comes with the byte that makes the stream invalid.
          stats.cases++;
          const failed = firstError(bytes, mode);
          expect(failed.at === -1).toBe(whole.errors.length === 0);
          // The decoder reads a type byte only once its line is whole: failing "at the first byte" means failing
          // at the end of the first line, where random bytes nearly always fail.
          if (failed.at === -1 || failed.at > bytes.indexOf(0x0a)) stats.pastFirstLine++;
          if (failed.at === -1) stats.clean++;
          if (failed.insideReply) stats.insideReply++;
          if (failed.before > 0) stats.afterAReply++;
          for (const message of whole.errors)
            stats.messages.add(message.replace(/0x[0-9a-f]{2}|\d+/g, 'N'));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 700) },
    );
    if (process.env.FUZZ_STATS) {
      process.stdout.write(
        `codec fuzz: ${JSON.stringify({ ...stats, messages: [...stats.messages] })}\n`,
      );
    }
    // Most cases get well past the first byte, and many fail deep inside a reply.
    expect(stats.pastFirstLine / stats.cases).toBeGreaterThan(0.8);
    expect(stats.insideReply / stats.cases).toBeGreaterThan(0.3);
    expect(stats.afterAReply / stats.cases).toBeGreaterThan(0.15);
    expect(stats.clean / stats.cases).toBeGreaterThan(0.05);
    expect(stats.messages.size).toBeGreaterThan(15);
  });
});
