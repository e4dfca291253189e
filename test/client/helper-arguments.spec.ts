import { CommandRunner } from '../../lib/client/command-runner';
import type { RedisService } from '../../lib/client/redis.service';
import { IteratorCommands } from '../../lib/client/scan-iterator';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, useService } from './client-helpers';

/*
 * Helpers called as JavaScript may call them (the TypeScript signatures ignored): every argument is either sent or
 * the call is refused with a TypeError before anything is queued or sent. Nothing is ever silently dropped, and a
 * refused call writes nothing.
 */

/** The service without its TypeScript signatures, as a JavaScript caller sees it. */
type Loose = Record<string, (...args: unknown[]) => unknown>;

const loose = (target: unknown): Loose => target as Loose;

/** Commands the server ran (INFO commandstats), without the INFO and CONFIG the test itself sends. */
async function commandsRun(redis: RedisService): Promise<string[]> {
  const stats = (await redis.info('commandstats'))['commandstats'] ?? {};
  return Object.keys(stats)
    .map((name) => name.replace(/^cmdstat_/, ''))
    .filter((name) => name !== 'info' && !name.startsWith('config'));
}

/** Each helper with arguments it accepts; one more must be refused. */
const K = 'arity:k';
const FIXED_ARITY: ReadonlyArray<readonly [string, readonly unknown[]]> = [
  ['get', [K]],
  ['getBuffer', [K]],
  ['set', [K, 'v', {}]],
  ['mset', [{ [K]: 'v' }]],
  ['incr', [K]],
  ['incrby', [K, 1]],
  ['incrbyfloat', [K, 1.5]],
  ['decr', [K]],
  ['decrby', [K, 1]],
  ['append', [K, 'v']],
  ['getdel', [K]],
  ['getdelBuffer', [K]],
  ['getex', [K, {}]],
  ['getexBuffer', [K, {}]],
  ['strlen', [K]],
  ['setnx', [K, 'v']],
  ['expire', [K, 10, 'NX']],
  ['pexpire', [K, 10, 'NX']],
  ['expireat', [K, 10, 'NX']],
  ['pexpireat', [K, 10, 'NX']],
  ['ttl', [K]],
  ['pttl', [K]],
  ['persist', [K]],
  ['type', [K]],
  ['rename', [K, 'k2']],
  ['renamenx', [K, 'k2']],
  ['copy', [K, 'k2', {}]],
  ['hget', [K, 'f']],
  ['hgetBuffer', [K, 'f']],
  ['hset', [K, { f: 'v' }]],
  ['hsetnx', [K, 'f', 'v']],
  ['hgetall', [K]],
  ['hgetallBuffer', [K]],
  ['hincrby', [K, 'f', 1]],
  ['hincrbyfloat', [K, 'f', 1]],
  ['hexists', [K, 'f']],
  ['hlen', [K]],
  ['hkeys', [K]],
  ['hvals', [K]],
  ['hvalsBuffer', [K]],
  ['lpop', [K, 1]],
  ['lpopBuffer', [K, 1]],
  ['rpop', [K, 1]],
  ['rpopBuffer', [K, 1]],
  ['lrange', [K, 0, 1]],
  ['lrangeBuffer', [K, 0, 1]],
  ['lindex', [K, 0]],
  ['llen', [K]],
  ['lrem', [K, 0, 'v']],
  ['ltrim', [K, 0, 1]],
  ['lmove', [K, 'k2', 'LEFT', 'RIGHT']],
  ['blpop', [K, 1]],
  ['brpop', [K, 1]],
  ['blmove', [K, 'k2', 'LEFT', 'RIGHT', 1]],
  ['smembers', [K]],
  ['smembersBuffer', [K]],
  ['sismember', [K, 'm']],
  ['scard', [K]],
  ['zadd', [K, { score: 1, member: 'm' }, {}]],
  ['zincrby', [K, 1, 'm']],
  ['zrange', [K, 0, 1, {}]],
  ['zrangeWithScores', [K, 0, 1, {}]],
  ['zrank', [K, 'm']],
  ['zrevrank', [K, 'm']],
  ['zscore', [K, 'm']],
  ['zcard', [K]],
  ['zcount', [K, 0, 1]],
  ['zpopmin', [K, 1]],
  ['zpopmax', [K, 1]],
  ['bzpopmin', [K, 1]],
  ['bzpopmax', [K, 1]],
  ['xadd', [K, '*', { f: 'v' }, {}]],
  ['xrange', [K, '-', '+', {}]],
  ['xrevrange', [K, '+', '-', {}]],
  ['xlen', [K]],
  ['xtrim', [K, { maxlen: 1 }]],
  ['xgroupCreate', [K, 'g', '$', {}]],
  ['xgroupDestroy', [K, 'g']],
  ['xpending', [K, 'g']],
  ['xread', [{ [K]: '0' }, {}]],
  ['xreadgroup', ['g', 'c', { [K]: '0' }, {}]],
  ['ping', ['hi']],
  ['echo', ['hi']],
  ['dbsize', []],
  ['flushdb', ['SYNC']],
  ['time', []],
  ['publish', ['ch', 'm']],
  ['spublish', ['ch', 'm']],
  ['scan', [0, {}]],
  ['hscan', [K, 0, {}]],
  ['sscan', [K, 0, {}]],
  ['zscan', [K, 0, {}]],
];

