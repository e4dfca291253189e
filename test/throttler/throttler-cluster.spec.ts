import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { RedisService } from '../../lib/client/redis.service';
import { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';
import { useRedisCluster } from '../harness';
import { closeApps, unique } from '../nest/nest-helpers';
import {
  bootThrottledApp,
  ping,
  pingUntilAllowed,
  type ThrottledAppOptions,
} from './throttler-app';
import { readRecord, tuple } from './throttler-helpers';

describe('RedisThrottlerStorage on a Redis Cluster', () => {
  const cluster = useRedisCluster();
  afterEach(() => closeApps());

  const options = (): ThrottledAppOptions => ({
    redis: { cluster: { nodes: cluster().seeds().slice(0, 2) }, maxConnections: 2 },
    keyPrefix: unique('rl'),
    throttlers: [{ ttl: 10_000, limit: 3, blockDuration: 2000 }],
  });

  /** Every key each master holds that starts with `prefix`, by master port. */
  const keysByMaster = async (prefix: string): Promise<Map<number, string[]>> => {
    const found = new Map<number, string[]>();
    for (const master of await cluster().masters()) {
      const text = await master.cli('--scan', '--pattern', `${prefix}:*`);
      found.set(master.port, text.split('\n').filter(Boolean));
    }
    return found;
  };

  it('answers 429 with Retry-After, shares the limit between two apps, and the block expires', async () => {
    const shared = options();
    const first = await bootThrottledApp(shared);
    const second = await bootThrottledApp(shared);
    await ping(first).expect(200);
    await ping(second).expect(200);
    await ping(first).expect(200);
    const blockedAt = Date.now();
    const refused = await ping(second).expect(429);
    expect(refused.headers['retry-after']).toBe('2');
    await ping(first).expect(429);
    const allowedAt = await pingUntilAllowed(first, 'alice', 8000);
    expect(allowedAt - blockedAt).toBeGreaterThanOrEqual(2000 - 5);
    const next = await ping(second).expect(200);
    expect(next.headers['x-ratelimit-remaining']).toBe('1');
  });

  it('keeps each record in one key, spreads records over every master, and survives SCRIPT FLUSH', async () => {
    const shared = options();
    const app = await bootThrottledApp(shared);
    const clients = Array.from({ length: 30 }, (_, i) => `client-${i}`);
    for (const client of clients) await ping(app, client).expect(200);
    await app.get(RedisService).executeCommand('SCRIPT', 'FLUSH'); // on every master
    for (const client of clients) {
      const second = await ping(app, client).expect(200);
      expect(second.headers['x-ratelimit-remaining']).toBe('1');
    }
    const byMaster = await keysByMaster(shared.keyPrefix);
    expect([...byMaster.values()].every((keys) => keys.length > 0)).toBe(true);
    const all = [...byMaster.values()].flat();
    expect(all).toHaveLength(clients.length);
    const redis = app.get(RedisService);
    for (const key of all) {
      const record = await readRecord(redis, key);
      expect(record!.hits).toHaveLength(2);
    }
  });

  it('counts 200 concurrent increments exactly through a ClusterPool', async () => {
    const pool = ClusterPool.fromUrls(
      cluster()
        .seeds()
        .map(({ host, port }) => `redis://${host}:${port}`),
      { maxConnections: 2 },
    );
    try {
      const storage = new RedisThrottlerStorage(new RedisService(pool));
      const keys = Array.from({ length: 4 }, () => unique('crowd'));
      const records = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          storage.increment(keys[i % 4], 60_000, 40, 60_000, 'default'),
        ),
      );
      for (let k = 0; k < 4; k++) {
        const mine = records.filter((_, i) => i % 4 === k).map(tuple);
        expect(mine.map((r) => r[0]).sort((a, b) => a - b)).toEqual([
          ...Array.from({ length: 40 }, (_, i) => i + 1),
          ...Array.from({ length: 10 }, () => 41),
        ]);
        expect(mine.filter((r) => r[2])).toHaveLength(10);
      }
    } finally {
      await pool.disconnect();
    }
  });
});
