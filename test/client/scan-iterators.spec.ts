import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, sleep, useService } from './client-helpers';

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

describe.each(PROTOCOLS)('RedisService scan iterators (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  /** SCAN-family calls the server has counted so far. */
  const calls = async (command: string): Promise<number> => {
    const stats = await redis().info('commandstats');
    const line = stats['commandstats']?.[`cmdstat_${command}`] ?? 'calls=0';
    return Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
  };

  it('scanIterator walks every key, with MATCH, COUNT and TYPE', async () => {
    const prefix = key('scan');
    const names = Array.from({ length: 250 }, (_, i) => `${prefix}:${i}`);
    await redis().mset(names.map((name) => [name, 'v'] as const));
    await redis().rpush(`${prefix}:list`, 'x');
    const keys = await collect(redis().scanIterator({ match: `${prefix}:*`, count: 50 }));
    expect(new Set(keys)).toEqual(new Set([...names, `${prefix}:list`]));
    const lists = await collect(redis().scanIterator({ match: `${prefix}:*`, type: 'list' }));
    expect(lists).toEqual([`${prefix}:list`]);
    await expect(collect(redis().scanIterator({ match: `${key('none')}:*` }))).resolves.toEqual([]);
  });

  it('break stops the walk: the generator is finished and no SCAN is sent after it', async () => {
    const prefix = key('brk');
    await redis().mset(Array.from({ length: 300 }, (_, i) => [`${prefix}:${i}`, 'v'] as const));
    const before = await calls('scan');
    const iterator = redis().scanIterator({ match: `${prefix}:*`, count: 100_000 });
    const seen: string[] = [];
    for await (const k of iterator) {
      seen.push(k);
      if (seen.length === 3) break;
    }
    expect(seen).toHaveLength(3);
    // COUNT 100 000 covers the whole small keyspace in one page: exactly one SCAN was needed.
    expect((await calls('scan')) - before).toBe(1);
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    await sleep(20);
    expect((await calls('scan')) - before).toBe(1);
  });

  it('hscanIterator yields { field, value }, including __proto__ fields', async () => {
    const h = key('h');
    const fields = Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`] as const);
    await redis().hset(h, [...fields, ['__proto__', 'p']]);
    const entries = await collect(redis().hscanIterator(h, { count: 40 }));
    const map = new Map(entries.map((e) => [e.field, e.value]));
    expect(map.size).toBe(301);
    expect(map.get('__proto__')).toBe('p');
    expect(map.get('f299')).toBe('v299');
    const matched = await collect(redis().hscanIterator(h, { match: 'f1?' }));
    expect(matched.map((e) => e.field).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `f1${i}`),
    );
    await expect(collect(redis().hscanIterator(key()))).resolves.toEqual([]);
  });

  it('sscanIterator yields members, stops on break', async () => {
    const s = key('s');
    const members = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await redis().sadd(s, ...members);
    expect(new Set(await collect(redis().sscanIterator(s, { count: 100 })))).toEqual(
      new Set(members),
    );
    let n = 0;
    for await (const member of redis().sscanIterator(s)) {
      expect(member).toMatch(/^m\d+$/);
      if (++n === 5) break;
    }
    expect(n).toBe(5);
    await expect(collect(redis().sscanIterator(key()))).resolves.toEqual([]);
  });

  it('zscanIterator yields { member, score } with numeric scores', async () => {
    const z = key('z');
    await redis().zadd(
      z,
      Array.from({ length: 200 }, (_, i) => ({ score: i / 2, member: `m${i}` })),
    );
    await redis().zadd(z, { score: -Infinity, member: 'low' });
    const members = await collect(redis().zscanIterator(z, { count: 50 }));
    expect(members).toHaveLength(201);
    expect(members).toContainEqual({ member: 'm7', score: 3.5 });
    expect(members).toContainEqual({ member: 'low', score: -Infinity });
    await expect(collect(redis().zscanIterator(key()))).resolves.toEqual([]);
  });

  it('single pages: scan, hscan, sscan, zscan', async () => {
    const h = key('h');
    await redis().hset(h, 'f', 'v');
    await expect(redis().hscan(h, 0)).resolves.toEqual({
      cursor: '0',
      items: [{ field: 'f', value: 'v' }],
    });
    const page = await redis().scan('0', { match: h });
    expect(typeof page.cursor).toBe('string');
    const s = key('s');
    await redis().sadd(s, 'a');
    await expect(redis().sscan(s, '0')).resolves.toEqual({ cursor: '0', items: ['a'] });
    const z = key('z');
    await redis().zadd(z, { score: 2, member: 'a' });
    await expect(redis().zscan(z, '0')).resolves.toEqual({
      cursor: '0',
      items: [{ member: 'a', score: 2 }],
    });
  });

  it('WRONGTYPE surfaces from the iterator', async () => {
    const k = key();
    await redis().set(k, 'v');
    const error = await rejectionOf(collect(redis().hscanIterator(k)));
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).code).toBe('WRONGTYPE');
  });
});
