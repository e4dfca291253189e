import fc from 'fast-check';
import { encodeCommand, type EncodedCommand } from '../../lib/protocol/resp-encoder';
import type { RedisArgument } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';
import { decodeChunks, describeReply, splitsOf } from './decode-helpers';
import { rawExchange } from './raw-exchange';

const parts = (encoded: EncodedCommand): Array<string | Buffer> =>
  typeof encoded === 'string' ? [encoded] : encoded;

describe('codec against a real redis-server', () => {
  const server = useRedisServer();

  it('decodes every DEBUG PROTOCOL type of Redis 7 the same whole, byte by byte and split anywhere', async () => {
    const types = [
      'string',
      'integer',
      'double',
      'bignum',
      'null',
      'array',
      'set',
      'map',
      'attrib',
      'push',
    ];
    types.push('verbatim', 'true', 'false');
    const wire = [encodeCommand('HELLO', ['3'])];
    for (const type of types) wire.push(encodeCommand('DEBUG', ['PROTOCOL', type]));
    wire.push(encodeCommand('PING', []));
    const { raw } = await rawExchange(server().port, wire.flatMap(parts), wire.length);
    const expected = [
      'Hello World',
      12345,
      3.141,
      1234567999999999999999999999999999999n,
      null,
      [0, 1, 2],
      [0, 1, 2],
      {
        map: [
          ['0', false],
          ['1', true],
          ['2', false],
        ],
      },
      'Some real reply following the attribute',
      'Some real reply following the push reply',
      'This is a verbatim\nstring',
      true,
      false,
      'PONG',
    ];
    for (const { how, chunks } of splitsOf(raw)) {
      const out = decodeChunks(chunks);
      const [, ...rest] = out.replies.map(describeReply);
      expect({ how, rest, errors: out.errors }).toEqual({ how, rest: expected, errors: [] });
      expect(out.pushes.map(describeReply)).toEqual([['server-cpu-usage', 42]]);
      expect(out.attributes.map(describeReply)).toEqual([
        { map: [['key-popularity', ['key:123', 90]]] },
      ]);
    }
  });

  it('reads RESP2 replies of the same commands the same way', async () => {
    const wire = [
      encodeCommand('DEBUG', ['PROTOCOL', 'null']),
      encodeCommand('DEBUG', ['PROTOCOL', 'map']),
      encodeCommand('DEBUG', ['PROTOCOL', 'true']),
      encodeCommand('DEBUG', ['PROTOCOL', 'double']),
    ];
    const { replies } = await rawExchange(server().port, wire.flatMap(parts), wire.length);
    // RESP2 has no such types: the server downgrades them, and they decode to their RESP2 shapes.
    expect(replies).toEqual([null, [0, 0, 1, 1, 2, 0], 1, '3.141']);
  });

  it('sends random argument lists that the server echoes back byte-exact', async () => {
    const argument: fc.Arbitrary<RedisArgument> = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.constantFrom('', '\r\n', '\r\n*1\r\n$8\r\nFLUSHALL\r\n', '$-1', '\0'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(argument, { minLength: 1, maxLength: 20 }), async (args) => {
        const wire = args.flatMap((arg) => parts(encodeCommand('ECHO', [arg])));
        const { replies } = await rawExchange(server().port, wire, args.length, true);
        const expected = args.map((arg) => {
          if (typeof arg === 'string') return Buffer.from(arg);
          if (typeof arg === 'number') {
            const text = parts(encodeCommand('X', [arg]))
              .join('')
              .split('\r\n')[4];
            expect(Number(text)).toBe(arg === 0 ? 0 : arg);
            return Buffer.from(text);
          }
          if (typeof arg === 'bigint') return Buffer.from(arg.toString());
          return Buffer.from(arg);
        });
        expect(replies).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('stores protocol bytes inside an argument as data and runs no extra command', async () => {
    const hostile = '\r\n*1\r\n$8\r\nFLUSHALL\r\n';
    const values: Array<string | Buffer> = [
      hostile,
      'héllo ✓ 😀',
      '',
      Buffer.alloc(0),
      Buffer.from([0, 13, 10, 255]),
    ];
    const wire: Array<string | Buffer> = [...parts(encodeCommand('FLUSHDB', []))];
    values.forEach((value, i) => wire.push(...parts(encodeCommand('SET', [`k${i}`, value]))));
    values.forEach((_, i) => wire.push(...parts(encodeCommand('GET', [`k${i}`]))));
    wire.push(...parts(encodeCommand('DBSIZE', [])));
    const { replies } = await rawExchange(server().port, wire, 1 + 2 * values.length + 1, true);
    const gets = replies.slice(1 + values.length, 1 + 2 * values.length);
    expect(gets).toEqual(values.map((v) => Buffer.from(v)));
    expect(replies[replies.length - 1]).toBe(values.length);
  });
});
