import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { watchConnections } from './cache-checks';

describe('client-side cache on a cluster: one cache per node pool', () => {
  watchUnhandledRejections();
  const watch = watchConnections();
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 0 });
  let pool: ClusterPool;

  afterEach(() => pool.disconnect());

  it('caches reads on every node, adds the counters up, and applies each node’s invalidations', async () => {
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      protocol: 3,
      refreshIntervalMs: 0,
      clientSideCache: {},
    });
    const redis = new RedisService(pool);
    // Keys spread over the three masters' slots.
    const keys = Array.from({ length: 30 }, (_, i) => `spread:${i}`);
    for (const key of keys) await redis.set(key, 'v1');
    for (const key of keys) await expect(redis.get(key)).resolves.toBe('v1');
    for (const key of keys) await expect(redis.get(key)).resolves.toBe('v1');
    expect(pool.cacheStats()).toMatchObject({ hits: 30, misses: 30, entries: 30 });

    const owner = await cluster().ownerOf(
      Number(await cluster().nodes[0].cli('CLUSTER', 'KEYSLOT', keys[0])),
    );
    const pushed = watch.invalidated(keys[0]);
    await owner.cli('SET', keys[0], 'v2');
    await pushed;
    await expect(redis.get(keys[0])).resolves.toBe('v2');
    expect(pool.cacheStats()).toMatchObject({ entries: 30, invalidations: 1 });
  });

  it('needs protocol 3 there too', () => {
    expect(() => new ClusterPool({ nodes: cluster().seeds(), clientSideCache: {} })).toThrow(
      ConfigurationError,
    );
    pool = new ClusterPool({ nodes: cluster().seeds(), refreshIntervalMs: 0 });
  });
});
