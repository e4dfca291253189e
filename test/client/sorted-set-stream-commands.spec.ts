import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, useService } from './client-helpers';

describe.each(PROTOCOLS)('RedisService sorted-set and stream commands (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  describe('sorted sets', () => {
    const seed = async (z: string) => {
      await redis().zadd(z, [
        { score: 1, member: 'a' },
        { score: 2, member: 'b' },
        { score: 3.5, member: 'c' },
        { score: -Infinity, member: 'low' },
        { score: Infinity, member: 'high' },
      ]);
    };

    it('zadd with NX/XX/GT/LT/CH, zcard, zscore (numbers, infinities, nil)', async () => {
      const z = key('z');
      await expect(redis().zadd(z, { score: 1, member: 'a' })).resolves.toBe(1);
      await expect(redis().zadd(z, { score: 5, member: 'a' }, { nx: true })).resolves.toBe(0);
      await expect(redis().zscore(z, 'a')).resolves.toBe(1);
      await expect(redis().zadd(z, { score: 5, member: 'b' }, { xx: true })).resolves.toBe(0);
      await expect(redis().zscore(z, 'b')).resolves.toBeNull();
      await expect(
        redis().zadd(z, { score: 0, member: 'a' }, { gt: true, ch: true }),
      ).resolves.toBe(0);
      await expect(
        redis().zadd(z, { score: 9, member: 'a' }, { gt: true, ch: true }),
      ).resolves.toBe(1);
      await expect(
        redis().zadd(z, { score: 10, member: 'a' }, { lt: true, ch: true }),
      ).resolves.toBe(0);
      await expect(redis().zscore(z, 'a')).resolves.toBe(9);
      await redis().zadd(z, [
        { score: Infinity, member: 'inf' },
        { score: -Infinity, member: 'ninf' },
        { score: 0.1, member: 'tenth' },
      ]);
      await expect(redis().zscore(z, 'inf')).resolves.toBe(Infinity);
      await expect(redis().zscore(z, 'ninf')).resolves.toBe(-Infinity);
      await expect(redis().zscore(z, 'tenth')).resolves.toBe(0.1);
      await expect(redis().zcard(z)).resolves.toBe(4);
      await expect(redis().zcard(key())).resolves.toBe(0);
      await expect(redis().zscore(key(), 'a')).resolves.toBeNull();
    });

    it('zincrby is a number under both protocols', async () => {
      const z = key('z');
      await expect(redis().zincrby(z, 2.5, 'm')).resolves.toBe(2.5);
      await expect(redis().zincrby(z, -1, 'm')).resolves.toBe(1.5);
    });

    it('zrange by rank, score and lex, with REV and LIMIT', async () => {
      const z = key('z');
      await seed(z);
      await expect(redis().zrange(z, 0, -1)).resolves.toEqual(['low', 'a', 'b', 'c', 'high']);
      await expect(redis().zrange(z, 0, 1, { rev: true })).resolves.toEqual(['high', 'c']);
      await expect(redis().zrange(z, '(1', 3.5, { by: 'SCORE' })).resolves.toEqual(['b', 'c']);
      await expect(redis().zrange(z, '+inf', '-inf', { by: 'SCORE', rev: true })).resolves.toEqual([
        'high',
        'c',
        'b',
        'a',
        'low',
      ]);
      await expect(
        redis().zrange(z, '-inf', '+inf', { by: 'SCORE', limit: { offset: 1, count: 2 } }),
      ).resolves.toEqual(['a', 'b']);
      const lex = key('z');
      await redis().zadd(
        lex,
        ['a', 'b', 'c', 'd'].map((member) => ({ score: 0, member })),
      );
      await expect(redis().zrange(lex, '[b', '(d', { by: 'LEX' })).resolves.toEqual(['b', 'c']);
      await expect(redis().zrange(lex, '+', '-', { by: 'LEX', rev: true })).resolves.toEqual([
        'd',
        'c',
        'b',
        'a',
      ]);
      await expect(redis().zrange(key(), 0, -1)).resolves.toEqual([]);
    });

    it('zrangeWithScores gives identical { member, score } pairs under both protocols', async () => {
      const z = key('z');
      await seed(z);
      await expect(redis().zrangeWithScores(z, 0, -1)).resolves.toEqual([
        { member: 'low', score: -Infinity },
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
        { member: 'c', score: 3.5 },
        { member: 'high', score: Infinity },
      ]);
      await expect(
        redis().zrangeWithScores(z, 4, 1, {
          by: 'SCORE',
          rev: true,
          limit: { offset: 0, count: 1 },
        }),
      ).resolves.toEqual([{ member: 'c', score: 3.5 }]);
      await expect(redis().zrangeWithScores(key(), 0, -1)).resolves.toEqual([]);
    });

    it('zrank, zrevrank, zrem, zcount', async () => {
      const z = key('z');
      await seed(z);
      await expect(redis().zrank(z, 'low')).resolves.toBe(0);
      await expect(redis().zrevrank(z, 'low')).resolves.toBe(4);
      await expect(redis().zrank(z, 'zz')).resolves.toBeNull();
      await expect(redis().zcount(z, 1, 2)).resolves.toBe(2);
      await expect(redis().zcount(z, '(1', '+inf')).resolves.toBe(3);
      await expect(redis().zrem(z, 'a', 'zz')).resolves.toBe(1);
      await expect(redis().zcount(z, '-inf', '+inf')).resolves.toBe(4);
    });

    it('zpopmin/zpopmax with and without a count; [] when empty', async () => {
      const z = key('z');
      await seed(z);
      await expect(redis().zpopmin(z)).resolves.toEqual([{ member: 'low', score: -Infinity }]);
      await expect(redis().zpopmin(z, 2)).resolves.toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
      ]);
      await expect(redis().zpopmax(z)).resolves.toEqual([{ member: 'high', score: Infinity }]);
      await expect(redis().zpopmax(z, 5)).resolves.toEqual([{ member: 'c', score: 3.5 }]);
      await expect(redis().zpopmin(z)).resolves.toEqual([]);
      await expect(redis().zpopmax(z, 3)).resolves.toEqual([]);
    });

    it('unicode members', async () => {
      const z = key('zü');
      await redis().zadd(z, { score: 1, member: 'ñandú 🐦' });
      await expect(redis().zrangeWithScores(z, 0, -1)).resolves.toEqual([
        { member: 'ñandú 🐦', score: 1 },
      ]);
      await expect(redis().zscore(z, 'ñandú 🐦')).resolves.toBe(1);
    });

    it('WRONGTYPE', async () => {
      const k = key();
      await redis().set(k, 'v');
      for (const call of [
        () => redis().zadd(k, { score: 1, member: 'm' }),
        () => redis().zrangeWithScores(k, 0, -1),
        () => redis().zscore(k, 'm'),
      ]) {
        const error = await rejectionOf(call());
        expect((error as ResponseError).code).toBe('WRONGTYPE');
      }
    });
  });

  describe('streams', () => {
    it('xadd, xrange, xrevrange, xlen, with null-prototype fields', async () => {
      const s = key('s');
      await expect(redis().xadd(s, '1-1', { f: 'v', __proto__field: 'x' })).resolves.toBe('1-1');
      await expect(redis().xadd(s, '2-0', [['__proto__', 'p']])).resolves.toBe('2-0');
      const id = await redis().xadd(s, '*', { n: 3 });
      expect(id).toMatch(/^\d+-\d+$/);
      await expect(redis().xlen(s)).resolves.toBe(3);
      const entries = await redis().xrange(s);
      expect(entries.map((e) => e.id)).toEqual(['1-1', '2-0', id]);
      expect({ ...entries[0].fields }).toEqual({ f: 'v', __proto__field: 'x' });
      expect(Object.getPrototypeOf(entries[1].fields)).toBeNull();
      expect(entries[1].fields['__proto__']).toBe('p');
      await expect(redis().xrange(s, '2', '+', { count: 1 })).resolves.toEqual([
        { id: '2-0', fields: expect.anything() },
      ]);
      const reversed = await redis().xrevrange(s, '+', '-', { count: 2 });
      expect(reversed.map((e) => e.id)).toEqual([id, '2-0']);
      await expect(redis().xrange(key())).resolves.toEqual([]);
      await expect(redis().xlen(key())).resolves.toBe(0);
    });

    it('xadd NOMKSTREAM and trimming; xtrim; xdel', async () => {
      const s = key('s');
      await expect(redis().xadd(s, '*', { a: 1 }, { nomkstream: true })).resolves.toBeNull();
      for (let i = 1; i <= 5; i++) await redis().xadd(s, `${i}-0`, { i });
      await expect(redis().xadd(s, '6-0', { i: 6 }, { trim: { maxlen: 4 } })).resolves.toBe('6-0');
      await expect(redis().xlen(s)).resolves.toBe(4);
      await expect(redis().xtrim(s, { minid: '5-0' })).resolves.toBe(2);
      await expect(redis().xtrim(s, { maxlen: 0, approximate: true, limit: 100 })).resolves.toEqual(
        expect.any(Number),
      );
      await expect(redis().xdel(s, '6-0', '99-0')).resolves.toBeLessThanOrEqual(1);
    });

    it('xgroupCreate, xreadgroup, xpending, xack, xgroupDestroy', async () => {
      const s = key('s');
      await expect(redis().xgroupCreate(s, 'g', '0', { mkstream: true })).resolves.toBe('OK');
      const dup = await rejectionOf(redis().xgroupCreate(s, 'g', '0'));
      expect((dup as ResponseError).code).toBe('BUSYGROUP');
      await expect(redis().xpending(s, 'g')).resolves.toEqual({
        count: 0,
        minId: null,
        maxId: null,
        consumers: [],
      });
      await redis().xadd(s, '1-0', { a: '1' });
      await redis().xadd(s, '2-0', { b: '2' });
      const read = await redis().xreadgroup('g', 'alice', { [s]: '>' }, { count: 10 });
      expect(read).toEqual([
        {
          key: s,
          entries: [
            { id: '1-0', fields: expect.objectContaining({ a: '1' }) },
            { id: '2-0', fields: expect.objectContaining({ b: '2' }) },
          ],
        },
      ]);
      await expect(redis().xreadgroup('g', 'alice', { [s]: '>' })).resolves.toEqual([]);
      await expect(redis().xpending(s, 'g')).resolves.toEqual({
        count: 2,
        minId: '1-0',
        maxId: '2-0',
        consumers: [{ name: 'alice', count: 2 }],
      });
      await redis().xdel(s, '2-0');
      const history = await redis().xreadgroup('g', 'alice', [[s, '0']]);
      expect(history[0].entries).toEqual([
        { id: '1-0', fields: expect.objectContaining({ a: '1' }) },
        { id: '2-0', fields: null },
      ]);
      await expect(redis().xack(s, 'g', '1-0', '2-0')).resolves.toBe(2);
      await expect(redis().xpending(s, 'g')).resolves.toMatchObject({ count: 0 });
      const noGroup = await rejectionOf(redis().xpending(s, 'nope'));
      expect((noGroup as ResponseError).code).toBe('NOGROUP');
      await expect(redis().xgroupDestroy(s, 'g')).resolves.toBe(true);
      await expect(redis().xgroupDestroy(s, 'g')).resolves.toBe(false);
    });

    it('xread without BLOCK: batches per stream in request order, [] when nothing', async () => {
      const [a, b] = [key('{x}a'), key('{x}b')];
      await redis().xadd(a, '1-0', { n: 'a1' });
      await redis().xadd(b, '1-0', { n: 'b1' });
      await redis().xadd(b, '2-0', { n: 'b2' });
      const batches = await redis().xread([
        [b, '1-0'],
        [a, '0'],
      ]);
      expect(batches.map((batch) => [batch.key, batch.entries.map((e) => e.fields['n'])])).toEqual([
        [b, ['b2']],
        [a, ['a1']],
      ]);
      await expect(redis().xread({ [a]: '$' }, { count: 1 })).resolves.toEqual([]);
      await expect(redis().xread({ [key()]: '0' })).resolves.toEqual([]);
    });

    it('unicode fields and values', async () => {
      const s = key('s');
      await redis().xadd(s, '1-0', { поле: 'значение ✓' });
      const [entry] = await redis().xrange(s);
      expect(entry.fields['поле']).toBe('значение ✓');
    });

    it('WRONGTYPE', async () => {
      const k = key();
      await redis().set(k, 'v');
      const error = await rejectionOf(redis().xadd(k, '*', { a: 1 }));
      expect((error as ResponseError).code).toBe('WRONGTYPE');
      const read = await rejectionOf(redis().xread({ [k]: '0' }));
      expect((read as ResponseError).code).toBe('WRONGTYPE');
    });
  });
});