/** Helpers whose last parameter is a rest parameter: every extra argument is sent. */
const VARIADIC = [
  'executeCommand',
  'executeCommandBuffer',
  'mget',
  'mgetBuffer',
  'del',
  'unlink',
  'exists',
  'touch',
  'hmget',
  'hmgetBuffer',
  'hdel',
  'lpush',
  'rpush',
  'sadd',
  'srem',
  'smismember',
  'sinter',
  'sunion',
  'sdiff',
  'zrem',
  'xdel',
  'xack',
  'info',
];

/** Not guarded yet. */
const PENDING: string[] = [];

const ITERATORS: ReadonlyArray<readonly [string, readonly unknown[]]> = [
  ['scanIterator', [{}]],
  ['hscanIterator', [K, {}]],
  ['sscanIterator', [K, {}]],
  ['zscanIterator', [K, {}]],
];

/** Every helper method from `CommandRunner` up to `IteratorCommands`. */
function helperNames(): string[] {
  const names = new Set<string>();
  let proto: object | null = IteratorCommands.prototype;
  while (proto !== null && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof descriptor?.value === 'function') names.add(name);
    }
    if (proto === CommandRunner.prototype) break;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  for (const internal of ['run', 'send', 'refuse', 'tooMany']) names.delete(internal);
  return [...names].sort();
}

describe('helper argument checks: every helper is covered', () => {
  it('lists each helper as fixed-arity, variadic or iterator', () => {
    const listed = [
      ...FIXED_ARITY.map(([name]) => name),
      ...VARIADIC,
      ...PENDING,
      ...ITERATORS.map(([name]) => name),
    ];
    expect(helperNames()).toEqual([...new Set(listed)].sort());
  });
});

describe('helper arguments: refused calls send nothing', () => {
  const server = useRedisServer();
  const redis = useService(server, 2);

  it('refuses one argument too many on every fixed-arity helper, with a TypeError and nothing sent', async () => {
    await redis().executeCommand('CONFIG', 'RESETSTAT');
    for (const [name, args] of FIXED_ARITY) {
      const call = loose(redis())[name](...args, () => undefined);
      expect(call).toBeInstanceOf(Promise);
      const error = await rejectionOf(call as Promise<unknown>);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(`${name}() takes at most ${args.length} argument`);
    }
    // On a leased client: RedisService overrides scanIterator (to walk every master of a cluster).
    await redis().withConnection(async (client) => {
      for (const [name, args] of ITERATORS) {
        const iterator = loose(client)[name](...args, 'extra') as AsyncGenerator<unknown>;
        const error = await rejectionOf(iterator.next());
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toContain(`${name}() takes at most ${args.length} argument`);
      }
    });
    expect(await commandsRun(redis())).toEqual([]);
  });

  it('refuses the same calls on a pipeline and a transaction at the call, queueing nothing', async () => {
    await redis().executeCommand('CONFIG', 'RESETSTAT');
    for (const batch of [redis().pipeline(), redis().multi()]) {
      for (const [name, args] of FIXED_ARITY) {
        expect(() => loose(batch)[name](...args, 'extra')).toThrow(TypeError);
      }
      expect(batch.length).toBe(0);
    }
    expect(await commandsRun(redis())).toEqual([]);
  });
});

