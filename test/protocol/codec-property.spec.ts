import fc from 'fast-check';
import { decodeChunks, describeReply, splitAt } from './decode-helpers';
import { wireReply } from './reply-arbitrary';

/**
 * Map entries in key order: a decoded map is a JavaScript object, which lists integer-like keys ("0") before
 * the others whatever order they arrived in, so only the set of entries is comparable.
 */
function sortMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortMaps);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).map(([key, inner]) => [key, sortMaps(inner)] as const);
  const map = (value as { map?: unknown }).map;
  if (Array.isArray(map)) {
    const sorted = (map as Array<[string, unknown]>)
      .map(([key, inner]) => [key, sortMaps(inner)] as [string, unknown])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { ...Object.fromEntries(entries), map: sorted };
  }
  return Object.fromEntries(entries);
}

describe('RespDecoder properties', () => {
  it('decodes random reply trees back to what was encoded, under random chunking', () => {
    fc.assert(
      fc.property(
        fc.array(wireReply, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (replies, cuts) => {
          const bytes = Buffer.from(replies.map((r) => r.wire).join(''));
          const chunks = splitAt(
            bytes,
            cuts.map((c) => c % Math.max(1, bytes.length)),
          );
          const out = decodeChunks(chunks);
          expect(out.errors).toEqual([]);
          expect(sortMaps(out.replies.map(describeReply))).toEqual(
            sortMaps(replies.map((r) => r.expected)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes every stream the same fed whole and byte by byte', () => {
    fc.assert(
      fc.property(wireReply, (reply) => {
        const bytes = Buffer.from(reply.wire);
        const whole = decodeChunks([bytes]);
        const byByte = decodeChunks(Array.from(bytes, (b) => Buffer.from([b])));
        expect(byByte.replies.map(describeReply)).toEqual(whole.replies.map(describeReply));
        expect(byByte.attributes.map(describeReply)).toEqual(whole.attributes.map(describeReply));
      }),
      { numRuns: 200 },
    );
  });

  it('never throws or hangs on random bytes: every outcome is replies or one ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (raw, cuts) => {
          const bytes = Buffer.from(raw);
          const out = decodeChunks(
            splitAt(
              bytes,
              cuts.map((c) => c % Math.max(1, bytes.length)),
            ),
          );
          expect(out.errors.length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
