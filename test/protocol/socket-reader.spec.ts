import fc from 'fast-check';
import { collectingDecoder, decodeChunks, describeReply } from './decode-helpers';
import { feedThroughReader } from './reader-feed';
import { wireReply } from './reply-arbitrary';

const bulk = (body: Buffer) =>
  Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]);
const line = (text: string) => Buffer.from(`+${text}\r\n`);

describe('SocketReader', () => {
  it('decodes random replies under random read sizes exactly as plain chunks do', () => {
    fc.assert(
      fc.property(
        fc.array(wireReply, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        (replies, readSizes) => {
          const stream = Buffer.from(replies.map((r) => r.wire).join(''));
          const fed = feedThroughReader(stream, readSizes);
          expect(fed.errors).toEqual([]);
          expect(fed.replies.map(describeReply)).toEqual(
            decodeChunks([stream]).replies.map(describeReply),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads large bulks in place and small replies through reused memory, byte-exact', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 60_000, max: 300_000 })),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (sizes, readSizes, returnBuffers) => {
          const bodies = sizes.map((size, i) => Buffer.alloc(size, 0x30 + (i % 40)));
          const stream = Buffer.concat(bodies.flatMap((body) => [bulk(body), line('ok')]));
          const fed = feedThroughReader(stream, readSizes, returnBuffers);
          expect(fed.errors).toEqual([]);
          const expected = bodies.flatMap((body): Array<string | Buffer> =>
            returnBuffers ? [body, Buffer.from('ok')] : [body.toString('latin1'), 'ok'],
          );
          // Compared one by one: a deep equality over hundreds of KB is slow.
          expect(fed.replies).toHaveLength(expected.length);
          fed.replies.forEach((reply, i) => {
            const want = expected[i];
            expect(Buffer.isBuffer(want) ? want.equals(reply as Buffer) : want === reply).toBe(
              true,
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads all but the first read of a 1 MB bulk straight into the value, in few reads', () => {
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const fed = feedThroughReader(Buffer.concat([bulk(body), line('after')]), [256 * 1024], true);
    expect(fed.errors).toEqual([]);
    expect((fed.replies[0] as Buffer).equals(body)).toBe(true);
    expect(fed.replies[1]).toEqual(Buffer.from('after'));
    // One 64 KiB read through the slab, then the rest (about 960 KiB) in 256 KiB reads into the value.
    expect(fed.directReads).toBe(4);
    expect(fed.slabs).toBe(1);
  });

  it('keeps one slab for a stream of small replies split anywhere', () => {
    const stream = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => line(`reply ${i}`)));
    const fed = feedThroughReader(stream, [7, 1000, 13, 64 * 1024]);
    expect(fed.replies).toHaveLength(20_000);
    expect(fed.replies[19_999]).toBe('reply 19999');
    // Reads that end inside a line move on past it; the slab is replaced only when it runs short.
    expect(fed.slabs).toBeLessThan(20);
  });

  it('moves to a new slab while a long line is held, and keeps every byte of it', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => String(i % 10)).join('');
    const fed = feedThroughReader(Buffer.concat([line(text), line('next')]), [1000]);
    expect(fed.errors).toEqual([]);
    expect(fed.replies).toEqual([text, 'next']);
    // 20 KB of held line in 1 000-byte reads: a 64 KiB slab runs short once (less than 16 KiB left).
    expect(fed.slabs).toBe(1);
    const longer = 'y'.repeat(150_000);
    const fedLonger = feedThroughReader(Buffer.concat([line(longer), line('next')]), [1000]);
    expect(fedLonger.replies).toEqual([longer, 'next']);
    expect(fedLonger.slabs).toBe(4);
  });

  it('a bulk read in place that does not end in CRLF is a ProtocolError, and decoding stops', () => {
    const body = Buffer.alloc(70_000, 0x61);
    const stream = Buffer.concat([Buffer.from('$70000\r\n'), body, Buffer.from('XY+OK\r\n')]);
    const fed = feedThroughReader(stream, [100, 200_000]);
    expect(fed.directReads).toBe(1);
    expect(fed.replies).toEqual([]);
    expect(fed.errors).toHaveLength(1);
    expect(fed.errors[0].message).toMatch(/not ended by CRLF/);
  });
});

describe('RespDecoder direct targets', () => {
  it('offers exactly the bytes still due of a bulk, body and CRLF, and nothing otherwise', () => {
    const {
      decoder,
      out: { replies },
    } = collectingDecoder();
    expect(decoder.directTarget(0)).toBeNull();
    decoder.write(Buffer.from('$10\r\nabc'));
    expect(decoder.directTarget(10)).toBeNull();
    const target = decoder.directTarget(9) as Buffer;
    expect(target.length).toBe(9);
    target.write('defg', 'latin1');
    decoder.filledDirectly(4);
    expect(decoder.directTarget(1)?.length).toBe(5);
    decoder.write(Buffer.from('hij\r\n:7\r\n'));
    expect(replies).toEqual(['abcdefghij', 7]);
    expect(decoder.directTarget(0)).toBeNull();
  });

  it('delivers a streamed string chunk filled in place', () => {
    const {
      decoder,
      out: { replies },
    } = collectingDecoder();
    decoder.write(Buffer.from('$?\r\n;5\r\nab'));
    const target = decoder.directTarget(1) as Buffer;
    target.write('cde\r\n', 'latin1');
    decoder.filledDirectly(5);
    decoder.write(Buffer.from(';0\r\n'));
    expect(replies).toEqual(['abcde']);
  });

  it('holds input only while a line is incomplete', () => {
    const { decoder } = collectingDecoder();
    decoder.write(Buffer.from('+OK\r\n+PAR'));
    expect(decoder.holdsInput).toBe(true);
    decoder.write(Buffer.from('TIAL\r\n$5\r\nab'));
    // The bulk's first bytes were copied into its own buffer.
    expect(decoder.holdsInput).toBe(false);
    decoder.write(Buffer.from('cde\r\n'));
    expect(decoder.holdsInput).toBe(false);
  });

  it('offers nothing and counts nothing once stopped', () => {
    const {
      decoder,
      out: { replies },
    } = collectingDecoder();
    decoder.write(Buffer.from('$100000\r\nabc'));
    const target = decoder.directTarget(1) as Buffer;
    decoder.stop();
    expect(decoder.directTarget(0)).toBeNull();
    target.fill(0x61);
    decoder.filledDirectly(target.length);
    expect(replies).toEqual([]);
  });
});
