import { encodeCommand } from '../../lib/protocol/resp-encoder';
import type { RedisArgument } from '../../lib/protocol/resp.types';

const wire = (encoded: ReturnType<typeof encodeCommand>): Buffer =>
  Buffer.concat((typeof encoded === 'string' ? [encoded] : encoded).map((p) => Buffer.from(p)));

describe('encodeCommand', () => {
  it('encodes every argument as a bulk string, never inline', () => {
    expect(encodeCommand('SET', ['key', 'value'])).toBe(
      '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n',
    );
    expect(encodeCommand('PING', [])).toBe('*1\r\n$4\r\nPING\r\n');
  });

  it('counts bytes, not characters, for multibyte text', () => {
    const text = 'héllo ✓ 😀';
    expect(wire(encodeCommand('ECHO', [text])).toString()).toBe(
      `*2\r\n$4\r\nECHO\r\n$${Buffer.byteLength(text)}\r\n${text}\r\n`,
    );
    expect(Buffer.byteLength(text)).toBe(15);
  });

  it('keeps empty strings and empty Buffers as zero-length bulk strings', () => {
    expect(wire(encodeCommand('SET', ['k', '']))).toEqual(
      Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n'),
    );
    expect(wire(encodeCommand('SET', ['k', Buffer.alloc(0)]))).toEqual(
      Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n'),
    );
  });

  it('passes Buffers through without copying them', () => {
    const value = Buffer.from([0, 13, 10, 255]);
    const encoded = encodeCommand('SET', ['k', value, 'NX']);
    expect(Array.isArray(encoded)).toBe(true);
    expect((encoded as Array<string | Buffer>).some((part) => part === value)).toBe(true);
    expect(wire(encoded)).toEqual(
      Buffer.concat([
        Buffer.from('*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n'),
        value,
        Buffer.from('\r\n$2\r\nNX\r\n'),
      ]),
    );
  });

  it('views a plain Uint8Array without copying its bytes', () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const encoded = encodeCommand('SET', ['k', view]) as Array<string | Buffer>;
    const bytes = encoded.find((p) => Buffer.isBuffer(p)) as Buffer;
    expect(bytes.buffer).toBe(backing.buffer);
    expect(wire(encoded).toString('latin1')).toContain('$3\r\n\x01\x02\x03\r\n');
  });

  it('formats numbers and bigints exactly', () => {
    const cases: Array<[RedisArgument, string]> = [
      [0, '0'],
      [-0, '0'],
      [42, '42'],
      [-7, '-7'],
      [1.5, '1.5'],
      [0.1, '0.1'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [1e21, '1000000000000000000000'],
      [-(2 ** 60), '-1152921504606846976'],
      [1.5e-7, '1.5e-7'],
      [9223372036854775807n, '9223372036854775807'],
      [-1n, '-1'],
    ];
    for (const [input, text] of cases) {
      expect(encodeCommand('ECHO', [input])).toBe(
        `*2\r\n$4\r\nECHO\r\n$${text.length}\r\n${text}\r\n`,
      );
    }
  });

  it('splits a command name with spaces into words, as redis-py does', () => {
    expect(encodeCommand('CLIENT SETNAME', ['app'])).toBe(
      '*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n',
    );
    expect(encodeCommand('  CONFIG   GET ', ['x'])).toBe(
      '*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\nx\r\n',
    );
  });

  it('keeps protocol bytes inside an argument as data', () => {
    const hostile = '\r\n*1\r\n$8\r\nFLUSHALL\r\n';
    expect(encodeCommand('SET', ['k', hostile])).toBe(
      `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${hostile.length}\r\n${hostile}\r\n`,
    );
  });

  it.each([
    ['undefined', undefined, /#2 to SET: undefined/],
    ['null', null, /#2 to SET: null/],
    ['an object', { a: 1 }, /#2 to SET: object/],
    ['an array', ['x'], /#2 to SET: object/],
    ['a boolean', true, /#2 to SET: boolean/],
    ['NaN', NaN, /#2 to SET: NaN/],
    ['Infinity', Infinity, /#2 to SET: Infinity/],
    ['-Infinity', -Infinity, /#2 to SET: -Infinity/],
    ['a symbol', Symbol('s'), /#2 to SET: symbol/],
    ['a function', () => 1, /#2 to SET: function/],
  ])('rejects %s with a TypeError naming the position', (_name, bad, message) => {
    const call = () => encodeCommand('set', ['key', bad as unknown as RedisArgument]);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
  });

  it('names the type, never the value, of a rejected argument', () => {
    const secret = { password: 'hunter2' };
    expect(() => encodeCommand('AUTH', [secret as unknown as RedisArgument])).toThrow(
      /^((?!hunter2).)*$/,
    );
  });

  it('rejects an empty or non-string command name', () => {
    expect(() => encodeCommand('', [])).toThrow(TypeError);
    expect(() => encodeCommand(42 as unknown as string, [])).toThrow(TypeError);
  });
});
