import { ProtocolError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { RespDecoder } from '../../lib/protocol/resp-decoder';
import type { RedisReply } from '../../lib/protocol/resp.types';
import { decodeChunks, describeReply, splitsOf } from './decode-helpers';

interface Vector {
  name: string;
  wire: string | Buffer;
  replies: unknown[];
  pushes?: unknown[];
  attributes?: unknown[];
}

const map = (...entries: Array<[string, unknown]>) => ({ map: entries });
const err = (message: string) => ({ error: message, code: message.split(' ')[0] });

/** Hand-written vectors for every RESP2 and RESP3 type (real-server captures live in codec-real-server.spec). */
const VECTORS: Vector[] = [
  { name: 'simple string', wire: '+OK\r\n', replies: ['OK'] },
  { name: 'empty simple string', wire: '+\r\n', replies: [''] },
  { name: 'error', wire: '-ERR unknown command\r\n', replies: [err('ERR unknown command')] },
  {
    name: 'WRONGTYPE error',
    wire: '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
    replies: [err('WRONGTYPE Operation against a key holding the wrong kind of value')],
  },
  { name: 'integer zero', wire: ':0\r\n', replies: [0] },
  { name: 'negative integer', wire: ':-12\r\n', replies: [-12] },
  { name: 'plus-signed integer', wire: ':+7\r\n', replies: [7] },
  { name: 'largest safe integer', wire: ':9007199254740991\r\n', replies: [9007199254740991] },
  { name: 'past the safe range', wire: ':9007199254740992\r\n', replies: [9007199254740992n] },
  { name: 'int64 max exact', wire: ':9223372036854775807\r\n', replies: [9223372036854775807n] },
  { name: 'int64 min exact', wire: ':-9223372036854775808\r\n', replies: [-9223372036854775808n] },
  { name: 'bulk string', wire: '$5\r\nhello\r\n', replies: ['hello'] },
  { name: 'empty bulk string', wire: '$0\r\n\r\n', replies: [''] },
  { name: 'bulk with CRLF inside', wire: '$4\r\na\r\nb\r\n', replies: ['a\r\nb'] },
  {
    name: 'multibyte bulk',
    wire: `$${Buffer.byteLength('héllo ✓ 😀')}\r\nhéllo ✓ 😀\r\n`,
    replies: ['héllo ✓ 😀'],
  },
  { name: 'RESP2 nil bulk', wire: '$-1\r\n', replies: [null] },
  { name: 'RESP2 nil array', wire: '*-1\r\n', replies: [null] },
  { name: 'empty array', wire: '*0\r\n', replies: [[]] },
  { name: 'flat array', wire: '*3\r\n$1\r\na\r\n:1\r\n+b\r\n', replies: [['a', 1, 'b']] },
  {
    name: 'nested array with nil',
    wire: '*2\r\n*2\r\n:1\r\n$-1\r\n*1\r\n*0\r\n',
    replies: [[[1, null], [[]]]],
  },
  {
    name: 'error nested in an array (EXEC)',
    wire: '*2\r\n+OK\r\n-ERR bad\r\n',
    replies: [['OK', err('ERR bad')]],
  },
  { name: 'RESP3 null', wire: '_\r\n', replies: [null] },
  { name: 'boolean true', wire: '#t\r\n', replies: [true] },
  { name: 'boolean false', wire: '#f\r\n', replies: [false] },
  { name: 'double', wire: ',1.5\r\n', replies: [1.5] },
  { name: 'negative double', wire: ',-0.25\r\n', replies: [-0.25] },
  { name: 'double exponent', wire: ',1.2e+21\r\n', replies: [1.2e21] },
  { name: 'double integer form', wire: ',10\r\n', replies: [10] },
  { name: 'double inf', wire: ',inf\r\n', replies: [Infinity] },
  { name: 'double -inf', wire: ',-inf\r\n', replies: [-Infinity] },
  { name: 'double nan', wire: ',nan\r\n', replies: [NaN] },
  {
    name: 'big number',
    wire: '(3492890328409238509324850943850943825024385\r\n',
    replies: [3492890328409238509324850943850943825024385n],
  },
  { name: 'negative big number', wire: '(-12\r\n', replies: [-12n] },
  {
    name: 'bulk error',
    wire: '!21\r\nSYNTAX invalid syntax\r\n',
    replies: [err('SYNTAX invalid syntax')],
  },
  { name: 'verbatim string', wire: '=15\r\ntxt:Some string\r\n', replies: ['Some string'] },
  { name: 'empty verbatim', wire: '=4\r\nmkd:\r\n', replies: [''] },
  {
    name: 'map',
    wire: '%2\r\n+first\r\n:1\r\n+second\r\n,2.5\r\n',
    replies: [map(['first', 1], ['second', 2.5])],
  },
  { name: 'empty map', wire: '%0\r\n', replies: [map()] },
  {
    name: 'map with non-string keys',
    wire: '%2\r\n:1\r\n#t\r\n$1\r\nx\r\n_\r\n',
    replies: [map(['1', true], ['x', null])],
  },
  {
    name: 'map with hostile keys stays data',
    wire: '%2\r\n+__proto__\r\n+x\r\n+constructor\r\n+y\r\n',
    replies: [map(['__proto__', 'x'], ['constructor', 'y'])],
  },
  { name: 'set', wire: '~3\r\n+a\r\n+b\r\n:3\r\n', replies: [['a', 'b', 3]] },
  {
    name: 'attribute before a top-level reply',
    wire: '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
    replies: [[2039123, 9543892]],
    attributes: [map(['key-popularity', map(['a', 0.1923], ['b', 0.0012])])],
  },
  {
    name: 'attribute inside an aggregate is not an element',
    wire: '*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n',
    replies: [[1, 2]],
    attributes: [map(['ttl', 3600])],
  },
  {
    name: 'push between replies is not a reply',
    wire: ':1\r\n>3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n:2\r\n',
    replies: [1, 2],
    pushes: [['message', 'chan', 'hi']],
  },
  {
    name: 'streamed string',
    wire: '$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n',
    replies: ['Hello word'],
  },
  { name: 'empty streamed string', wire: '$?\r\n;0\r\n', replies: [''] },
  { name: 'streamed array', wire: '*?\r\n:1\r\n+two\r\n.\r\n', replies: [[1, 'two']] },
  { name: 'streamed set', wire: '~?\r\n:1\r\n.\r\n', replies: [[1]] },
  {
    name: 'streamed map',
    wire: '%?\r\n+a\r\n:1\r\n+b\r\n#f\r\n.\r\n',
    replies: [map(['a', 1], ['b', false])],
  },
  {
    name: 'streamed aggregate nested in an array',
    wire: '*2\r\n*?\r\n:1\r\n.\r\n$?\r\n;2\r\nok\r\n;0\r\n',
    replies: [[[1], 'ok']],
  },
  {
    name: 'several replies in one stream',
    wire: '+OK\r\n:1\r\n$3\r\nfoo\r\n*1\r\n_\r\n',
    replies: ['OK', 1, 'foo', [null]],
  },
];

describe('RespDecoder vectors', () => {
  it.each(VECTORS)('$name decodes the same whole, byte by byte and split anywhere', (vector) => {
    const bytes = Buffer.isBuffer(vector.wire) ? vector.wire : Buffer.from(vector.wire);
    for (const { how, chunks } of splitsOf(bytes)) {
      const out = decodeChunks(chunks);
      const picture = {
        how,
        replies: out.replies.map(describeReply),
        pushes: out.pushes.map(describeReply),
        attributes: out.attributes.map(describeReply),
        errors: out.errors.map((e) => e.message),
      };
      expect(picture).toEqual({
        how,
        replies: vector.replies,
        pushes: vector.pushes ?? [],
        attributes: vector.attributes ?? [],
        errors: [],
      });
    }
  });

  it('gives error replies as ResponseError values with their code', () => {
    const [reply] = decodeChunks([Buffer.from('-NOSCRIPT No matching script\r\n')]).replies;
    expect(reply).toBeInstanceOf(ResponseError);
    expect((reply as ResponseError).code).toBe('NOSCRIPT');
  });

  it('keeps __proto__ and constructor fields as data and pollutes no prototype', () => {
    const [reply] = decodeChunks([
      Buffer.from('%2\r\n+__proto__\r\n%1\r\n+polluted\r\n#t\r\n+constructor\r\n+y\r\n'),
    ]).replies as Array<Record<string, unknown>>;
    expect(Object.getPrototypeOf(reply)).toBeNull();
    expect(Object.keys(reply)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('decodes strings as Buffers in buffer mode, copied out of the socket chunk', () => {
    const chunk = Buffer.from('$3\r\n\x00\xff\x01\r\n+OK\r\n*1\r\n$2\r\nab\r\n', 'latin1');
    const out = decodeChunks([chunk], undefined, true);
    expect(out.replies).toEqual([
      Buffer.from([0, 0xff, 1]),
      Buffer.from('OK'),
      [Buffer.from('ab')],
    ]);
    const first = out.replies[0] as Buffer;
    chunk.fill(0);
    expect(first).toEqual(Buffer.from([0, 0xff, 1]));
  });

  it('buffer mode also holds for a bulk body that arrives in pieces', () => {
    const body = Buffer.alloc(10_000, 0xab);
    const bytes = Buffer.concat([Buffer.from('$10000\r\n'), body, Buffer.from('\r\n')]);
    const out = decodeChunks(
      [bytes.subarray(0, 100), bytes.subarray(100, 5000), bytes.subarray(5000)],
      undefined,
      true,
    );
    expect(out.replies).toEqual([body]);
  });

  it('may switch buffer mode between replies from inside onReply', () => {
    const replies: RedisReply[] = [];
    const decoder: RespDecoder = new RespDecoder({
      onReply: (reply) => {
        replies.push(reply);
        decoder.returnBuffers = !decoder.returnBuffers;
      },
      onPush: () => undefined,
      onError: (e) => {
        throw e;
      },
    });
    decoder.write(Buffer.from('$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'));
    expect(replies).toEqual(['a', Buffer.from('b'), 'c']);
  });

  it('decodes a large bulk string delivered in many small chunks in linear time', () => {
    const size = 8 * 1024 * 1024;
    const bytes = Buffer.concat([
      Buffer.from(`$${size}\r\n`),
      Buffer.alloc(size, 'x'),
      Buffer.from('\r\n'),
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 1024) chunks.push(bytes.subarray(i, i + 1024));
    const started = Date.now();
    const out = decodeChunks(chunks);
    expect((out.replies[0] as string).length).toBe(size);
    // Generous: a quadratic implementation copies terabytes here and never finishes.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('RespDecoder on hostile or broken input', () => {
  const protocolError = (
    wire: string | Buffer,
    limits?: ConstructorParameters<typeof RespDecoder>[1],
  ) => {
    const out = decodeChunks([Buffer.isBuffer(wire) ? wire : Buffer.from(wire)], limits);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toBeInstanceOf(ProtocolError);
    return out;
  };

  it.each([
    ['unknown type byte', '@foo\r\n', /unknown type byte 0x40/],
    ['LF without CR', '+OK\nmore\r\n', /CRLF/],
    ['bulk body not ended by CRLF', '$3\r\nabcXY', /not ended by CRLF/],
    ['non-numeric bulk length', '$abc\r\n', /invalid bulk string length/],
    ['negative array length other than -1', '*-5\r\n', /invalid aggregate length/],
    ['nil is not a valid map length', '%-1\r\n', /invalid aggregate length/],
    ['empty bulk length', '$\r\n', /invalid bulk string length/],
    ['invalid integer', ':12a\r\n', /invalid integer/],
    ['empty integer', ':\r\n', /empty integer/],
    ['long invalid integer', ':1234567890123456789x\r\n', /invalid integer/],
    ['bad boolean', '#x\r\n', /boolean/],
    ['bad double', ',abc\r\n', /invalid double/],
    ['hex double', ',0x10\r\n', /invalid double/],
    ['bad big number', '(12.5\r\n', /big number/],
    ['null with content', '_x\r\n', /null with content/],
    ['verbatim without format', '=2\r\nab\r\n', /format prefix/],
    ['stray streamed chunk', ';3\r\nabc\r\n', /streamed string chunk/],
    ['stray end marker', '.\r\n', /end of streamed aggregate/],
    ['map with odd streamed elements', '%?\r\n+a\r\n.\r\n', /key but no value/],
  ])('%s is a ProtocolError', (_name, wire, message) => {
    const out = protocolError(wire);
    expect(out.errors[0].message).toMatch(message);
    expect(out.replies).toEqual([]);
  });

  it('rejects *4294967295 at once, before any memory is set aside', () => {
    const out = protocolError('*4294967295\r\n');
    expect(out.errors[0].message).toMatch(/aggregate length 4294967295 exceeds the limit/);
  });

  it('rejects $9999999999 at once', () => {
    const out = protocolError('$9999999999\r\n');
    expect(out.errors[0].message).toMatch(/bulk string length 9999999999 exceeds the limit/);
  });

  it('rejects an absurdly long length without parsing it', () => {
    protocolError(`*${'9'.repeat(5000)}\r\n`);
  });

  it('honours configured limits', () => {
    protocolError('$11\r\nhello world\r\n', { maxBulkLength: 10 });
    protocolError('*3\r\n:1\r\n:2\r\n:3\r\n', { maxAggregateLength: 2 });
    protocolError('%2\r\n:1\r\n:1\r\n:2\r\n:2\r\n', { maxAggregateLength: 1 });
    protocolError('*1\r\n*1\r\n*1\r\n:1\r\n', { maxDepth: 2 });
    expect(decodeChunks([Buffer.from('*1\r\n*1\r\n:1\r\n')], { maxDepth: 2 }).replies).toEqual([
      [[1]],
    ]);
  });

  it('rejects a line that never ends, even when it arrives byte by byte', () => {
    const limits = { maxLineLength: 1000 };
    const chunks = Array.from({ length: 2000 }, () => Buffer.from('a'));
    chunks.unshift(Buffer.from('+'));
    const out = decodeChunks(chunks, limits);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0].message).toMatch(/line longer than 1000 bytes/);
  });

  it('rejects 50 000-deep nesting under the default limits, in bounded time', () => {
    const wire = Buffer.from('*1\r\n'.repeat(50_000) + ':1\r\n');
    const started = Date.now();
    const out = decodeChunks([wire]);
    expect(out.errors[0].message).toMatch(/nesting deeper than 1024/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('decodes 50 000-deep nesting without overflowing the stack when allowed', () => {
    const depth = 50_000;
    const wire = Buffer.from('*1\r\n'.repeat(depth) + ':7\r\n');
    for (const chunks of [[wire], [wire.subarray(0, 12345), wire.subarray(12345)]]) {
      const out = decodeChunks(chunks, { maxDepth: Infinity });
      expect(out.errors).toEqual([]);
      let node: RedisReply = out.replies[0];
      let levels = 0;
      let allSingle = true;
      while (Array.isArray(node)) {
        allSingle &&= node.length === 1;
        node = node[0];
        levels++;
      }
      expect(allSingle).toBe(true);
      expect(levels).toBe(depth);
      expect(node).toBe(7);
    }
  });

  it('reports one error, then ignores every later byte', () => {
    const errors: ProtocolError[] = [];
    const replies: RedisReply[] = [];
    const decoder = new RespDecoder({
      onReply: (r) => replies.push(r),
      onPush: () => undefined,
      onError: (e) => errors.push(e),
    });
    decoder.write(Buffer.from('+OK\r\n@garbage\r\n+LATE\r\n'));
    decoder.write(Buffer.from('+EVEN LATER\r\n'));
    expect(replies).toEqual(['OK']);
    expect(errors).toHaveLength(1);
  });

  it('stops at once when a handler stops it mid-stream', () => {
    const replies: RedisReply[] = [];
    const decoder: RespDecoder = new RespDecoder({
      onReply: (r) => {
        replies.push(r);
        decoder.stop();
      },
      onPush: () => undefined,
      onError: () => undefined,
    });
    decoder.write(Buffer.from('+A\r\n+B\r\n'));
    decoder.write(Buffer.from('+C\r\n'));
    expect(replies).toEqual(['A']);
  });

  it('reports whether a reply is partly decoded', () => {
    const decoder = new RespDecoder({
      onReply: () => undefined,
      onPush: () => undefined,
      onError: () => undefined,
    });
    expect(decoder.busy).toBe(false);
    decoder.write(Buffer.from('*2\r\n:1\r\n'));
    expect(decoder.busy).toBe(true);
    decoder.write(Buffer.from(':2\r\n$3\r\nab'));
    expect(decoder.busy).toBe(true);
    decoder.write(Buffer.from('c\r\n'));
    expect(decoder.busy).toBe(false);
  });
});
