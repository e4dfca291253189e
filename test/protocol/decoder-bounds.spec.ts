import { constants } from 'node:buffer';
import * as net from 'node:net';
import { SocketReader } from '../../lib/connection/socket-reader';
import { ProtocolError } from '../../lib/errors/redis-pool.errors';
import { EAGER_BULK_BYTES, GROWING_BULK_START_BYTES } from '../../lib/protocol/bulk-buffer';
import { startFakeRespServer, type FakeRespServer } from '../harness';
import { collectingDecoder, decodeChunks, splitsOf } from './decode-helpers';
import { feedThroughReader } from './reader-feed';

/*
 * Scenario 38 (and the bounds of 23): a hostile server's declared lengths cost memory only as bytes arrive, and
 * streamed aggregates and strings, which declare no length, are held to the same limits as declared ones.
 */

const HOSTILE_HEADER = Buffer.from('$536870912\r\n');
const KIB = 1024;

/** The most a bulk may hold when `arrived` of its bytes came through `write()` (doubling, never past 2×). */
const writeBound = (arrived: number) => Math.max(GROWING_BULK_START_BYTES, 2 * arrived);
/** Through the socket reader, which asks for room for a whole 64 KiB read ahead of the bytes. */
const readerBound = (arrived: number) =>
  Math.max(GROWING_BULK_START_BYTES, 2 * (arrived + 64 * KIB));

function pattern(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

describe('RespDecoder memory for bulks a hostile server declares', () => {
  it('sets aside memory for $536870912 only as its bytes trickle in', () => {
    const { decoder, out } = collectingDecoder(undefined, true);
    const before = process.memoryUsage().arrayBuffers;
    decoder.write(HOSTILE_HEADER);
    expect(decoder.busy).toBe(true);
    expect(decoder.bulkCapacity).toBeLessThanOrEqual(GROWING_BULK_START_BYTES);
    const trickle = pattern(64);
    let arrived = 0;
    for (let i = 0; i < 64; i++) {
      decoder.write(trickle);
      arrived += trickle.length;
      expect(decoder.bulkCapacity).toBeLessThanOrEqual(writeBound(arrived));
    }
    // Then 8 MB in 64 KiB chunks: the buffer doubles behind the bytes, never far ahead of them.
    const chunk = pattern(64 * KIB);
    for (let i = 0; i < 128; i++) {
      decoder.write(chunk);
      arrived += chunk.length;
      expect(decoder.bulkCapacity).toBeLessThanOrEqual(writeBound(arrived));
      expect(decoder.bulkCapacity).toBeGreaterThanOrEqual(arrived);
    }
    // Old buffers may not be collected yet: allow the doubling's leftovers, nowhere near 512 MiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * KIB);
    expect(out.replies).toEqual([]);
    expect(out.errors).toEqual([]);
  });

  it('stays bounded through the socket reader, which reads the trickle in place', () => {
    const trickle = Buffer.concat([HOSTILE_HEADER, pattern(4 * KIB)]);
    let worst = 0;
    const fed = feedThroughReader(trickle, [12, 100, 1000, 64], true, (decoder, bytesRead) => {
      const arrived = bytesRead - HOSTILE_HEADER.length;
      worst = Math.max(worst, decoder.bulkCapacity / readerBound(arrived));
      expect(decoder.bulkCapacity).toBeLessThanOrEqual(readerBound(arrived));
    });
    expect(worst).toBeGreaterThan(0);
    expect(fed.directReads).toBeGreaterThan(0);
    expect(fed.decoder.bulkCapacity).toBeLessThanOrEqual(readerBound(4 * KIB));
    expect(fed.errors).toEqual([]);
  });

  describe('from a fake server over TCP', () => {
    let fake: FakeRespServer | undefined;
    afterEach(async () => {
      await fake?.close();
      fake = undefined;
    });

    it('a $536870912 reply trickled a few KB at a time costs a small multiple of those KB', async () => {
      fake = await startFakeRespServer((_command, conn) => {
        conn.write(HOSTILE_HEADER);
        let sent = 0;
        const timer = setInterval(() => {
          conn.write(pattern(512));
          if (++sent === 16) {
            clearInterval(timer);
            conn.socket.end();
          }
        }, 2);
      });
      const { decoder, out } = collectingDecoder(undefined, true);
      const before = process.memoryUsage().arrayBuffers;
      const reader = new SocketReader(decoder, () => undefined);
      const socket = net.connect({ host: fake.host, port: fake.port, onread: reader.onread });
      await new Promise<void>((resolve, reject) => {
        socket.on('error', reject);
        socket.on('end', () => resolve());
        socket.on('connect', () => socket.write('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'));
      });
      socket.destroy();
      expect(out.errors).toEqual([]);
      expect(decoder.busy).toBe(true);
      expect(decoder.bulkCapacity).toBeGreaterThan(0);
      expect(decoder.bulkCapacity).toBeLessThanOrEqual(readerBound(8 * KIB));
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * KIB);
    });
  });

  it('still sets aside a value of a few MB whole at its header, so 1 MB values are read in place', () => {
    const { decoder } = collectingDecoder();
    decoder.write(Buffer.from('$1048576\r\n'));
    expect(decoder.bulkCapacity).toBe(1048576 + 2);
    expect(decoder.directTarget(64 * KIB)?.length).toBe(1048576 + 2);
    expect(EAGER_BULK_BYTES).toBeGreaterThanOrEqual(1048576 + 2);
  });

  it('decodes a bulk that grew as it arrived byte-exact, split anywhere and through the reader', () => {
    const body = pattern(EAGER_BULK_BYTES + 123_457);
    const wire = Buffer.concat([
      Buffer.from(`$${body.length}\r\n`),
      body,
      Buffer.from('\r\n+OK\r\n'),
    ]);
    const cuts = [3, 40_000, 40_001, 1_000_000, 3_000_000, wire.length - 4];
    const chunks = cuts.map((cut, i) => wire.subarray(i === 0 ? 0 : cuts[i - 1], cut));
    chunks.push(wire.subarray(cuts[cuts.length - 1]));
    for (const out of [
      decodeChunks(chunks, undefined, true),
      feedThroughReader(wire, [1000, 64 * KIB, 300_000], true),
    ]) {
      expect(out.errors).toEqual([]);
      expect(out.replies).toHaveLength(2);
      const value = out.replies[0] as Buffer;
      expect(value.length).toBe(body.length);
      expect(value.equals(body)).toBe(true);
      expect(out.replies[1]).toEqual(Buffer.from('OK'));
    }
  });

  it('a declared length no Buffer can hold is a ProtocolError at its header', () => {
    const n = constants.MAX_LENGTH - 1;
    const out = decodeChunks([Buffer.from(`$${n}\r\nabc`)], { maxBulkLength: Infinity });
    expect(out.errors).toHaveLength(1);
    // 16 digits or more (Node 22's limit) is not a length at all.
    expect(out.errors[0].message).toMatch(/no memory for a bulk string|invalid bulk string length/);
  });

  it('running out of memory while a bulk grows is a ProtocolError, not a crash', () => {
    const { decoder, out } = collectingDecoder();
    decoder.write(Buffer.from(`$${100 * 1024 * KIB}\r\n`));
    decoder.write(pattern(GROWING_BULK_START_BYTES));
    const spy = jest.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation(() => {
      throw new RangeError('Array buffer allocation failed');
    });
    try {
      expect(decoder.directTarget(64 * KIB)).toBeNull();
    } finally {
      spy.mockRestore();
    }
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toBeInstanceOf(ProtocolError);
    expect(out.errors[0].message).toMatch(/no memory for a bulk string of 104857600 bytes/);
    expect(decoder.directTarget(0)).toBeNull();
    decoder.write(Buffer.from('more'));
    expect(out.errors).toHaveLength(1);
  });
});

