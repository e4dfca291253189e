import {
  asBufferPairs,
  asRecordOf,
  asString,
  buffersToStrings,
} from '../../lib/client/reply-transforms';
import { ProtocolError } from '../../lib/errors/redis-pool.errors';
import { RedisMapEntries } from '../../lib/protocol/resp-maps';
import type { RedisReply } from '../../lib/protocol/resp.types';
import { decodeChunks, describeReply, splitsOf } from './decode-helpers';

/*
 * Scenario 39 at the codec: in buffer mode a RESP3 map keeps every key byte-exact (as `RedisMapEntries`), and the
 * transforms give the same shapes from it as from RESP2's flat arrays.
 */

const FF = Buffer.from([0xff]);
const FE = Buffer.from([0xfe]);
const bulk = (bytes: Buffer) =>
  Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]);
const wire = (...parts: Array<string | Buffer>) =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

/** `%2` with keys 0xff and 0xfe, which are the same text (U+FFFD) once decoded as UTF-8. */
const BINARY_MAP = wire(
  '%2\r\n',
  bulk(FF),
  bulk(Buffer.from('one')),
  bulk(FE),
  bulk(Buffer.from('two')),
);

describe('RESP3 maps in buffer mode', () => {
  it('decode to RedisMapEntries with every key byte-exact, whole, byte by byte and split anywhere', () => {
    for (const { how, chunks } of splitsOf(BINARY_MAP)) {
      const out = decodeChunks(chunks, undefined, true);
      expect({ how, errors: out.errors }).toEqual({ how, errors: [] });
      const [map] = out.replies;
      expect(map).toBeInstanceOf(RedisMapEntries);
      expect(map).toEqual([
        [FF, Buffer.from('one')],
        [FE, Buffer.from('two')],
      ]);
    }
  });

  it('in text mode merge into one key (why buffer mode keeps entries)', () => {
    const [map] = decodeChunks([BINARY_MAP]).replies;
    expect(Object.keys(map as object)).toEqual(['\ufffd']);
  });

  it('keep hostile keys, integer keys and wire order; streamed, nested and empty maps too', () => {
    const stream = wire(
      '%?\r\n+__proto__\r\n%1\r\n+polluted\r\n#t\r\n:7\r\n+seven\r\n+constructor\r\n*0\r\n.\r\n',
      '%0\r\n',
    );
    for (const { chunks } of splitsOf(stream)) {
      const out = decodeChunks(chunks, undefined, true);
      expect(out.errors).toEqual([]);
      const [outer, empty] = out.replies as RedisMapEntries[];
      expect(outer).toBeInstanceOf(RedisMapEntries);
      expect(outer.map(([key]) => key)).toEqual([
        Buffer.from('__proto__'),
        7,
        Buffer.from('constructor'),
      ]);
      expect(outer[0][1]).toBeInstanceOf(RedisMapEntries);
      expect(outer[0][1]).toEqual([[Buffer.from('polluted'), true]]);
      expect(empty).toBeInstanceOf(RedisMapEntries);
      expect(empty).toHaveLength(0);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('leave attributes as objects keyed by text, and maps outside buffer mode unchanged', () => {
    const stream = wire('|1\r\n+ttl\r\n:5\r\n', BINARY_MAP);
    const inBuffers = decodeChunks([stream], undefined, true);
    expect(inBuffers.attributes.map(describeReply)).toEqual([{ map: [['ttl', 5]] }]);
    expect(inBuffers.replies[0]).toBeInstanceOf(RedisMapEntries);
    const asText = decodeChunks([stream]);
    expect(Object.getPrototypeOf(asText.replies[0])).toBeNull();
  });

  it('hold aggregate keys, which a map keyed by text refuses with a ProtocolError, never a TypeError', () => {
    const stream = Buffer.from('%2\r\n*1\r\n:1\r\n+a\r\n%0\r\n+b\r\n');
    const [map] = decodeChunks([stream], undefined, true).replies as RedisMapEntries[];
    expect(map).toEqual([
      [[1], Buffer.from('a')],
      [expect.any(RedisMapEntries), Buffer.from('b')],
    ]);
    const asText = decodeChunks([stream]);
    expect(asText.replies).toEqual([]);
    expect(asText.errors.map((e) => e.message)).toEqual([
      'Malformed reply: an aggregate as a map key; read such maps in buffer mode',
    ]);
    expect(() => buffersToStrings(map)).toThrow(ProtocolError);
  });

  it('derive plain arrays, and describe themselves apart from arrays of pairs', () => {
    const [map] = decodeChunks([BINARY_MAP], undefined, true).replies as RedisMapEntries[];
    expect(map.map(([key]) => key)).not.toBeInstanceOf(RedisMapEntries);
    expect(map.slice(1)).not.toBeInstanceOf(RedisMapEntries);
    expect(describeReply(map)).toEqual({
      entries: [
        [{ buffer: 'ff' }, { buffer: '6f6e65' }],
        [{ buffer: 'fe' }, { buffer: '74776f' }],
      ],
    });
  });
});

describe('reply transforms over buffer-mode maps', () => {
  const resp3 = decodeChunks([BINARY_MAP], undefined, true).replies[0];
  const resp2 = decodeChunks(
    [wire('*4\r\n', bulk(FF), bulk(Buffer.from('one')), bulk(FE), bulk(Buffer.from('two')))],
    undefined,
    true,
  ).replies[0];

  it('asBufferPairs gives the same byte-exact pairs from RESP2 and RESP3', () => {
    const expected = [
      [FF, Buffer.from('one')],
      [FE, Buffer.from('two')],
    ];
    expect(asBufferPairs(resp3)).toEqual(expected);
    expect(asBufferPairs(resp2)).toEqual(expected);
    expect(asBufferPairs(resp3)).not.toBeInstanceOf(RedisMapEntries);
    expect(asBufferPairs(null)).toEqual([]);
    const text = decodeChunks([Buffer.from('%1\r\n+__proto__\r\n+x\r\n')]).replies[0];
    expect(asBufferPairs(text)).toEqual([[Buffer.from('__proto__'), Buffer.from('x')]]);
    expect(() => asBufferPairs(Buffer.from('x'))).toThrow(/expected a map/);
  });

  it('asRecordOf reads RedisMapEntries like a flat array (fields as text)', () => {
    const hostile = decodeChunks(
      [Buffer.from('%2\r\n+__proto__\r\n+p\r\n+constructor\r\n+c\r\n')],
      undefined,
      true,
    ).replies[0];
    const record = asRecordOf(asString)(hostile);
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.entries(record)).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });

  it('buffersToStrings turns a buffer-mode map back into what text mode decodes', () => {
    const stream = Buffer.from('*2\r\n%2\r\n+a\r\n$1\r\nx\r\n:1\r\n%1\r\n+b\r\n#t\r\n$2\r\nok\r\n');
    const restored = buffersToStrings(decodeChunks([stream], undefined, true).replies[0]);
    const text: RedisReply = decodeChunks([stream]).replies[0];
    expect(describeReply(restored)).toEqual(describeReply(text));
  });
});
