import fc from 'fast-check';
import { SLOT_COUNT, keySlot } from '../../lib/cluster/hash-slot';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisArgument } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';

/** A lone cluster-enabled server answers CLUSTER KEYSLOT without any slot assigned. */
const CLUSTER_CONFIG = ['cluster-enabled yes', 'cluster-config-file nodes.conf'];

describe('keySlot', () => {
  const server = useRedisServer({ extraConfig: CLUSTER_CONFIG });
  let pool: ConnectionPool;

  beforeAll(() => {
    pool = new ConnectionPool({ host: server().host, port: server().port });
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  /** What the server says, for each key sent as it is (Buffers as Buffers). */
  const serverSlots = (keys: readonly RedisArgument[]): Promise<number[]> =>
    Promise.all(keys.map((key) => pool.executeCommand<number>('CLUSTER KEYSLOT', key)));

  const expectServerAgrees = async (keys: readonly RedisArgument[]): Promise<void> => {
    expect(keys.map((key) => keySlot(key))).toEqual(await serverSlots(keys));
  };

  it('has 16384 slots and hashes the CRC16-XMODEM check string to 0x31C3', () => {
    expect(SLOT_COUNT).toBe(16384);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot(Buffer.from('123456789'))).toBe(12739);
    expect(keySlot(123456789)).toBe(12739);
    expect(keySlot(123456789n)).toBe(12739);
    expect(keySlot('')).toBe(0);
    expect(keySlot('foo')).toBe(12182);
  });

  it('hashes only the first non-empty hash tag', () => {
    const tagged = keySlot('user1000');
    expect(keySlot('{user1000}.following')).toBe(tagged);
    expect(keySlot('{user1000}.followers')).toBe(tagged);
    expect(keySlot('x{user1000}')).toBe(tagged);
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(keySlot('a{b}c{d}')).toBe(keySlot('b'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('}{a}')).toBe(keySlot('a'));
    // An empty tag, or braces in the wrong order, leave the whole key hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('{}user1000')).not.toBe(tagged);
    expect(keySlot(Buffer.from('\xff{user1000}\x00', 'latin1'))).toBe(tagged);
  });

  it('agrees with CLUSTER KEYSLOT on fixed vectors: tags, braces, UTF-8, bytes and numbers', async () => {
    const view = new Uint8Array([0x7b, 0x7b, 0x61, 0x62, 0x7d, 0x63]).subarray(1, 5);
    await expectServerAgrees([
      '123456789',
      '',
      'foo',
      '{user1000}.following',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      '{',
      '}',
      '{}',
      '}{',
      '{a',
      'a}',
      'a{b}c{d}',
      '{}{b}',
      'é',
      'é{ü}x',
      '{😀}',
      'x{€}y{z}',
      '\ud800{a}',
      Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d]),
      Buffer.from([0x7b, 0x7d, 0x7b, 0x01, 0x7d]),
      Buffer.alloc(0),
      view,
      0,
      -7,
      42,
      1.5,
      -0.25,
      2 ** 60,
      1e21,
      Number.MAX_SAFE_INTEGER,
      2n ** 70n,
      -5n,
    ]);
  });

  it('refuses what the encoder refuses', () => {
    expect(() => keySlot(NaN)).toThrow(TypeError);
    expect(() => keySlot(Infinity)).toThrow(TypeError);
    expect(() => keySlot(null as unknown as RedisArgument)).toThrow(TypeError);
  });

  const asBatch = <T>(key: fc.Arbitrary<T>) => fc.array(key, { minLength: 1, maxLength: 25 });
  const withBraces = fc.string({
    unit: fc.constantFrom('{', '}', '{}', '}{', 'a', 'b', 'é', '€', '😀', '\ud800', 'x{y}'),
    maxLength: 12,
  });
  const braceBytes = fc
    .array(fc.oneof(fc.constantFrom(0x7b, 0x7d), fc.integer({ min: 0, max: 255 })), {
      maxLength: 24,
    })
    .map((bytes) => Buffer.from(bytes));

  it.each([
    ['printable ASCII strings', fc.string()],
    ['ASCII strings with control characters', fc.string({ unit: 'binary-ascii' })],
    ['Unicode strings', fc.string({ unit: 'grapheme' })],
    ['strings of any code points', fc.string({ unit: 'binary' })],
    ['strings full of braces', withBraces],
    ['Buffers', fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))],
    ['Buffers full of braces', braceBytes],
    ['integers', fc.oneof(fc.integer(), fc.bigInt())],
  ] as Array<[string, fc.Arbitrary<RedisArgument>]>)(
    'agrees with CLUSTER KEYSLOT on random %s',
    async (_name, key) => {
      await fc.assert(
        fc.asyncProperty(asBatch(key), async (keys) => {
          await expectServerAgrees(keys);
        }),
        { numRuns: 60 },
      );
    },
  );
});