describe('RespDecoder line limits', () => {
  it('a too-long line ended by a bare LF gives the same error however it is cut', () => {
    const limits = { maxLineLength: 60 };
    for (const wire of [`+${'a'.repeat(62)}\n`, `:${'7'.repeat(62)}\n`, `+${'a'.repeat(61)}\r\n`]) {
      const messages = new Set<string>();
      for (const { chunks } of splitsOf(Buffer.from(wire))) {
        const out = decodeChunks(chunks, limits);
        expect(out.errors).toHaveLength(1);
        messages.add(out.errors[0].message);
      }
      expect([...messages]).toEqual(['Malformed reply: line longer than 60 bytes']);
    }
    // A line is measured up to its LF, as a partial line is held: 61 bytes and a bare LF are within the limit,
    // so the missing CR is the error, again however it is cut.
    for (const { chunks } of splitsOf(Buffer.from(`+${'a'.repeat(61)}\n`))) {
      expect(decodeChunks(chunks, limits).errors.map((e) => e.message)).toEqual([
        'Malformed reply: line not ended by CRLF',
      ]);
    }
  });
});

describe('RespDecoder limits on streamed aggregates and strings', () => {
  const elements = (count: number) => Buffer.from(':1\r\n'.repeat(count));

  it.each([
    ['array', '*?'],
    ['set', '~?'],
    ['push', '>?'],
  ])('a streamed %s may hold maxAggregateLength elements and no more', (_name, header) => {
    const limits = { maxAggregateLength: 1000 };
    const ok = decodeChunks(
      [Buffer.from(`${header}\r\n`), elements(1000), Buffer.from('.\r\n')],
      limits,
    );
    expect(ok.errors).toEqual([]);
    expect([...ok.replies, ...ok.pushes]).toHaveLength(1);
    // Element by element: the error comes with element 1001, not at an end marker that never arrives.
    const { decoder, out } = collectingDecoder(limits);
    decoder.write(Buffer.from(`${header}\r\n`));
    decoder.write(elements(1000));
    expect(out.errors).toEqual([]);
    decoder.write(elements(1));
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toBeInstanceOf(ProtocolError);
    expect(out.errors[0].message).toMatch(/streamed aggregate longer than the limit of 1000/);
  });

  it('a streamed map counts pairs, as a declared one does', () => {
    const limits = { maxAggregateLength: 3 };
    const pairs = (count: number) => '+k\r\n:1\r\n'.repeat(count);
    expect(decodeChunks([Buffer.from(`%?\r\n${pairs(3)}.\r\n`)], limits).errors).toEqual([]);
    const out = decodeChunks([Buffer.from(`%?\r\n${pairs(3)}+k\r\n`)], limits);
    expect(out.errors.map((e) => e.message)).toEqual([
      'Malformed reply: streamed aggregate longer than the limit of 3',
    ]);
  });

  it('rejects an endless streamed array nested in a declared one, in bounded time', () => {
    const limits = { maxAggregateLength: 50_000 };
    const started = Date.now();
    const out = decodeChunks([Buffer.from('*2\r\n*?\r\n'), elements(200_000)], limits);
    expect(out.errors).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a streamed string may total maxBulkLength bytes and no more, refused at the chunk header', () => {
    const limits = { maxBulkLength: 4096 };
    const chunk = `;1024\r\n${'x'.repeat(1024)}\r\n`;
    const ok = decodeChunks([Buffer.from(`$?\r\n${chunk.repeat(4)};0\r\n`)], limits);
    expect(ok.errors).toEqual([]);
    expect((ok.replies[0] as string).length).toBe(4096);
    const { decoder, out } = collectingDecoder(limits);
    decoder.write(Buffer.from(`$?\r\n${chunk.repeat(4)}`));
    decoder.write(Buffer.from(';1\r\n'));
    expect(out.errors.map((e) => e.message)).toEqual([
      'Malformed reply: streamed string longer than the limit of 4096 bytes',
    ]);
    expect(decoder.bulkCapacity).toBe(0);
  });

  it('refuses a chunk that would take a streamed string past 512 MiB before setting memory aside', () => {
    const { decoder, out } = collectingDecoder();
    decoder.write(Buffer.from('$?\r\n;1\r\nx\r\n;536870912\r\n'));
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0].message).toMatch(/streamed string longer than the limit of 536870912/);
    expect(decoder.bulkCapacity).toBe(0);
  });

  it('gathers a streamed string of tiny chunks byte-exact, in Buffer mode too', () => {
    const bytes = pattern(20_000);
    const wire = Buffer.concat([
      Buffer.from('$?\r\n'),
      ...Array.from(bytes, (b) => Buffer.concat([Buffer.from(';1\r\n'), Buffer.from([b, 13, 10])])),
      Buffer.from(';0\r\n'),
    ]);
    const out = decodeChunks([wire.subarray(0, 77_777), wire.subarray(77_777)], undefined, true);
    expect(out.errors).toEqual([]);
    expect((out.replies[0] as Buffer).equals(bytes)).toBe(true);
  });

  it.each([
    ['a scalar inside a streamed string', '$?\r\n;1\r\na\r\n:1\r\n;0\r\n', /interrupted/],
    ['an aggregate inside a streamed string', '$?\r\n*1\r\n:1\r\n;0\r\n', /interrupted/],
    ['an attribute inside a streamed string', '$?\r\n|1\r\n+a\r\n+b\r\n;0\r\n', /interrupted/],
    ['a streamed string inside a streamed string', '$?\r\n;?\r\n', /invalid bulk string length/],
    ['a streamed bulk error', '!?\r\n;1\r\nx\r\n;0\r\n', /invalid bulk string length/],
    ['a streamed verbatim string', '=?\r\n', /invalid bulk string length/],
    ['an end marker inside a streamed string', '$?\r\n.\r\n', /end of streamed aggregate/],
  ])('%s is a ProtocolError, never a crash', (_name, wire, message) => {
    const out = decodeChunks([Buffer.from(wire)]);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toBeInstanceOf(ProtocolError);
    expect(out.errors[0].message).toMatch(message);
    expect(out.replies).toEqual([]);
  });
});
