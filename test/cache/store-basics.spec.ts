import KeyvRedis from '@keyv/redis';
import { Keyv } from 'keyv';
import { createCache } from 'cache-manager';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { eventually } from './cache-helpers';

describe('RedisKeyvStore on one server', () => {
  const server = useRedisServer();
  let pool: ConnectionPool;
  let redis: RedisService;

  beforeAll(() => {
    pool = ConnectionPool.fromUrl(server().url);
    redis = new RedisService(pool);
  });
  beforeEach(async () => {
    await redis.executeCommand('FLUSHDB');
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  it('gets, sets, has and deletes <namespace>::<key>', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'ns' });
    expect(await store.set('a', 'one')).toBe(true);
    expect(await redis.get('ns::a')).toBe('one');
    expect(await store.get('a')).toBe('one');
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.has('a')).toBe(true);
    expect(await store.has('missing')).toBe(false);
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    expect(await store.get('a')).toBeUndefined();
    expect(await redis.pttl('ns::a')).toBe(-2);
  });

  it('writes time to live as PX in ms, rounded up, and the server expires the key', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'ttl' });
    await store.set('short', 'v', 150);
    const pttl = await redis.pttl('ttl::short');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(150);
    await store.set('fraction', 'v', 20_000.2);
    expect(await redis.pttl('ttl::fraction')).toBeLessThanOrEqual(20_001);
    expect(await redis.pttl('ttl::fraction')).toBeGreaterThan(19_000);
    for (const ttl of [undefined, 0, -5, Number.NaN, Infinity]) {
      await store.set('forever', 'v', ttl);
      expect(await redis.pttl('ttl::forever')).toBe(-1);
    }
    // The server, not the clock of this process, decides: wait for it to drop the key.
    await eventually(async () => (await redis.exists('ttl::short')) === 0, 'the key to expire');
    expect(await store.get('short')).toBeUndefined();
    expect(await store.has('short')).toBe(false);
  });

  it('getMany, setMany, hasMany and deleteMany keep the caller order and report per key', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'many' });
    expect(
      await (store.setMany([
        { key: 'a', value: '1' },
        { key: 'b', value: '2', ttl: 60_000 },
        { key: 'c', value: '3', ttl: 0 },
      ]) as Promise<unknown>),
    ).toEqual([true, true, true]);
    expect(await redis.pttl('many::a')).toBe(-1);
    expect(await redis.pttl('many::b')).toBeGreaterThan(50_000);
    expect(await redis.pttl('many::c')).toBe(-1);
    expect(await store.getMany(['c', 'missing', 'a', 'b'])).toEqual(['3', undefined, '1', '2']);
    expect(await store.getMany([])).toEqual([]);
    expect(await store.hasMany(['a', 'missing', 'b'])).toEqual([true, false, true]);
    expect(await store.deleteMany(['a', 'missing'])).toBe(true);
    expect(await store.deleteMany(['a', 'missing'])).toBe(false);
    expect(await store.deleteMany([])).toBe(false);
    expect(await store.getMany(['a', 'b', 'c'])).toEqual([undefined, '2', '3']);
  });

  it('under Keyv: Keyv sets the namespace, values are its JSON, and expiry works both ways', async () => {
    const store = new RedisKeyvStore(redis);
    const keyv = new Keyv({ store });
    expect(store.namespace).toBe('keyv');
    expect(keyv.iterator).toBeDefined();
    await keyv.set('user:1', { name: 'ada' });
    expect(JSON.parse((await redis.get('keyv::keyv:user:1'))!)).toEqual({
      value: { name: 'ada' },
    });
    expect(await keyv.get('user:1')).toEqual({ name: 'ada' });
    expect(await keyv.setMany([{ key: 'x', value: 1, ttl: 100 }])).toEqual([true]);
    expect(await keyv.getMany(['user:1', 'x', 'nope'])).toEqual([{ name: 'ada' }, 1, undefined]);
    expect(await keyv.has('x')).toBe(true);
    await eventually(async () => (await redis.exists('keyv::keyv:x')) === 0, 'x to expire');
    expect(await keyv.get('x')).toBeUndefined();
    keyv.namespace = 'other';
    expect(store.namespace).toBe('other');
    expect(await keyv.get('user:1')).toBeUndefined();
  });

  it('reads and writes the very keys @keyv/redis does, so a cache moved from it stays warm', async () => {
    const theirs = new KeyvRedis(server().url);
    const viaTheirs = new Keyv({ store: theirs });
    const viaOurs = new Keyv({ store: new RedisKeyvStore(redis) });
    try {
      await viaTheirs.set('from-them', { n: 1 }, 60_000);
      await viaOurs.set('from-us', { n: 2 }, 60_000);
      expect(await viaOurs.get('from-them')).toEqual({ n: 1 });
      expect(await viaTheirs.get('from-us')).toEqual({ n: 2 });
      expect(await redis.pttl('keyv::keyv:from-us')).toBeGreaterThan(50_000);
      expect(theirs.opts).toMatchObject({
        keyPrefixSeparator: new RedisKeyvStore(redis).opts.keyPrefixSeparator,
        clearBatchSize: new RedisKeyvStore(redis).opts.clearBatchSize,
        useUnlink: true,
        noNamespaceAffectsAll: false,
        throwOnErrors: false,
        dialect: 'redis',
      });
    } finally {
      await viaTheirs.disconnect();
    }
  });

  it('serves cache-manager 7: set, get, mset, mget, del, wrap and ttl', async () => {
    const cache = createCache({ stores: [new Keyv({ store: new RedisKeyvStore(redis) })] });
    await cache.set('a', { hello: 'world' }, 60_000);
    expect(await cache.get('a')).toEqual({ hello: 'world' });
    expect(await cache.ttl('a')).toBeGreaterThan(Date.now());
    await cache.mset([
      { key: 'b', value: 2 },
      { key: 'c', value: 3, ttl: 60_000 },
    ]);
    expect(await cache.mget(['a', 'b', 'c', 'd'])).toEqual([{ hello: 'world' }, 2, 3, undefined]);
    expect(await cache.del('a')).toBe(true);
    expect(await cache.get('a')).toBeUndefined();
    let computed = 0;
    const load = async (): Promise<string> => `v${++computed}`;
    expect(await cache.wrap('w', load, 60_000)).toBe('v1');
    expect(await cache.wrap('w', load, 60_000)).toBe('v1');
    expect(await redis.exists('keyv::keyv:w')).toBe(1);
  });

  it('disconnect() resolves and leaves the shared pool and the store working', async () => {
    const store = new RedisKeyvStore(redis);
    const keyv = new Keyv({ store });
    await keyv.set('k', 'v');
    await store.disconnect();
    await keyv.disconnect();
    const cache = createCache({ stores: [keyv] });
    await cache.disconnect();
    expect(pool.closed).toBe(false);
    expect(await keyv.get('k')).toBe('v');
    expect(JSON.parse((await redis.get('keyv::keyv:k'))!)).toEqual({ value: 'v' });
  });

  it('shows its options in opts, with the namespace Keyv gave it and the dialect Keyv looks for', () => {
    const store = new RedisKeyvStore(redis, { clearBatchSize: 50, useUnlink: false });
    expect(store.opts).toEqual({
      namespace: undefined,
      keyPrefixSeparator: '::',
      clearBatchSize: 50,
      useUnlink: false,
      noNamespaceAffectsAll: false,
      throwOnErrors: false,
      dialect: 'redis',
    });
    new Keyv({ store, namespace: 'app' });
    expect(store.opts.namespace).toBe('app');
    expect(new RedisKeyvStore(redis, { useUnlink: undefined }).opts.useUnlink).toBe(true);
  });

  it('deletes with DEL when useUnlink is false, and takes another separator', async () => {
    const store = new RedisKeyvStore(redis, {
      namespace: 'sep',
      keyPrefixSeparator: ':',
      useUnlink: false,
    });
    await store.set('a', '1');
    expect(await redis.get('sep:a')).toBe('1');
    await redis.executeCommand('CONFIG', 'RESETSTAT');
    expect(await store.delete('a')).toBe(true);
    expect(await store.deleteMany(['x', 'y'])).toBe(false);
    const stats = String(await redis.executeCommand('INFO', 'commandstats'));
    expect(stats).toMatch(/cmdstat_del:calls=2,/);
    expect(stats).not.toMatch(/cmdstat_unlink/);
  });

  it('refuses unknown options, bad values and a missing RedisService, saying what it expected', () => {
    const make = (options: unknown) =>
      new RedisKeyvStore(redis, options as ConstructorParameters<typeof RedisKeyvStore>[1]);
    expect(() => make({ clearBatchSzie: 10 })).toThrow(ConfigurationError);
    expect(() => make({ clearBatchSzie: 10 })).toThrow(
      /Unknown RedisKeyvStore option "clearBatchSzie" \(known: namespace, keyPrefixSeparator, clearBatchSize/,
    );
    expect(() => make({ clearBatchSize: 0 })).toThrow(
      /clearBatchSize must be a positive integer, got 0 \(number\)/,
    );
    expect(() => make({ clearBatchSize: '10' })).toThrow(/got "10" \(string\)/);
    expect(() => make({ keyPrefixSeparator: '' })).toThrow(
      /keyPrefixSeparator must be a non-empty string/,
    );
    expect(() => make({ throwOnErrors: 'yes' })).toThrow(/throwOnErrors must be true or false/);
    expect(() => make({ namespace: 5 })).toThrow(/namespace must be a string/);
    expect(() => make('fast')).toThrow(/options must be an object/);
    expect(() => new RedisKeyvStore(undefined as unknown as RedisService)).toThrow(
      /RedisKeyvStore needs a RedisService/,
    );
  });

  it('reports a value Keyv did not serialize as an error event, or rethrows it with throwOnErrors', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'raw' });
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    expect(await store.set('o', { not: 'serialized' })).toBe(false);
    expect(
      await (store.setMany([
        { key: 'ok', value: 'fine' },
        { key: 'o', value: {} },
      ]) as Promise<unknown>),
    ).toEqual([false, false]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(String(errors[0])).toMatch(/stores strings: Keyv serializes values/);
    expect(await redis.exists('raw::o', 'raw::ok')).toBe(0);
    const strict = new RedisKeyvStore(redis, { throwOnErrors: true });
    await expect(strict.set('o', Symbol('s'))).rejects.toThrow(TypeError);
    expect(await store.set('buffer', Buffer.from([0, 255]))).toBe(true);
    expect(await redis.getBuffer('raw::buffer')).toEqual(Buffer.from([0, 255]));
  });
});
