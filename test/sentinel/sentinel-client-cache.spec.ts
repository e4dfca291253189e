import { RedisService } from '../../lib/client/redis.service';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';
import { uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { expectNothingOpen } from './sentinel-checks';

/** Polls until `check` holds (an invalidation push arrives on its own time); fails after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SentinelPool with clientSideCache: cacheStats() over the master and the replicas', () => {
  watchUnhandledRejections();
  const topology = useRedisSentinel();

  it('hits on the master pool and on a replica pool are counted together; a write from elsewhere invalidates', async () => {
    const name = uniqueName('sentinel-cache');
    const open = (readFrom: 'master' | 'replica') =>
      new SentinelPool({
        sentinels: topology().sentinelAddresses(),
        masterName: topology().masterName,
        clientName: name,
        protocol: 3,
        clientSideCache: {},
        readFrom,
      });
    const pool = open('master');
    const replicaPool = open('replica');
    try {
      const redis = new RedisService(pool);
      expect(pool.cacheStats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });
      await redis.withConnection(async (c) => {
        await c.executeCommand('SET', 'sc:k', 'v1');
        expect(await c.executeCommand('WAIT', 2, 5000)).toBe(2);
      });
      expect(await redis.get('sc:k')).toBe('v1');
      expect(await redis.get('sc:k')).toBe('v1');
      expect(pool.cacheStats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });

      const replicas = new RedisService(replicaPool);
      // Reads go round-robin to the two replicas, each pool with its own cache: one miss and one hit on each.
      for (let i = 0; i < 4; i++) expect(await replicas.get('sc:k')).toBe('v1');
      expect(replicaPool.cacheStats()).toMatchObject({ hits: 2, misses: 2, entries: 2 });

      // Written by another client on the master: both caches drop the key (the replica's on replication).
      await topology().master().cli('SET', 'sc:k', 'v2');
      await eventually(async () => pool.cacheStats().entries === 0);
      await eventually(async () => replicaPool.cacheStats().entries === 0);
      expect(await redis.get('sc:k')).toBe('v2');
      await eventually(async () => (await replicas.get('sc:k')) === 'v2');
      expect(pool.cacheStats().invalidations).toBeGreaterThanOrEqual(1);
      expect(replicaPool.cacheStats().invalidations).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.disconnect();
      await replicaPool.disconnect();
    }
    await expectNothingOpen(topology(), name);
  }, 30_000);
});
