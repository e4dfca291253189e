import fc from 'fast-check';
import { decodeChunks, describeReply, splitAt } from './decode-helpers';
import { wireReply } from './reply-arbitrary';

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
          expect(out.replies.map(describeReply)).toEqual(replies.map((r) => r.expected));
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
