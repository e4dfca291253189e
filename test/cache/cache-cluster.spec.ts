import { CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, Module, UseInterceptors } from '@nestjs/common';
import request from 'supertest';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisCluster, type RedisServerHandle } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';
import { eventually, Keyv, totalCalls } from './cache-helpers';

@Controller()
@UseInterceptors(CacheInterceptor)
class ClusterProductsController {
  calls = 0;

  @Get('products')
  @CacheTTL(60_000)
  products(): { calls: number } {
    return { calls: ++this.calls };
  }
}

describe('RedisKeyvStore on a ClusterPool', () => {
  const cluster = useRedisCluster();
  let pool: ClusterPool;
  let redis: RedisService;
  let masters: RedisServerHandle[];

  beforeAll(async () => {
    pool = new ClusterPool({ nodes: cluster().seeds().slice(0, 2), maxConnections: 2 });
    redis = new RedisService(pool);
    masters = await cluster().masters();
  });
  beforeEach(async () => {
    await redis.executeCommand('FLUSHALL');
  });
  afterEach(closeApps);
  afterAll(async () => {
    await pool.disconnect();
  });

  async function resetStats(): Promise<void> {
    await Promise.all(masters.map((master) => master.cli('CONFIG', 'RESETSTAT')));
  }

  async function keysOn(master: RedisServerHandle, pattern: string): Promise<string[]> {
    const text = await master.cli('KEYS', pattern);
    return text === '' ? [] : text.split('\n').sort();
  }

  it('gets, sets, deletes and batches keys of every slot', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'c' });
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const written = await (store.setMany(
      keys.map((key) => ({ key, value: `v-${key}`, ttl: 60_000 })),
    ) as Promise<unknown>);
    expect(written).toEqual(keys.map(() => true));
    expect(await store.get('k7')).toBe('v-k7');
    expect(await store.has('k7')).toBe(true);
    expect(await redis.pttl('c::k7')).toBeGreaterThan(50_000);
    expect(await store.hasMany(['k1', 'nope', 'k59'])).toEqual([true, false, true]);
    expect(await store.getMany([...keys, 'nope'])).toEqual([
      ...keys.map((k) => `v-${k}`),
      undefined,
    ]);
    for (const master of masters) expect((await keysOn(master, 'c::*')).length).toBeGreaterThan(0);
    expect(await store.delete('k7')).toBe(true);
    expect(await store.deleteMany(keys)).toBe(true);
    expect(await store.deleteMany(keys)).toBe(false);
    expect(await redis.executeCommand('DBSIZE')).toBe(0);
  });

  it('getMany is one MGET per slot, and hash-tagged keys share one', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'm' });
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await store.setMany(keys.map((key) => ({ key, value: key })));
    const slots = new Set(keys.map((key) => keySlot(`m::${key}`)));
    expect(slots.size).toBeGreaterThan(1);
    await resetStats();
    expect(await store.getMany(keys)).toEqual(keys);
    const calls = await totalCalls(masters);
    expect(calls.mget).toBe(slots.size);
    expect(calls.get).toBeUndefined();

    const tagged = new RedisKeyvStore(redis, { namespace: '{user:1}' });
    await tagged.setMany(keys.map((key) => ({ key, value: key })));
    await resetStats();
    expect(await tagged.getMany(keys)).toEqual(keys);
    expect(await tagged.deleteMany(keys)).toBe(true);
    const taggedCalls = await totalCalls(masters);
    expect(taggedCalls.mget).toBe(1);
    expect(taggedCalls.unlink).toBe(1);
  });

  it('clear() walks every master and deletes only its namespace there', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'gone', clearBatchSize: 50 });
    const other = new RedisKeyvStore(redis, { namespace: 'kept' });
    await store.setMany(Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, value: 'x' })));
    await other.setMany(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: 'y' })));
    await Promise.all([
      redis.set('visits', '1'),
      redis.set('{tag}a', '2'),
      redis.set('gone:notns', '3'),
    ]);
    await redis.rpush('gone::list', 'not a string');
    for (const master of masters)
      expect((await keysOn(master, 'gone::k*')).length).toBeGreaterThan(0);
    await resetStats();
    await store.clear();
    for (const master of masters) expect(await keysOn(master, 'gone::k*')).toEqual([]);
    expect((await totalCalls(masters)).scan).toBeGreaterThanOrEqual(masters.length);
    expect(await redis.executeCommand('DBSIZE')).toBe(30 + 4);
    expect(await other.getMany(['k0', 'k29'])).toEqual(['y', 'y']);
    expect(await redis.get('gone:notns')).toBe('3');
  });

  it('iterates over the namespace on every master', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'it', clearBatchSize: 10 });
    const expected = Array.from({ length: 100 }, (_, i) => [`k${i}`, `v${i}`]);
    await store.setMany(expected.map(([key, value]) => ({ key, value })));
    await redis.set('elsewhere', 'x');
    const seen = new Map<string, string>();
    for await (const [key, value] of store.iterator()) seen.set(key, value);
    expect([...seen.entries()].sort()).toEqual(expected.sort());
  });

  it('noNamespaceAffectsAll: clear() without a namespace flushes every master', async () => {
    const store = new RedisKeyvStore(redis, { noNamespaceAffectsAll: true });
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((key) => redis.set(key, '1')));
    // Only FLUSHDB removes these: a key in a namespace, and one that is not a string.
    await Promise.all([redis.set('ns::k', '1'), redis.rpush('list', 'x')]);
    const holding = await Promise.all(masters.map((master) => keysOn(master, '*')));
    expect(holding.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    await store.clear();
    for (const master of masters) expect(await keysOn(master, '*')).toEqual([]);
  });

  it('serves a Nest app on the cluster: CacheInterceptor misses, then hits', async () => {
    @Module({
      imports: [
        RedisPoolModule.forRoot({ cluster: { nodes: cluster().seeds().slice(0, 2) } }),
        CacheModule.registerAsync({
          inject: [RedisService],
          useFactory: (service: RedisService) => ({
            stores: [new Keyv({ store: new RedisKeyvStore(service) })],
          }),
        }),
      ],
      controllers: [ClusterProductsController],
    })
    class ClusterAppModule {}

    const { app } = await bootApp({ imports: [ClusterAppModule] });
    const http = app.getHttpServer();
    expect((await request(http).get('/products').expect(200)).headers['x-cache']).toBe('MISS');
    await eventually(async () => (await redis.exists('keyv::keyv:/products')) === 1, 'the entry');
    const hit = await request(http).get('/products').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ calls: 1 });
  });
});