describe.each(PROTOCOLS)('helper arguments against a real server (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);
  const js = (): Loose => loose(redis());

  beforeEach(async () => {
    await redis().flushdb();
  });

  describe('hset', () => {
    it('sends every field/value pair given ioredis-style: hset(key, f1, v1, f2, v2)', async () => {
      const h = key('h');
      await expect(redis().hset(h, 'a', '1', 'b', '2')).resolves.toBe(2);
      expect({ ...(await redis().hgetall(h)) }).toEqual({ a: '1', b: '2' });
      await expect(redis().hset(h, 'b', 'two', 'c', '3', 'd', Buffer.from('4'))).resolves.toBe(2);
      expect({ ...(await redis().hgetall(h)) }).toEqual({ a: '1', b: 'two', c: '3', d: '4' });
    });

    it('sends every pair from a pipeline and a transaction too', async () => {
      const h1 = key('h');
      const h2 = key('h');
      const [piped] = await redis().pipeline().hset(h1, 'a', '1', 'b', '2').exec();
      const [inMulti] = (await redis().multi().hset(h2, 'x', '1', 'y', '2', 'z', '3').exec()) ?? [];
      expect([piped, inMulti]).toEqual([2, 3]);
      expect({ ...(await redis().hgetall(h1)) }).toEqual({ a: '1', b: '2' });
      expect({ ...(await redis().hgetall(h2)) }).toEqual({ x: '1', y: '2', z: '3' });
    });

    it('refuses an odd count (a field without its value) with a TypeError, writing nothing', async () => {
      const h = key('h');
      for (const args of [['a'], ['a', '1', 'b'], ['a', '1', 'b', '2', 'c']]) {
        const error = await rejectionOf(js().hset(h, ...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(/^hset\(\) takes fields and values in pairs/);
      }
      await expect(redis().exists(h)).resolves.toBe(0);
      await expect(redis().dbsize()).resolves.toBe(0);
    });

    it('refuses arguments after an object of fields, and values that are not pairs', async () => {
      const h = key('h');
      const calls: unknown[][] = [
        [{ a: '1' }, 'b', '2'],
        [['ab', 'cd']],
        [[['a', '1', 'extra']]],
        [[['a']]],
        [undefined],
        [null],
      ];
      for (const args of calls) {
        const error = await rejectionOf(js().hset(h, ...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
      }
      await expect(redis().dbsize()).resolves.toBe(0);
    });

    it('refuses a value of the wrong shape before anything is queued, in a transaction too', async () => {
      const a = key('a');
      const h = key('h');
      await expect(js().hset(h, 'f', { nested: 1 }) as Promise<unknown>).rejects.toThrow(TypeError);
      const multi = redis().multi().set(a, '1');
      expect(() => loose(multi).hset(h, 'f', { nested: 1 })).toThrow(TypeError);
      expect(() => loose(multi).executeCommand('HSET', h, 'f', undefined)).toThrow(TypeError);
      expect(multi.length).toBe(1);
      await expect(redis().dbsize()).resolves.toBe(0);
      await expect(multi.exec()).resolves.toEqual(['OK']);
      await expect(redis().exists(h)).resolves.toBe(0);
    });

    it('hsetnx refuses extra pairs instead of setting only the first', async () => {
      const h = key('h');
      await expect(js().hsetnx(h, 'a', '1', 'b', '2') as Promise<unknown>).rejects.toThrow(
        TypeError,
      );
      await expect(redis().exists(h)).resolves.toBe(0);
      await expect(redis().hsetnx(h, 'a', '1')).resolves.toBe(true);
    });
  });

  describe('mset', () => {
    it('sends every key/value pair given ioredis-style: mset(k1, v1, k2, v2)', async () => {
      const [k1, k2] = [key(), key()];
      await expect(redis().mset(k1, 'v1', k2, Buffer.from('v2'))).resolves.toBe('OK');
      await expect(redis().mget(k1, k2)).resolves.toEqual(['v1', 'v2']);
      await expect(redis().dbsize()).resolves.toBe(2);
    });

    it('refuses an odd count, a string read as an object and trailing arguments, writing nothing', async () => {
      const [k1, k2] = [key(), key()];
      const calls: unknown[][] = [
        [k1],
        [k1, 'v1', k2],
        ['abc'],
        [Buffer.from('ab')],
        [{ [k1]: 'v1' }, k2, 'v2'],
        [['k1v1']],
        [undefined],
      ];
      for (const args of calls) {
        const error = await rejectionOf(js().mset(...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
      }
      await expect(redis().dbsize()).resolves.toBe(0);
    });
  });

  describe('set and other options objects', () => {
    it('refuses ioredis-style tokens instead of setting the key without its expiry', async () => {
      const k = key();
      const calls: unknown[][] = [
        ['v', 'EX', 10],
        ['v', 'EX'],
        ['v', { EX: 10 }],
        ['v', { expire: 10 }],
        ['v', { nx: 'true' }],
        ['v', { ex: { seconds: 10 } }],
      ];
      for (const args of calls) {
        const error = await rejectionOf(js().set(k, ...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(/^set\(\)/);
      }
      await expect(redis().exists(k)).resolves.toBe(0);
      await expect(redis().set(k, 'v', { ex: 10, nx: true })).resolves.toBe('OK');
      expect(await redis().ttl(k)).toBeGreaterThan(0);
    });

    it('names the unknown option and the known ones', async () => {
      const error = await rejectionOf(js().set(key(), 'v', { EX: 10 }) as Promise<unknown>);
      expect(error.message).toBe(
        "set(): options has an unknown key 'EX' (known: ex, px, exat, pxat, keepTtl, nx, xx, get)",
      );
    });

    it('refuses misspelt or mistyped options of the other helpers, sending nothing', async () => {
      const k = key();
      await redis().rpush(k, 'a');
      await redis().executeCommand('CONFIG', 'RESETSTAT');
      const calls: Array<() => unknown> = [
        () => js().getex(k, { EX: 1 }),
        () => js().copy(k, key(), { replace: 'yes' }),
        () => js().zrange(k, 0, -1, { by: 'score' }),
        () => js().zrange(k, 0, -1, 'WITHSCORES'),
        () => js().zrange(k, 0, -1, { by: 'SCORE', limit: { offset: 0 } }),
        () => js().zadd(k, { score: 1, member: 'a' }, 'NX'),
        () => js().zadd(k, { score: 1, member: 'a' }, { NX: true }),
        () => js().xrange(k, '-', '+', 'COUNT', 1),
        () => js().xadd(k, '*', { f: 'v' }, { trim: { maxlen: 1, minid: '0' } }),
        () => js().xadd(k, '*', { f: 'v' }, { trim: 10 }),
        () => js().xtrim(k),
        () => js().xtrim(k, { max: 1 }),
        () => js().xgroupCreate(k, 'g', '$', 'MKSTREAM'),
        () => js().xread('stream'),
        () => js().xread([['s', '0', 'extra']]),
        () => js().xreadgroup('g', 'c', { [k]: '>' }, { noAck: true }),
        () => js().scan(0, 'MATCH', 'x*'),
        () => js().hscan(k, 0, { match: 'x*', type: 'hash' }),
        () => js().blpop({ key: k }, 0),
        () => js().bzpopmin(new Set([k]), 0),
      ];
      for (const call of calls) {
        const error = await rejectionOf(call() as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
      }
      expect(await commandsRun(redis())).toEqual([]);
      await expect(redis().lrange(k, 0, -1)).resolves.toEqual(['a']);
    });
  });

  describe('zadd', () => {
    it('refuses ioredis-style score/member arguments and incomplete members, writing nothing', async () => {
      const z = key('z');
      const calls: unknown[][] = [
        [1, 'a'],
        [1, 'a', 2, 'b'],
        ['1', 'a'],
        [[1, 'a']],
        [[{ score: 1, member: 'a' }, { score: 2 }]],
        [[{ score: 1, member: 'a' }, { member: 'b' }]],
        [{ score: NaN, member: 'a' }],
        [{ score: 1, member: 'a', extra: true }],
        [undefined],
      ];
      for (const args of calls) {
        const error = await rejectionOf(js().zadd(z, ...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
      }
      await expect(redis().exists(z)).resolves.toBe(0);
    });

    it('sends every member of an array, infinite scores included', async () => {
      const z = key('z');
      const members = [
        { score: -Infinity, member: 'low' },
        { score: 1.5, member: 'mid' },
        { score: Infinity, member: 'high' },
      ];
      await expect(redis().zadd(z, members)).resolves.toBe(3);
      expect(await redis().zrangeWithScores(z, 0, -1)).toEqual([
        { member: 'low', score: -Infinity },
        { member: 'mid', score: 1.5 },
        { member: 'high', score: Infinity },
      ]);
    });
  });

  describe('variadic helpers', () => {
    it('send every extra argument: sadd, lpush, rpush, del, exists, hdel, zrem', async () => {
      const [s, l, h, z] = [key('s'), key('l'), key('h'), key('z')];
      await expect(redis().sadd(s, 'a', 'b', 'c')).resolves.toBe(3);
      expect((await redis().smembers(s)).sort()).toEqual(['a', 'b', 'c']);
      await expect(redis().lpush(l, 'a', 'b')).resolves.toBe(2);
      await expect(redis().rpush(l, 'c', 'd')).resolves.toBe(4);
      await expect(redis().lrange(l, 0, -1)).resolves.toEqual(['b', 'a', 'c', 'd']);
      await redis().hset(h, 'a', '1', 'b', '2', 'c', '3');
      await expect(redis().hdel(h, 'a', 'b')).resolves.toBe(2);
      await redis().zadd(z, [
        { score: 1, member: 'a' },
        { score: 2, member: 'b' },
        { score: 3, member: 'c' },
      ]);
      await expect(redis().zrem(z, 'a', 'c')).resolves.toBe(2);
      await expect(redis().exists(s, l, h, z)).resolves.toBe(4);
      await expect(redis().del(s, l, h, z)).resolves.toBe(4);
      await expect(redis().dbsize()).resolves.toBe(0);
    });

    it('blocking pops take one key (bytes included) or an array of keys, and name a bad one', async () => {
      const l = key('l');
      await redis().rpush(l, 'a', 'b');
      const bytes = new Uint8Array(Buffer.from(l));
      await expect(js().brpop(bytes, 0.01)).resolves.toEqual({ key: l, element: 'b' });
      await expect(redis().blpop([key('none'), l], 0.01)).resolves.toEqual({
        key: l,
        element: 'a',
      });
      const error = await rejectionOf(js().blpop({ key: l }, 0.01) as Promise<unknown>);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe('blpop(): keys must be a key or an array of keys, got an object');
    });

    it('refuse an array or an object as one member with a TypeError, writing nothing', async () => {
      const [s, l] = [key('s'), key('l')];
      await expect(js().sadd(s, ['a', 'b']) as Promise<unknown>).rejects.toThrow(TypeError);
      await expect(js().lpush(l, 'a', { b: 1 }) as Promise<unknown>).rejects.toThrow(TypeError);
      await expect(redis().dbsize()).resolves.toBe(0);
      await redis().set(s, 'kept');
      await expect(js().del([s]) as Promise<unknown>).rejects.toThrow(TypeError);
      await expect(redis().get(s)).resolves.toBe('kept');
    });
  });

  describe('expire and xadd', () => {
    it('expire refuses a condition followed by more arguments, leaving the key without a TTL', async () => {
      const k = key();
      await redis().set(k, 'v');
      await expect(js().expire(k, 10, 'NX', 'GT') as Promise<unknown>).rejects.toThrow(TypeError);
      await expect(redis().ttl(k)).resolves.toBe(-1);
      await expect(redis().expire(k, 10, 'NX')).resolves.toBe(true);
    });

    it('xadd refuses fields given ioredis-style instead of storing them as characters', async () => {
      const s = key('s');
      for (const args of [['f1', 'v1', 'f2', 'v2'], ['f1'], [['f1', 'v1']], [undefined]]) {
        const error = await rejectionOf(js().xadd(s, '*', ...args) as Promise<unknown>);
        expect(error).toBeInstanceOf(TypeError);
      }
      await expect(redis().exists(s)).resolves.toBe(0);
      await redis().xadd(s, '*', [
        ['f1', 'v1'],
        ['f2', 'v2'],
      ]);
      const [entry] = await redis().xrange(s);
      expect({ ...entry.fields }).toEqual({ f1: 'v1', f2: 'v2' });
    });
  });

  describe('how a refusal surfaces', () => {
    it('is a rejected promise on the service and a leased client, a throw at the call on a batch', async () => {
      const h = key('h');
      const refused = js().hset(h, 'a');
      expect(refused).toBeInstanceOf(Promise);
      await expect(refused).rejects.toThrow(TypeError);
      await redis().withConnection(async (client) => {
        const leased = loose(client).hset(h, 'a');
        expect(leased).toBeInstanceOf(Promise);
        await expect(leased).rejects.toThrow(TypeError);
        const multi = client.multi();
        expect(() => loose(multi).hset(h, 'a')).toThrow(TypeError);
        expect(multi.length).toBe(0);
      });
      const pipeline = redis().pipeline().set(h, 'v');
      expect(() => loose(pipeline).get(h, () => undefined)).toThrow(TypeError);
      expect(pipeline.length).toBe(1);
      await expect(pipeline.exec()).resolves.toEqual(['OK']);
    });

    it('never calls an ioredis-style callback, and says why', async () => {
      const k = key();
      const callback = jest.fn();
      const error = await rejectionOf(js().get(k, callback) as Promise<unknown>);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain('there are no callbacks');
      expect(callback).not.toHaveBeenCalled();
    });

    it('keeps values out of messages', async () => {
      const error = await rejectionOf(
        js().set(key(), 's3cret', 'EX', 's3cret') as Promise<unknown>,
      );
      expect(error.message).not.toContain('s3cret');
      const pairs = await rejectionOf(js().hset(key(), 's3cret') as Promise<unknown>);
      expect(pairs.message).not.toContain('s3cret');
    });
  });
});
