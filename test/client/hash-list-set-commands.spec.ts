import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, useService } from './client-helpers';

const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a]);

async function expectWrongType(call: () => Promise<unknown>): Promise<void> {
  const error = await rejectionOf(call());
  expect(error).toBeInstanceOf(ResponseError);
  expect((error as ResponseError).code).toBe('WRONGTYPE');
}

describe.each(PROTOCOLS)('RedisService hash, list and set commands (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  describe('hashes', () => {
    it('hset (field/value, object, pairs), hget, hmget, hlen, hexists', async () => {
      const h = key('h');
      await expect(redis().hset(h, 'a', '1')).resolves.toBe(1);
      await expect(redis().hset(h, { a: 'one', b: 2 })).resolves.toBe(1);
      await expect(redis().hset(h, [['c', '3']])).resolves.toBe(1);
      await expect(redis().hset(h, new Map([['d', '4']]))).resolves.toBe(1);
      await expect(redis().hget(h, 'a')).resolves.toBe('one');
      await expect(redis().hget(h, 'zz')).resolves.toBeNull();
      await expect(redis().hget(key(), 'a')).resolves.toBeNull();
      await expect(redis().hmget(h, 'a', 'zz', 'b')).resolves.toEqual(['one', null, '2']);
      await expect(redis().hlen(h)).resolves.toBe(4);
      await expect(redis().hlen(key())).resolves.toBe(0);
      await expect(redis().hexists(h, 'c')).resolves.toBe(true);
      await expect(redis().hexists(h, 'zz')).resolves.toBe(false);
      await expect(redis().hsetnx(h, 'a', 'x')).resolves.toBe(false);
      await expect(redis().hsetnx(h, 'e', 'x')).resolves.toBe(true);
    });

    it('hgetall is a null-prototype object under both protocols, {} for a missing key', async () => {
      const h = key('h');
      await redis().hset(h, { f1: 'v1', 'ünï 🔑': 'ü' });
      const all = await redis().hgetall(h);
      expect(Object.getPrototypeOf(all)).toBeNull();
      expect({ ...all }).toEqual({ f1: 'v1', 'ünï 🔑': 'ü' });
      const empty = await redis().hgetall(key());
      expect(Object.getPrototypeOf(empty)).toBeNull();
      expect(Object.keys(empty)).toEqual([]);
    });

    it('hgetall keeps __proto__ and constructor fields as data, with no prototype pollution', async () => {
      const h = key('h');
      await redis().hset(h, [
        ['__proto__', '{"polluted":true}'],
        ['constructor', 'c'],
        ['toString', 't'],
        ['hasOwnProperty', 'h'],
      ]);
      const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'].sort();
      const all = await redis().hgetall(h);
      expect(Object.getPrototypeOf(all)).toBeNull();
      expect(Object.keys(all).sort()).toEqual(names);
      expect(all['__proto__']).toBe('{"polluted":true}');
      expect(all['constructor']).toBe('c');
      const pairs = await redis().hgetallBuffer(h);
      expect(pairs.map(([field]) => field.toString()).sort()).toEqual(names);
      const value = (name: string) => pairs.find(([field]) => field.toString() === name)?.[1];
      expect(value('__proto__')).toEqual(Buffer.from('{"polluted":true}'));
      expect(value('constructor')).toEqual(Buffer.from('c'));
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('hdel, hincrby, hincrbyfloat, hkeys, hvals', async () => {
      const h = key('h');
      await expect(redis().hincrby(h, 'n', 5)).resolves.toBe(5);
      await expect(redis().hincrby(h, 'n', -7)).resolves.toBe(-2);
      await expect(redis().hincrbyfloat(h, 'f', 1.25)).resolves.toBe(1.25);
      await expect(redis().hkeys(h)).resolves.toEqual(['n', 'f']);
      await expect(redis().hvals(h)).resolves.toEqual(['-2', '1.25']);
      await expect(redis().hdel(h, 'n', 'zz')).resolves.toBe(1);
      await expect(redis().hkeys(key())).resolves.toEqual([]);
      await expect(redis().hvals(key())).resolves.toEqual([]);
    });

    it('Buffer variants keep binary values', async () => {
      const h = key('h');
      await redis().hset(h, { bin: BINARY, text: 'ok' });
      await expect(redis().hgetBuffer(h, 'bin')).resolves.toEqual(BINARY);
      await expect(redis().hgetBuffer(h, 'zz')).resolves.toBeNull();
      await expect(redis().hmgetBuffer(h, 'bin', 'zz')).resolves.toEqual([BINARY, null]);
      const pairs = await redis().hgetallBuffer(h);
      const all = new Map(pairs.map(([field, value]) => [field.toString(), value]));
      expect(all.get('bin')).toEqual(BINARY);
      expect(all.get('text')).toEqual(Buffer.from('ok'));
      expect(await redis().hvalsBuffer(h)).toEqual([BINARY, Buffer.from('ok')]);
    });

    it('WRONGTYPE', async () => {
      const k = key();
      await redis().set(k, 'v');
      await expectWrongType(() => redis().hgetall(k));
      await expectWrongType(() => redis().hset(k, 'f', 'v'));
      await expectWrongType(() => redis().hgetBuffer(k, 'f'));
    });
  });

  describe('lists', () => {
    it('lpush, rpush, lrange, llen, lindex', async () => {
      const l = key('l');
      await expect(redis().rpush(l, 'b', 'c')).resolves.toBe(2);
      await expect(redis().lpush(l, 'a')).resolves.toBe(3);
      await expect(redis().lrange(l, 0, -1)).resolves.toEqual(['a', 'b', 'c']);
      await expect(redis().lrange(l, 5, 10)).resolves.toEqual([]);
      await expect(redis().lrange(key(), 0, -1)).resolves.toEqual([]);
      await expect(redis().llen(l)).resolves.toBe(3);
      await expect(redis().lindex(l, -1)).resolves.toBe('c');
      await expect(redis().lindex(l, 9)).resolves.toBeNull();
    });

    it('lpop/rpop with and without a count; nil for a missing key', async () => {
      const l = key('l');
      await redis().rpush(l, '1', '2', '3', '4', '5');
      await expect(redis().lpop(l)).resolves.toBe('1');
      await expect(redis().rpop(l)).resolves.toBe('5');
      await expect(redis().lpop(l, 2)).resolves.toEqual(['2', '3']);
      await expect(redis().rpop(l, 5)).resolves.toEqual(['4']);
      await expect(redis().lpop(l)).resolves.toBeNull();
      await expect(redis().lpop(l, 2)).resolves.toBeNull();
      await expect(redis().rpop(l, 2)).resolves.toBeNull();
    });

    it('lrem, ltrim, lmove', async () => {
      const [l, m] = [key('l'), key('l')];
      await redis().rpush(l, 'x', 'a', 'x', 'b', 'x', 'c');
      await expect(redis().lrem(l, 2, 'x')).resolves.toBe(2);
      await expect(redis().lrange(l, 0, -1)).resolves.toEqual(['a', 'b', 'x', 'c']);
      await expect(redis().ltrim(l, 1, 2)).resolves.toBe('OK');
      await expect(redis().lrange(l, 0, -1)).resolves.toEqual(['b', 'x']);
      await expect(redis().lmove(l, m, 'LEFT', 'RIGHT')).resolves.toBe('b');
      await expect(redis().lmove(l, m, 'RIGHT', 'LEFT')).resolves.toBe('x');
      await expect(redis().lrange(m, 0, -1)).resolves.toEqual(['x', 'b']);
      await expect(redis().lmove(l, m, 'LEFT', 'LEFT')).resolves.toBeNull();
    });

    it('Buffer variants keep binary elements', async () => {
      const l = key('l');
      await redis().rpush(l, BINARY, 'text', BINARY);
      await expect(redis().lrangeBuffer(l, 0, -1)).resolves.toEqual([
        BINARY,
        Buffer.from('text'),
        BINARY,
      ]);
      await expect(redis().lpopBuffer(l)).resolves.toEqual(BINARY);
      await expect(redis().rpopBuffer(l, 5)).resolves.toEqual([BINARY, Buffer.from('text')]);
      await expect(redis().rpopBuffer(l)).resolves.toBeNull();
      await expect(redis().lpopBuffer(l, 1)).resolves.toBeNull();
    });

    it('WRONGTYPE', async () => {
      const k = key();
      await redis().hset(k, 'f', 'v');
      await expectWrongType(() => redis().lpush(k, 'v'));
      await expectWrongType(() => redis().lrange(k, 0, -1));
      await expectWrongType(() => redis().lpop(k, 2));
    });
  });

  describe('sets', () => {
    it('sadd, srem, smembers, sismember, smismember, scard', async () => {
      const s = key('s');
      await expect(redis().sadd(s, 'a', 'b', 'c', 'a')).resolves.toBe(3);
      await expect(redis().srem(s, 'c', 'zz')).resolves.toBe(1);
      expect((await redis().smembers(s)).sort()).toEqual(['a', 'b']);
      await expect(redis().smembers(key())).resolves.toEqual([]);
      await expect(redis().sismember(s, 'a')).resolves.toBe(true);
      await expect(redis().sismember(s, 'zz')).resolves.toBe(false);
      await expect(redis().smismember(s, 'a', 'zz', 'b')).resolves.toEqual([true, false, true]);
      await expect(redis().scard(s)).resolves.toBe(2);
      await expect(redis().scard(key())).resolves.toBe(0);
    });

    it('sinter, sunion, sdiff (same slot keys)', async () => {
      const tag = key('{t}');
      const [a, b] = [`${tag}:a`, `${tag}:b`];
      await redis().sadd(a, '1', '2', '3');
      await redis().sadd(b, '2', '3', '4');
      expect((await redis().sinter(a, b)).sort()).toEqual(['2', '3']);
      expect((await redis().sunion(a, b)).sort()).toEqual(['1', '2', '3', '4']);
      await expect(redis().sdiff(a, b)).resolves.toEqual(['1']);
      await expect(redis().sinter(a, `${tag}:missing`)).resolves.toEqual([]);
    });

    it('smembersBuffer keeps binary members; unicode members are UTF-8', async () => {
      const s = key('s');
      await redis().sadd(s, BINARY);
      await expect(redis().smembersBuffer(s)).resolves.toEqual([BINARY]);
      const u = key('ü');
      await redis().sadd(u, 'ж', '🙂');
      expect((await redis().smembers(u)).sort()).toEqual(['ж', '🙂'].sort());
    });

    it('WRONGTYPE', async () => {
      const k = key();
      await redis().set(k, 'v');
      await expectWrongType(() => redis().sadd(k, 'm'));
      await expectWrongType(() => redis().smembers(k));
      await expectWrongType(() => redis().smismember(k, 'm'));
    });
  });
});
