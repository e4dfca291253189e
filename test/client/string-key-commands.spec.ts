import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, useService } from './client-helpers';

const BINARY = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x24, 0x2a, 0xc3]);

describe.each(PROTOCOLS)('RedisService string and key commands (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  describe('strings', () => {
    it('get/set, with nil for a missing key', async () => {
      const k = key();
      await expect(redis().get(k)).resolves.toBeNull();
      await expect(redis().set(k, 'v')).resolves.toBe('OK');
      await expect(redis().get(k)).resolves.toBe('v');
      await expect(redis().set(k, 42)).resolves.toBe('OK');
      await expect(redis().get(k)).resolves.toBe('42');
    });

    it('set with EX, PX, EXAT, PXAT and KEEPTTL', async () => {
      const k = key();
      await redis().set(k, 'v', { ex: 100 });
      expect(await redis().ttl(k)).toBeGreaterThan(90);
      await redis().set(k, 'v', { px: 50_000 });
      expect(await redis().pttl(k)).toBeGreaterThan(40_000);
      await redis().set(k, 'v', { exat: Math.floor(Date.now() / 1000) + 500 });
      expect(await redis().ttl(k)).toBeGreaterThan(400);
      await redis().set(k, 'v', { pxat: Date.now() + 300_000 });
      expect(await redis().ttl(k)).toBeGreaterThan(200);
      await redis().set(k, 'w', { keepTtl: true });
      expect(await redis().ttl(k)).toBeGreaterThan(200);
      await redis().set(k, 'x');
      await expect(redis().ttl(k)).resolves.toBe(-1);
    });

    it('set NX/XX resolve null when their condition fails, GET the previous value', async () => {
      const k = key();
      await expect(redis().set(k, 'a', { xx: true })).resolves.toBeNull();
      await expect(redis().set(k, 'a', { nx: true })).resolves.toBe('OK');
      await expect(redis().set(k, 'b', { nx: true })).resolves.toBeNull();
      await expect(redis().set(k, 'c', { xx: true })).resolves.toBe('OK');
      await expect(redis().set(k, 'd', { get: true })).resolves.toBe('c');
      await expect(redis().set(key(), 'd', { get: true })).resolves.toBeNull();
      await expect(redis().setnx(k, 'e')).resolves.toBe(false);
      await expect(redis().setnx(key(), 'e')).resolves.toBe(true);
    });

    it('set rejects conflicting options with the server error', async () => {
      const error = await rejectionOf(redis().set(key(), 'v', { nx: true, xx: true }));
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).code).toBe('ERR');
    });

    it('mget/mset from an object, a Map and pairs', async () => {
      const [a, b, c] = [key(), key(), key()];
      await expect(redis().mset({ [a]: '1', [b]: 2 })).resolves.toBe('OK');
      await redis().mset(new Map([[c, 'three']]));
      await expect(redis().mget(a, b, c, key())).resolves.toEqual(['1', '2', 'three', null]);
      await redis().mset([[Buffer.from(a), BINARY]]);
      await expect(redis().mgetBuffer(a, key())).resolves.toEqual([BINARY, null]);
    });

    it('incr, incrby, incrbyfloat, decr, decrby', async () => {
      const k = key();
      await expect(redis().incr(k)).resolves.toBe(1);
      await expect(redis().incrby(k, 10)).resolves.toBe(11);
      await expect(redis().decr(k)).resolves.toBe(10);
      await expect(redis().decrby(k, 20)).resolves.toBe(-10);
      await expect(redis().incrbyfloat(k, 0.5)).resolves.toBe(-9.5);
      await expect(redis().incrbyfloat(k, 1e3)).resolves.toBe(990.5);
    });

    it('a counter beyond 2^53 is never rounded: RangeError, exact through executeCommand', async () => {
      const k = key();
      await redis().set(k, '9007199254740991');
      await expect(redis().incr(k)).rejects.toThrow(RangeError);
      await expect(redis().executeCommand('INCR', k)).resolves.toBe(9007199254740993n);
      await expect(
        redis()
          .incr(key('nan'))
          .then(() => redis().incrby(k, 1)),
      ).rejects.toThrow(/MAX_SAFE_INTEGER/);
    });

    it('a non-integer value gives the server error', async () => {
      const k = key();
      await redis().set(k, 'abc');
      const error = await rejectionOf(redis().incr(k));
      expect(error).toBeInstanceOf(ResponseError);
      expect(error.message).toMatch(/not an integer/);
    });

    it('append, strlen (bytes), getdel, getex', async () => {
      const k = key();
      await expect(redis().append(k, 'ab')).resolves.toBe(2);
      await expect(redis().append(k, 'ç')).resolves.toBe(4);
      await expect(redis().strlen(k)).resolves.toBe(4);
      await expect(redis().strlen(key())).resolves.toBe(0);
      await expect(redis().getex(k, { ex: 100 })).resolves.toBe('abç');
      expect(await redis().ttl(k)).toBeGreaterThan(90);
      await expect(redis().getex(k, { persist: true })).resolves.toBe('abç');
      await expect(redis().ttl(k)).resolves.toBe(-1);
      await expect(redis().getex(k, { px: 100_000 })).resolves.toBe('abç');
      await expect(redis().getdel(k)).resolves.toBe('abç');
      await expect(redis().getdel(k)).resolves.toBeNull();
      await expect(redis().getex(k)).resolves.toBeNull();
    });

    it('binary values round-trip through the Buffer variants', async () => {
      const k = key();
      await redis().set(k, BINARY);
      await expect(redis().getBuffer(k)).resolves.toEqual(BINARY);
      await expect(redis().strlen(k)).resolves.toBe(BINARY.length);
      await expect(redis().getexBuffer(k, { ex: 10 })).resolves.toEqual(BINARY);
      await expect(redis().getdelBuffer(k)).resolves.toEqual(BINARY);
      await expect(redis().getBuffer(k)).resolves.toBeNull();
      const empty = key();
      await redis().set(empty, '');
      await expect(redis().getBuffer(empty)).resolves.toEqual(Buffer.alloc(0));
      await expect(redis().get(empty)).resolves.toBe('');
    });

    it('binary keys work too', async () => {
      const k = Buffer.concat([Buffer.from('bin:'), BINARY]);
      await redis().set(k, 'v');
      await expect(redis().get(k)).resolves.toBe('v');
      await expect(redis().exists(k)).resolves.toBe(1);
    });

    it('unicode keys and values are UTF-8', async () => {
      const k = `ключ:🔑:${key()}`;
      await redis().set(k, 'значение 🚀');
      await expect(redis().get(k)).resolves.toBe('значение 🚀');
      await expect(redis().strlen(k)).resolves.toBe(Buffer.byteLength('значение 🚀'));
      await expect(redis().getBuffer(k)).resolves.toEqual(Buffer.from('значение 🚀'));
    });

    it('WRONGTYPE is a ResponseError with its code', async () => {
      const k = key();
      await redis().lpush(k, 'x');
      for (const call of [
        () => redis().get(k),
        () => redis().append(k, 'x'),
        () => redis().incr(k),
      ]) {
        const error = await rejectionOf(call());
        expect(error).toBeInstanceOf(ResponseError);
        expect((error as ResponseError).code).toBe('WRONGTYPE');
      }
    });
  });

  describe('keys', () => {
    it('del, unlink, exists', async () => {
      const [a, b, c] = [key(), key(), key()];
      await redis().mset({ [a]: 1, [b]: 2, [c]: 3 });
      await expect(redis().exists(a, b, key())).resolves.toBe(2);
      await expect(redis().exists(a, a)).resolves.toBe(2);
      await expect(redis().del(a, key())).resolves.toBe(1);
      await expect(redis().unlink(b, c)).resolves.toBe(2);
      await expect(redis().exists(a, b, c)).resolves.toBe(0);
    });

    it('expire and its NX/XX/GT/LT conditions', async () => {
      const k = key();
      await expect(redis().expire(k, 100)).resolves.toBe(false);
      await redis().set(k, 'v');
      await expect(redis().expire(k, 100, 'XX')).resolves.toBe(false);
      await expect(redis().expire(k, 100, 'NX')).resolves.toBe(true);
      await expect(redis().expire(k, 200, 'NX')).resolves.toBe(false);
      await expect(redis().expire(k, 50, 'GT')).resolves.toBe(false);
      await expect(redis().expire(k, 300, 'GT')).resolves.toBe(true);
      await expect(redis().expire(k, 400, 'LT')).resolves.toBe(false);
      await expect(redis().expire(k, 150, 'LT')).resolves.toBe(true);
      const ttl = await redis().ttl(k);
      expect(ttl).toBeGreaterThan(140);
      expect(ttl).toBeLessThanOrEqual(150);
    });

    it('pexpire, expireat, pexpireat, ttl, pttl, persist', async () => {
      const k = key();
      await expect(redis().ttl(k)).resolves.toBe(-2);
      await expect(redis().pttl(k)).resolves.toBe(-2);
      await redis().set(k, 'v');
      await expect(redis().ttl(k)).resolves.toBe(-1);
      await expect(redis().pexpire(k, 60_000)).resolves.toBe(true);
      expect(await redis().pttl(k)).toBeGreaterThan(50_000);
      await expect(redis().expireat(k, Math.floor(Date.now() / 1000) + 1000)).resolves.toBe(true);
      expect(await redis().ttl(k)).toBeGreaterThan(900);
      await expect(redis().pexpireat(k, Date.now() + 2_000_000, 'GT')).resolves.toBe(true);
      expect(await redis().ttl(k)).toBeGreaterThan(1900);
      await expect(redis().persist(k)).resolves.toBe(true);
      await expect(redis().persist(k)).resolves.toBe(false);
      await expect(redis().ttl(k)).resolves.toBe(-1);
      await expect(redis().pexpire(k, 1)).resolves.toBe(true);
    });

    it('type names every kind of value', async () => {
      const base = key();
      await redis().set(`${base}:s`, 'v');
      await redis().rpush(`${base}:l`, 'v');
      await redis().sadd(`${base}:set`, 'v');
      await redis().zadd(`${base}:z`, { score: 1, member: 'v' });
      await redis().hset(`${base}:h`, 'f', 'v');
      await redis().xadd(`${base}:x`, '*', { f: 'v' });
      const types = await Promise.all(
        ['s', 'l', 'set', 'z', 'h', 'x', 'missing'].map((s) => redis().type(`${base}:${s}`)),
      );
      expect(types).toEqual(['string', 'list', 'set', 'zset', 'hash', 'stream', 'none']);
    });

    it('rename, renamenx, and the error for a missing key', async () => {
      const [a, b, c] = [key(), key(), key()];
      await redis().set(a, '1');
      await expect(redis().rename(a, b)).resolves.toBe('OK');
      await expect(redis().get(b)).resolves.toBe('1');
      const error = await rejectionOf(redis().rename(a, c));
      expect(error).toBeInstanceOf(ResponseError);
      expect(error.message).toMatch(/no such key/);
      await redis().set(c, '2');
      await expect(redis().renamenx(b, c)).resolves.toBe(false);
      await expect(redis().renamenx(b, a)).resolves.toBe(true);
    });

    it('copy, with REPLACE and to another db', async () => {
      const [a, b] = [key(), key()];
      await redis().set(a, 'src');
      await expect(redis().copy(a, b)).resolves.toBe(true);
      await expect(redis().get(b)).resolves.toBe('src');
      await redis().set(a, 'newer');
      await expect(redis().copy(a, b)).resolves.toBe(false);
      await expect(redis().copy(a, b, { replace: true })).resolves.toBe(true);
      await expect(redis().get(b)).resolves.toBe('newer');
      await expect(redis().copy(a, b, { db: 1 })).resolves.toBe(true);
      await expect(server().cli('-n', '1', 'GET', b)).resolves.toBe('newer');
      await expect(redis().copy(key(), key())).resolves.toBe(false);
    });
  });
});
