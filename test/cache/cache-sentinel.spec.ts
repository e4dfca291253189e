import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';
import { parseCommandStats } from './cache-helpers';

describe('RedisKeyvStore on a SentinelPool', () => {
  const topology = useRedisSentinel({ replicas: 1 });
  let pool: SentinelPool;
  let redis: RedisService;

  beforeAll(() => {
    pool = new SentinelPool({
      sentinels: topology().sentinelAddresses(),
      masterName: topology().masterName,
    });
    redis = new RedisService(pool);
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  it('caches on the current master: batches, clear() and the iterator', async () => {
    const master = topology().master();
    const store = new RedisKeyvStore(redis);
    const cache = createCache({ stores: [new Keyv({ store })] });
    await redis.set('visits', '1');
    await cache.mset(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })));
    await master.cli('CONFIG', 'RESETSTAT');
    expect(await cache.mget(['k0', 'k19', 'nope'])).toEqual([0, 19, undefined]);
    expect(parseCommandStats(await master.cli('INFO', 'commandstats')).mget).toBe(1);
    expect(await master.cli('GET', 'keyv::keyv:k3')).toBe('{"value":3}');
    const keys = new Set<string>();
    for await (const [key] of store.iterator()) keys.add(key);
    expect(keys.size).toBe(20);
    expect(keys.has('keyv:k0')).toBe(true);
    await cache.clear();
    expect(await cache.get('k0')).toBeUndefined();
    expect(await redis.executeCommand('DBSIZE')).toBe(1);
    expect(await redis.get('visits')).toBe('1');
    await store.disconnect();
    expect(pool.closed).toBe(false);
  });
});
