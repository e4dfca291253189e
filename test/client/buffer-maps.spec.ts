import { randomBytes } from 'node:crypto';
import { RedisMapEntries } from '../../lib/protocol/resp-maps';
import type { RedisReply } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, openService, useService } from './client-helpers';

/*
 * Scenario 39: binary hash fields under RESP3 in Buffer mode stay distinct and byte-exact, and the Buffer helpers
 * give the same shape under both protocols.
 */

const FF = Buffer.from([0xff]);
const FE = Buffer.from([0xfe]);

/** Pairs in a canonical order (HGETALL's order is the server's), as hex for readable failures. */
function canonical(pairs: Array<[Buffer, Buffer]>): Array<[string, string]> {
  return pairs
    .map(([field, value]): [string, string] => [field.toString('hex'), value.toString('hex')])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe.each(PROTOCOLS)('Buffer-mode maps against redis-server (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  /** A hash with fields 0xff and 0xfe (the same text once decoded as UTF-8), and hostile names as data. */
  async function binaryHash(): Promise<{ h: string; fields: Array<[Buffer, Buffer]> }> {
    const h = key('h');
    const fields: Array<[Buffer, Buffer]> = [
      [FF, Buffer.from([0x00, 0xff])],
      [FE, Buffer.from([0x0d, 0x0a])],
      [Buffer.from('__proto__'), Buffer.from('{"polluted":true}')],
      [Buffer.from('constructor'), Buffer.from('c')],
      [Buffer.from('text'), Buffer.from('ünï')],
    ];
    await redis().executeCommand('HSET', h, ...fields.flat());
    return { h, fields };
  }

  it('hgetallBuffer keeps 0xff and 0xfe fields distinct and byte-exact, hostile names as data', async () => {
    const { h, fields } = await binaryHash();
    const pairs = await redis().hgetallBuffer(h);
    expect(Array.isArray(pairs)).toBe(true);
    expect(pairs).toHaveLength(fields.length);
    for (const [field, value] of pairs) {
      expect(Buffer.isBuffer(field)).toBe(true);
      expect(Buffer.isBuffer(value)).toBe(true);
    }
    expect(canonical(pairs)).toEqual(canonical(fields));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    await expect(redis().hgetallBuffer(key('missing'))).resolves.toEqual([]);
  });

  it('keeps hundreds of random binary fields of a hashtable-encoded hash apart', async () => {
    const h = key('h');
    const fields = Array.from({ length: 300 }, (_, i): [Buffer, Buffer] => [
      Buffer.concat([randomBytes(6), Buffer.from([0x80 | (i & 0x3f), i >> 6])]),
      randomBytes(i % 40),
    ]);
    await redis().executeCommand('HSET', h, ...fields.flat());
    await expect(redis().hlen(h)).resolves.toBe(300);
    expect(canonical(await redis().hgetallBuffer(h))).toEqual(canonical(fields));
  });

  it('gives the same pairs in pipelines and transactions, beside text replies', async () => {
    const { h, fields } = await binaryHash();
    const [text, pairs] = (await redis().pipeline().hgetall(h).hgetallBuffer(h).exec()) as [
      Record<string, string>,
      Array<[Buffer, Buffer]>,
    ];
    expect(canonical(pairs)).toEqual(canonical(fields));
    expect(Object.getPrototypeOf(text)).toBeNull();
    expect(text['__proto__']).toBe('{"polluted":true}');
    // In an EXEC that decodes Buffers for hgetallBuffer, hgetall's map still comes back as a text object.
    const [inTx, raw, pairsInTx] = (await redis()
      .multi()
      .hgetall(h)
      .executeCommand('HGETALL', h)
      .hgetallBuffer(h)
      .exec()) as [Record<string, string>, RedisReply, Array<[Buffer, Buffer]>];
    expect(canonical(pairsInTx)).toEqual(canonical(fields));
    expect({ ...inTx }).toEqual({ ...text });
    expect(Object.getPrototypeOf(inTx)).toBeNull();
    if (protocol === 3) expect(Object.getPrototypeOf(raw)).toBeNull();
    else expect(Array.isArray(raw)).toBe(true);
  });

  it('executeCommandBuffer: a RESP3 map is RedisMapEntries, RESP2 sends a flat array', async () => {
    const { h, fields } = await binaryHash();
    const reply = await redis().executeCommandBuffer<RedisReply>('HGETALL', h);
    if (protocol === 3) {
      expect(reply).toBeInstanceOf(RedisMapEntries);
      expect(canonical(reply as Array<[Buffer, Buffer]>)).toEqual(canonical(fields));
    } else {
      expect(reply).not.toBeInstanceOf(RedisMapEntries);
      expect(reply).toHaveLength(2 * fields.length);
    }
  });
});

describe('hgetallBuffer under RESP2 and RESP3', () => {
  const server = useRedisServer();

  it('resolves the same pairs in the same order', async () => {
    const [two, three] = [openService(server(), 2), openService(server(), 3)];
    try {
      const h = key('h');
      await two.executeCommand('HSET', h, FF, 'a', FE, 'b', '__proto__', 'p', Buffer.alloc(0), '');
      const [fromTwo, fromThree] = await Promise.all([
        two.hgetallBuffer(h),
        three.hgetallBuffer(h),
      ]);
      expect(fromThree).toEqual(fromTwo);
      expect(canonical(fromTwo)).toEqual(
        canonical([
          [FF, Buffer.from('a')],
          [FE, Buffer.from('b')],
          [Buffer.from('__proto__'), Buffer.from('p')],
          [Buffer.alloc(0), Buffer.alloc(0)],
        ]),
      );
    } finally {
      await Promise.all([two.pool.disconnect(), three.pool.disconnect()]);
    }
  });
});
