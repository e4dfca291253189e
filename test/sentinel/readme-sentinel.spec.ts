// The README's "Redis Sentinel" example, run as a test (test/readme.spec.ts keeps them equal).
import assert from 'node:assert/strict';
import { RedisService } from '../../lib/client';
import { SentinelPool, type FailoverEvent } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';

describe('README sentinel example', () => {
  const topology = useRedisSentinel({
    password: 'readme-data',
    sentinelPassword: 'readme-sentinel',
  });

  it('runs as written', async () => {
    process.env.REDIS_SENTINELS = topology()
      .sentinelAddresses()
      .map(({ host, port }) => `${host}:${port}`)
      .join(',');
    process.env.REDIS_PASSWORD = 'readme-data';
    process.env.SENTINEL_PASSWORD = 'readme-sentinel';
    const moves: string[] = [];
    const log = (line: string) => moves.push(line);
    // --- README sentinel start ---
    const list = process.env.REDIS_SENTINELS ?? '127.0.0.1:26379';
    const sentinels = list.split(',').map((address) => {
      const [host, port] = address.split(':');
      return { host, port: Number(port) };
    });
    const pool = new SentinelPool({
      sentinels,
      masterName: process.env.REDIS_MASTER_NAME ?? 'mymaster',
      password: process.env.REDIS_PASSWORD, // the data nodes'
      sentinelPassword: process.env.SENTINEL_PASSWORD, // the sentinels' own
    });
    pool.on('failover', ({ from, to }: FailoverEvent) => log(`master: ${from} -> ${to}`));
    const redis = new RedisService(pool);

    await redis.set('greeting', 'hello');
    assert.equal(await redis.get('greeting'), 'hello');
    await pool.disconnect();
    // --- README sentinel end ---
    expect(moves).toEqual([]);
    delete process.env.REDIS_SENTINELS;
    delete process.env.REDIS_PASSWORD;
    delete process.env.SENTINEL_PASSWORD;
  });
});
