import { Keyv } from 'keyv';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { commandCalls } from './cache-helpers';

describe('RedisKeyvStore clear() and iterator()', () => {
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

  /** Keys that are not the cache's: the app's own, of several types, some looking almost like cache keys. */
  async function writeAppKeys(): Promise<string[]> {
    await redis.set('visits', '7');
    await redis.set('users::1', 'not a cache key: no store has namespace "users"');
    await redis.set('users:1', 'plain');
    await redis.set('usersX::1', 'prefix-alike');
    await redis.rpush('users::queue', 'a list in a namespace-looking key');
    await redis.hset('session', { a: '1' });
    return ['session', 'users::1', 'users::queue', 'users:1', 'usersX::1', 'visits'].sort();
  }

  /** Every key once (SCAN may return a key twice while the server resizes its table). */
  async function allKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for await (const key of redis.scanIterator()) keys.add(key);
    return [...keys].sort();
  }

  it("deletes only its namespace: other namespaces' keys and the app's keys stay", async () => {
    const appKeys = await writeAppKeys();
    const products = new Keyv({ store: new RedisKeyvStore(redis), namespace: 'products' });
    const sessions = new Keyv({ store: new RedisKeyvStore(redis), namespace: 'sessions' });
    await products.set('1', 'tea');
    await products.set('2', 'coffee', 60_000);
    await sessions.set('1', 'alice');
    await products.clear();
    expect(await products.get('1')).toBeUndefined();
    expect(await products.get('2')).toBeUndefined();
    expect(await sessions.get('1')).toBe('alice');
    expect(await allKeys()).toEqual([...appKeys, 'sessions::sessions:1'].sort());
  });

  it('escapes glob characters in the namespace, so it matches only itself', async () => {
    const odd = new RedisKeyvStore(redis, { namespace: 'a*[b]?\\' });
    const lookalike = new RedisKeyvStore(redis, { namespace: 'aXXbY\\' });
    const plain = new RedisKeyvStore(redis, { namespace: 'ab' });
    await odd.set('k', '1');
    await lookalike.set('k', '2');
    await plain.set('k', '3');
    await odd.clear();
    expect(await odd.get('k')).toBeUndefined();
    expect(await lookalike.get('k')).toBe('2');
    expect(await plain.get('k')).toBe('3');
    const entries: unknown[] = [];
    for await (const entry of lookalike.iterator()) entries.push(entry);
    expect(entries).toEqual([['k', '2']]);
  });

  it('clears 5 000 keys in UNLINK batches of clearBatchSize, never with FLUSHDB', async () => {
    const appKeys = await writeAppKeys();
    const store = new RedisKeyvStore(redis, { namespace: 'big' });
    const entries = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await store.setMany(entries);
    expect(await redis.dbsize()).toBe(5000 + appKeys.length);
    await redis.executeCommand('CONFIG', 'RESETSTAT');
    await store.clear();
    expect(await allKeys()).toEqual(appKeys);
    const calls = await commandCalls(server());
    expect(calls.flushdb).toBeUndefined();
    expect(calls.flushall).toBeUndefined();
    // 5 000 keys in batches of at most 1 000 (the last SCAN pages may make a batch or two more).
    expect(calls.unlink).toBeGreaterThanOrEqual(5);
    expect(calls.unlink).toBeLessThanOrEqual(10);
    expect(calls.scan).toBeGreaterThanOrEqual(5);

    await store.setMany(entries.slice(0, 1000));
    await redis.executeCommand('CONFIG', 'RESETSTAT');
    await new RedisKeyvStore(redis, { namespace: 'big', clearBatchSize: 100 }).clear();
    expect(await allKeys()).toEqual(appKeys);
    expect((await commandCalls(server())).unlink).toBeGreaterThanOrEqual(10);
  });

  it('without a namespace, clears the string keys without the separator (as @keyv/redis)', async () => {
    const store = new RedisKeyvStore(redis);
    const keyv = new Keyv({ store, namespace: undefined });
    expect(store.namespace).toBeUndefined();
    await keyv.set('loose', 1);
    await redis.set('visits', '7');
    await redis.set('ns::kept', 'in a namespace');
    await redis.rpush('queue', 'not a string');
    await keyv.clear();
    expect(await allKeys()).toEqual(['ns::kept', 'queue']);
  });

  it('without a namespace and with noNamespaceAffectsAll, runs FLUSHDB', async () => {
    const store = new RedisKeyvStore(redis, { noNamespaceAffectsAll: true });
    await redis.set('ns::k', 'v');
    await redis.rpush('queue', 'x');
    await store.set('a', '1');
    const entries: unknown[] = [];
    for await (const entry of store.iterator()) entries.push(entry);
    expect(entries.sort()).toEqual([
      ['a', '1'],
      ['ns::k', 'v'],
    ]);
    await redis.executeCommand('CONFIG', 'RESETSTAT');
    await store.clear();
    expect(await redis.dbsize()).toBe(0);
    expect((await commandCalls(server())).flushdb).toBe(1);
    // With a namespace the option changes nothing: only the namespace goes.
    const named = new RedisKeyvStore(redis, { namespace: 'n', noNamespaceAffectsAll: true });
    await named.set('a', '1');
    await redis.set('visits', '1');
    await named.clear();
    expect(await allKeys()).toEqual(['visits']);
  });

  it('iterates over its namespace only, keys without the prefix, across batches', async () => {
    await writeAppKeys();
    const store = new RedisKeyvStore(redis, { namespace: 'it', clearBatchSize: 7 });
    const other = new RedisKeyvStore(redis, { namespace: 'other' });
    const expected = Array.from({ length: 40 }, (_, i) => [`k${i}`, `v${i}`]);
    await store.setMany(expected.map(([key, value]) => ({ key, value })));
    await other.set('k1', 'not mine');
    const seen = new Map<string, string>();
    for await (const [key, value] of store.iterator()) seen.set(key, value);
    expect([...seen.entries()].sort()).toEqual(expected.sort());
    const named: unknown[] = [];
    for await (const entry of store.iterator('other')) named.push(entry);
    expect(named).toEqual([['k1', 'not mine']]);
    const loose: string[] = [];
    for await (const [key] of store.iterator(undefined)) loose.push(key);
    expect(loose.sort()).toEqual(['users:1', 'visits']);
  });

  it("Keyv's iterator() yields deserialized values of its namespace", async () => {
    const keyv = new Keyv({ store: new RedisKeyvStore(redis), namespace: 'app' });
    const other = new Keyv({ store: new RedisKeyvStore(redis), namespace: 'app2' });
    await keyv.set('a', { n: 1 });
    await keyv.set('b', [2]);
    await other.set('a', 'no');
    const entries: unknown[] = [];
    for await (const entry of keyv.iterator!(undefined)) entries.push(entry);
    expect(entries.sort()).toEqual([
      ['a', { n: 1 }],
      ['b', [2]],
    ]);
  });
});
